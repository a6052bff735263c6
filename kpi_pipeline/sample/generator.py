"""Sample landing-zone generator: realistic, consistent extracts for a range of days.

Every record is decided by the random stream of the day it starts on (a contact its
creation day, an order its placing day, ...), seeded with ``(seed, day)``; the extract of
a day re-derives whatever earlier days it needs. The files of a day therefore depend
only on ``(seed, scale, day)``, never on the requested window.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl

from kpi_pipeline.sample.clock import US_PER_DAY, day_range, day_start_us, ymd
from kpi_pipeline.sample.commerce import (
    NPS_LOOKBACK_DAYS,
    ORDER_LOOKBACK_DAYS,
    build_order_day,
    nps_extract,
    orders_extract,
)
from kpi_pipeline.sample.crm import (
    CONTACT_LOOKBACK_DAYS,
    HORIZON_DAYS,
    ContactDay,
    DealDay,
    build_contact_day,
    build_deal_day,
    contacts_extract,
    deals_extract,
)
from kpi_pipeline.sample.marketing import (
    build_ad_day,
    build_social_day,
    posts_extract,
    spend_extract,
)
from kpi_pipeline.sample.web import (
    EventsExtract,
    SessionDay,
    build_session_day,
    events_extract,
)

T = TypeVar("T")


@dataclass(frozen=True)
class DatasetCount:
    """Files and rows (GA4: events) written for one dataset of one source."""

    source: str
    dataset: str
    files: int
    rows: int


@dataclass(frozen=True)
class SampleSummary:
    """What ``generate_sample`` wrote."""

    start: dt.date
    end: dt.date
    out: Path
    scale: float
    seed: int
    datasets: tuple[DatasetCount, ...]

    @property
    def days(self) -> int:
        """Number of extract days written."""
        return (self.end - self.start).days + 1

    @property
    def files(self) -> int:
        """Total number of files written."""
        return sum(d.files for d in self.datasets)

    @property
    def rows(self) -> int:
        """Total number of rows (and GA4 events) written."""
        return sum(d.rows for d in self.datasets)

    def rows_of(self, source: str) -> int:
        """Rows written for one source (all its datasets)."""
        return sum(d.rows for d in self.datasets if d.source == source)


class _Days:
    """Per-day building blocks of one (seed, scale), memoised within one generation."""

    def __init__(self, seed: int, scale: float) -> None:
        self.seed = seed
        self.scale = scale
        self._cache: dict[tuple[str, dt.date], object] = {}

    def _memo(self, kind: str, day: dt.date, build: Callable[[], T]) -> T:
        key = (kind, day)
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]  # type: ignore[return-value]

    def forget(self, kind: str, before: dt.date) -> None:
        """Drop cached ``kind`` entries of days before ``before`` (bounded memory)."""
        for key in [k for k in self._cache if k[0] == kind and k[1] < before]:
            del self._cache[key]

    def contacts(self, day: dt.date) -> ContactDay:
        return self._memo("contacts", day, lambda: build_contact_day(self.seed, self.scale, day))

    def deals(self, day: dt.date) -> DealDay:
        return self._memo("deals", day, lambda: build_deal_day(self.seed, self.scale, day))

    def orders(self, day: dt.date) -> pl.DataFrame:
        def build() -> pl.DataFrame:
            d0 = day_start_us(day)
            planned = pl.concat(
                [self.contacts(c).planned_orders for c in _back(day, HORIZON_DAYS)]
            ).filter(pl.col("placed_us").is_between(d0, d0 + US_PER_DAY, closed="left"))
            return build_order_day(self.seed, day, planned)

        return self._memo("orders", day, build)

    def sessions(self, day: dt.date) -> SessionDay:
        return self._memo(
            "sessions",
            day,
            lambda: build_session_day(self.seed, self.scale, day, self.orders(day)),
        )

    def ads(self, day: dt.date) -> pl.DataFrame:
        return self._memo(
            "ads",
            day,
            lambda: build_ad_day(self.seed, self.scale, day, self.sessions(day).campaign_sessions),
        )

    def social(self, day: dt.date) -> pl.DataFrame:
        return self._memo("social", day, lambda: build_social_day(self.seed, self.scale, day))


def _back(day: dt.date, days: int) -> list[dt.date]:
    """``day - days`` .. ``day``, oldest first."""
    return [day - dt.timedelta(days=offset) for offset in range(days, -1, -1)]


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary sibling so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _write_csv(frame: pl.DataFrame, path: Path) -> int:
    _atomic_write(path, lambda p: frame.write_csv(p, float_precision=2))
    return frame.height


def _write_events(events: EventsExtract, path: Path) -> int:
    """The GA4 export's lines, rendered and written a chunk at a time (bounded memory)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as out:
            for lines in events.chunks():
                # one column, never quoted: each line written as it is
                lines.to_frame().write_csv(out, include_header=False, quote_style="never")

    _atomic_write(path, write)
    return events.height


def _day_files(days: _Days, day: dt.date, out: Path) -> dict[tuple[str, str], int]:
    """Write every source's extract of ``day``; rows written per (source, dataset)."""
    folder = f"dt={day.isoformat()}"
    yesterday = day - dt.timedelta(days=1)
    tomorrow = day + dt.timedelta(days=1)
    contact_days = [days.contacts(d) for d in _back(day, CONTACT_LOOKBACK_DAYS)]
    deal_days = [days.deals(d) for d in _back(day, CONTACT_LOOKBACK_DAYS)]
    events = events_extract(
        day, [days.sessions(yesterday), days.sessions(day), days.sessions(tomorrow)]
    )
    return {
        ("hubspot", "contacts"): _write_csv(
            contacts_extract(day, contact_days), out / "hubspot" / folder / "contacts.csv"
        ),
        ("hubspot", "deals"): _write_csv(
            deals_extract(day, deal_days), out / "hubspot" / folder / "deals.csv"
        ),
        ("ga4", "events"): _write_events(events, out / "ga4" / folder / f"events_{ymd(day)}.json"),
        ("ads", "spend"): _write_csv(
            spend_extract(days.ads(day), days.ads(yesterday)), out / "ads" / folder / "spend.csv"
        ),
        ("social", "posts"): _write_csv(
            posts_extract(days.social(day), days.social(yesterday)),
            out / "social" / folder / "posts.csv",
        ),
        ("nps", "responses"): _write_csv(
            nps_extract(day, [days.orders(d) for d in _back(day, NPS_LOOKBACK_DAYS)]),
            out / "nps" / folder / "responses.csv",
        ),
        ("orders", "orders"): _write_csv(
            orders_extract(day, [days.orders(d) for d in _back(day, ORDER_LOOKBACK_DAYS)]),
            out / "orders" / folder / "orders.csv",
        ),
    }


def generate_sample(
    start: dt.date, end: dt.date, out: Path, scale: float = 1.0, seed: int = 42
) -> SampleSummary:
    """Write the landing-zone extracts of every source for each day of ``start..end``.

    Files go to ``<out>/<source>/dt=YYYY-MM-DD/<file>`` as described in
    ``docs/landing_zone.md``; the days' files are overwritten, other days are left
    alone. ``scale`` multiplies volumes (1.0: about 5,000 GA4 sessions and 100 orders a
    day). A day's files depend only on ``(seed, scale, day)``.

    Raises:
        ValueError: if ``end`` is before ``start``, ``scale`` is not a positive finite
            number or ``seed`` is negative.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    out = Path(out)
    days = _Days(seed, scale)
    files: dict[tuple[str, str], int] = {}
    rows: dict[tuple[str, str], int] = {}
    for day in day_range(start, end):
        for key, count in _day_files(days, day, out).items():
            files[key] = files.get(key, 0) + 1
            rows[key] = rows.get(key, 0) + count
        days.forget("sessions", day)
        days.forget("ads", day)
        days.forget("social", day)
    datasets = tuple(DatasetCount(s, d, files[(s, d)], rows[(s, d)]) for s, d in files)
    return SampleSummary(start, end, out, scale, seed, datasets)
