"""Where a KPI value stands against its target."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from kpi_pipeline.kpis.catalogue import Kpi

ON_TRACK = "on_track"
AT_RISK = "at_risk"
OFF_TRACK = "off_track"
NO_DATA = "no_data"
NO_TARGET = "no_target"


def relative_target(previous_year_value: float | None, kpi: Kpi) -> float | None:
    """The target of a KPI whose target is relative to the same period last year
    (`previous_year_value` recomputed from last year's components); None without one."""
    change = kpi.target.relative_to_last_year
    if change is None or previous_year_value is None:
        return None
    return previous_year_value * (1 + change)


def same_day_last_year(day: dt.date) -> dt.date:
    """The day a year earlier; 29 February compares with 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def overall_target(kpi: Kpi, last_year: Mapping[str, float | None]) -> float | None:
    """The day's target: the catalogue's absolute target, or one relative to the value of
    the same day last year (`last_year`: overall values by KPI id)."""
    if kpi.target.value is not None:
        return kpi.target.value
    return relative_target(last_year.get(kpi.id), kpi)


def kpi_status(value: float | None, kpi: Kpi, target: float | None = None) -> str:
    """on_track when the target is met; at_risk when missed by at most the tolerance
    (a share of the target's size); off_track beyond; no_data without a value.

    `target` overrides the catalogue's absolute target (e.g. a relative target resolved
    against last year); without either the status is no_target."""
    if value is None:
        return NO_DATA
    target = kpi.target.value if target is None else target
    if target is None:
        return NO_TARGET
    margin = abs(target) * kpi.target.at_risk_tolerance
    if kpi.direction == "higher_is_better":
        if value >= target:
            return ON_TRACK
        return AT_RISK if value >= target - margin else OFF_TRACK
    if value <= target:
        return ON_TRACK
    return AT_RISK if value <= target + margin else OFF_TRACK
