"""The status rule, written a second time in plain Python for the tests.

The pipeline holds it once, in SQL (`dbt_project/macros/kpi_status.sql`, applied by
`fct_kpi_attainment`); the tests compare the marts, snapshots and CLI output with this
independent version, and build the day's attainment for snapshot tests that run without
a warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi


def status(
    value: float | None, target: float | None, kpi: Kpi, tolerance: float | None = None
) -> str:
    """on_track, at_risk (missed by at most tolerance x |target|), off_track, no_data,
    no_target; which way is better from the KPI's direction."""
    if value is None:
        return "no_data"
    if target is None:
        return "no_target"
    tolerance = kpi.target.at_risk_tolerance if tolerance is None else tolerance
    # how far the value falls short of the target, in the KPI's good direction
    shortfall = target - value if kpi.direction == "higher_is_better" else value - target
    if shortfall <= 0:
        return "on_track"
    return "at_risk" if shortfall <= abs(target) * tolerance else "off_track"


def day_target(kpi: Kpi, day: dt.date, last_year_value: float | None) -> float | None:
    """The target of `day`: the one in force on it, absolute (per day) or relative to the
    same day last year."""
    target = kpi.target_on(day)
    if target is None:
        return None
    if target.relative_to_last_year is not None:
        return (
            None
            if last_year_value is None
            else last_year_value * (1 + target.relative_to_last_year)
        )
    return target.value


def day_attainment(
    facts: pl.DataFrame,
    catalogue: dict[str, Kpi],
    last_year: Mapping[str, float | None] | None = None,
) -> dict[str, tuple[float | None, str]]:
    """Each overall KPI's (target, status) on the facts' day, as fct_kpi_attainment should
    hold them; `last_year`: overall values of the same day a year earlier."""
    found = {}
    for row in facts.filter(pl.col("dimension") == "all").iter_rows(named=True):
        kpi = catalogue[row["kpi_id"]]
        target = day_target(kpi, row["kpi_date"], (last_year or {}).get(kpi.id))
        in_force = kpi.target_on(row["kpi_date"])
        tolerance = in_force.at_risk_tolerance if in_force else None
        found[kpi.id] = (target, status(row["value"], target, kpi, tolerance))
    return found
