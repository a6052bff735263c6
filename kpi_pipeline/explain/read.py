"""Read the facts an explanation needs from the marts: a KPI's overall and per-segment
numerators and denominators in the two periods compared; for a product chain, its metrics'
totals over each period (`fct_metric_daily`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from kpi_pipeline.explain.decompose import Breakdown, Components
from kpi_pipeline.explain.periods import period_after
from kpi_pipeline.warehouse import is_spark, query_polars, table_exists

OVERALL = "all"

_TWO_DAYS = """
    select kpi_id, kpi_date as period_start, dimension, dimension_value,
           cast(numerator as double precision) as numerator,
           cast(denominator as double precision) as denominator
    from marts.fct_kpi_daily
    where kpi_date in (?, ?)
"""
_PERIODS = """
    select period_start, dimension, dimension_value,
           cast(numerator as double precision) as numerator,
           cast(denominator as double precision) as denominator
    from marts.fct_kpi_period
    where kpi_id = ? and period_grain = ? and period_start in (?, ?) and dimension in (?, ?)
"""


_METRIC_DAYS = """
    select kpi_date, metric_id, value
    from marts.fct_metric_daily
    where kpi_date >= ? and kpi_date < ?
"""


def spelled(con, sql: str) -> str:
    """`sql` as the connection's warehouse spells it: Spark SQL has no `double precision`."""
    return sql.replace("double precision", "double") if is_spark(con) else sql


class MetricFactsMissing(LookupError):
    """marts.fct_metric_daily is not built (a warehouse from before product chains)."""


def read_metric_totals(
    con, metric_ids: Iterable[str], grain: str, before: dt.date, after: dt.date
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Each metric's total over the periods starting `before` and `after` at `grain`, from
    `fct_metric_daily` (the sum of the period's days); None when a day of the period has
    no value (its source sent no file) or the period has no day at all."""
    if not table_exists(con, "marts", "fct_metric_daily"):
        raise MetricFactsMissing(
            "marts.fct_metric_daily is not built: this warehouse predates product chains"
        )
    wanted = list(metric_ids)
    found = []
    for start in (before, after):
        frame = query_polars(con, _METRIC_DAYS, [start, period_after(start, grain)])
        found.append(metric_totals(frame.to_dicts(), wanted))
    return found[0], found[1]


def metric_totals(
    rows: Iterable[Mapping[str, Any]], metric_ids: Iterable[str]
) -> dict[str, float | None]:
    """Rows with metric_id and value, one per day: each metric's sum; None when a day's
    value is null or the metric has no row."""
    days: dict[str, list[float | None]] = {}
    for row in rows:
        value = row["value"]
        days.setdefault(row["metric_id"], []).append(None if value is None else float(value))
    return {
        # fsum: the same total whatever order the days arrive in
        m: math.fsum(days[m]) if m in days and None not in days[m] else None
        for m in metric_ids
    }


def read_breakdowns(
    con, kpi_id: str, dimension: str, grain: str, before: dt.date, after: dt.date
) -> tuple[Breakdown, Breakdown]:
    """The KPI in the periods starting `before` and `after` at `grain` (day: fct_kpi_daily;
    week, month, quarter, year: fct_kpi_period), overall and by `dimension`."""
    if grain == "day":
        rows = read_two_days(con, before, after).get(kpi_id, [])
    else:
        params = [kpi_id, grain, before, after, OVERALL, dimension]
        rows = query_polars(con, spelled(con, _PERIODS), params).to_dicts()
    return breakdowns_from_rows(rows, dimension, before, after)


def read_two_days(con, before: dt.date, after: dt.date) -> dict[str, list[dict[str, Any]]]:
    """Every KPI's rows of fct_kpi_daily on days `before` and `after`, by KPI id, in one
    query (`breakdowns_from_rows` shapes any of them: a published day's movers read every
    KPI's breakdowns, and on Spark each query is a round trip of its own)."""
    frame = query_polars(con, spelled(con, _TWO_DAYS), [before, after])
    found: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dicts():
        found.setdefault(row["kpi_id"], []).append(row)
    return found


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
