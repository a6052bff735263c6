"""Time helpers for the sample generator: UTC days, microsecond timestamps, RNG streams.

Every timestamp inside the generator is an ``int64`` count of microseconds since the
Unix epoch (UTC), the unit of GA4's ``event_timestamp``. Days are ``datetime.date``
objects; their ``toordinal()`` seeds the per-day random generators so that whatever a
day produces depends only on ``(seed, scale, day)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import IntEnum

import numpy as np
import polars as pl

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND
_EPOCH = dt.date(1970, 1, 1)

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
HUBSPOT_MINUTE = "%Y-%m-%d %H:%M"


class Stream(IntEnum):
    """Independent random streams of one day (one per kind of record)."""

    FACTORS = 1
    CONTACTS = 2
    DEALS = 3
    ORDERS = 4
    SESSIONS = 5
    ADS = 6
    ADS_RESTATEMENT = 7
    SOCIAL = 8


def day_rng(seed: int, day: dt.date, stream: Stream) -> np.random.Generator:
    """Random generator for one (seed, day, stream): never depends on a window."""
    return np.random.default_rng([seed, day.toordinal(), int(stream)])


def day_start_us(day: dt.date) -> int:
    """Microseconds since the epoch at 00:00 UTC of ``day``."""
    return (day - _EPOCH).days * US_PER_DAY


def epoch_day(day: dt.date) -> int:
    """Days since 1970-01-01 (the day number of ``ts // US_PER_DAY``)."""
    return (day - _EPOCH).days


def ymd(day: dt.date) -> str:
    """``YYYYMMDD`` of a day."""
    return day.strftime("%Y%m%d")


def day_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Days from ``start`` to ``end``, both included."""
    for offset in range((end - start).days + 1):
        yield start + dt.timedelta(days=offset)


def format_ts(column: str, fmt: str) -> pl.Expr:
    """Polars expression formatting an epoch-microsecond column (nulls stay null)."""
    return pl.from_epoch(pl.col(column), time_unit="us").dt.strftime(fmt)


def diurnal_offsets_us(
    rng: np.random.Generator, n: int, hour_weights: np.ndarray, whole_seconds: bool = True
) -> np.ndarray:
    """``n`` offsets into a day (microseconds), hours drawn with ``hour_weights``."""
    hours = rng.choice(24, size=n, p=hour_weights)
    if whole_seconds:
        within = rng.integers(0, 3_600, size=n) * US_PER_SECOND
    else:
        within = rng.integers(0, US_PER_HOUR, size=n)
    return hours.astype(np.int64) * US_PER_HOUR + within
