"""Read the facts an explanation needs from the marts: a KPI's overall and per-segment
numerators and denominators in the two periods compared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from kpi_pipeline.explain.decompose import Breakdown, Components
from kpi_pipeline.warehouse import query_polars

OVERALL = "all"

_DAILY = """
    select kpi_date as period_start, dimension, dimension_value,
           cast(numerator as double precision) as numerator,
           cast(denominator as double precision) as denominator
    from marts.fct_kpi_daily
    where kpi_id = ? and kpi_date in (?, ?) and dimension in (?, ?)
"""
_PERIODS = """
    select period_start, dimension, dimension_value,
           cast(numerator as double precision) as numerator,
           cast(denominator as double precision) as denominator
    from marts.fct_kpi_period
    where kpi_id = ? and period_grain = ? and period_start in (?, ?) and dimension in (?, ?)
"""


def read_breakdowns(
    con, kpi_id: str, dimension: str, grain: str, before: dt.date, after: dt.date
) -> tuple[Breakdown, Breakdown]:
    """The KPI in the periods starting `before` and `after` at `grain` (day: fct_kpi_daily;
    week, month, quarter, year: fct_kpi_period), overall and by `dimension`."""
    if grain == "day":
        frame = query_polars(con, _DAILY, [kpi_id, before, after, OVERALL, dimension])
    else:
        frame = query_polars(con, _PERIODS, [kpi_id, grain, before, after, OVERALL, dimension])
    return breakdowns_from_rows(frame.to_dicts(), dimension, before, after)


def breakdowns_from_rows(
    rows: Iterable[Mapping[str, Any]], dimension: str, before: dt.date, after: dt.date
) -> tuple[Breakdown, Breakdown]:
    """Rows with period_start, dimension, dimension_value, numerator, denominator, shaped
    into the two periods; a period without an overall row has no value (None numerator)."""
    rows = list(rows)
    return _breakdown(rows, dimension, before), _breakdown(rows, dimension, after)


def _breakdown(rows: list[Mapping[str, Any]], dimension: str, start: dt.date) -> Breakdown:
    overall = Components(None, None)
    segments: dict[str, Components] = {}
    for row in rows:
        if row["period_start"] != start:
            continue
        parts = Components(row["numerator"], row["denominator"])
        if row["dimension"] == OVERALL and row["dimension_value"] == OVERALL:
            overall = parts
        if row["dimension"] == dimension:
            segments[row["dimension_value"]] = parts
    return Breakdown(overall, segments)
