"""Day-level volume multipliers: weekly seasonality, a gentle trend and daily noise."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from kpi_pipeline.sample.clock import Stream, day_rng

TREND_ORIGIN = dt.date(2025, 1, 1)
TREND_PER_YEAR = 0.10  # +10 % volume a year
ANNUAL_AMPLITUDE = 0.04

# Monday .. Sunday. People browse more at the weekend but buy (and sign up) less.
WEEKDAY_SESSIONS = (1.00, 1.02, 1.00, 0.98, 0.95, 1.06, 1.10)
WEEKDAY_ORDERS = (1.04, 1.05, 1.03, 1.00, 0.95, 0.92, 0.97)
WEEKDAY_LEADS = (1.10, 1.08, 1.05, 1.00, 0.95, 0.85, 0.90)
WEEKDAY_DEALS = (1.25, 1.25, 1.20, 1.15, 1.00, 0.30, 0.15)
WEEKDAY_CPC = (1.00, 1.00, 1.00, 1.00, 1.02, 1.08, 1.10)


@dataclass(frozen=True)
class DayFactors:
    """Multipliers applied to the base volumes (scale 1) of one day."""

    sessions: float
    orders: float
    leads: float
    deals: float
    cpc: float


def trend(day: dt.date) -> float:
    """Slow growth plus a mild yearly wave, independent of any window."""
    years = (day - TREND_ORIGIN).days / 365.25
    wave = ANNUAL_AMPLITUDE * math.sin(2 * math.pi * (day.timetuple().tm_yday / 365.25 - 0.2))
    return min(2.0, max(0.5, 1.0 + TREND_PER_YEAR * years + wave))


def day_factors(seed: int, day: dt.date) -> DayFactors:
    """Volume multipliers of ``day`` (pure function of ``seed`` and ``day``)."""
    rng = day_rng(seed, day, Stream.FACTORS)
    noise = rng.normal(0.0, [0.05, 0.04, 0.06, 0.10, 0.12, 0.06])
    shared = math.exp(noise[0])
    weekday = day.weekday()
    level = trend(day)
    return DayFactors(
        sessions=level * WEEKDAY_SESSIONS[weekday] * shared * math.exp(noise[1]),
        orders=level * WEEKDAY_ORDERS[weekday] * shared * math.exp(noise[2]),
        leads=level * WEEKDAY_LEADS[weekday] * math.exp(noise[3]),
        deals=WEEKDAY_DEALS[weekday] * math.exp(noise[4]),
        cpc=WEEKDAY_CPC[weekday] * math.exp(noise[5]),
    )
