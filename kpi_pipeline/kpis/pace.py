"""Where each KPI is heading in its period (`kpi pace`, the snapshots): read from
`marts.fct_kpi_pace`, where the period to date, the targets, the projection and its
projected status are computed (dbt_project/models/marts/fct_kpi_pace.sql)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from kpi_pipeline.warehouse import query_polars

COLUMNS = {
    "kpi_date": pl.Date,
    "kpi_id": pl.String,
    "period_grain": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "days_elapsed": pl.Int64,
    "days_in_period": pl.Int64,
    "period_to_date_value": pl.Float64,
    "target_to_date": pl.Float64,
    "period_target": pl.Float64,
    "projected_value": pl.Float64,
    "projected_low": pl.Float64,
    "projected_high": pl.Float64,
    "projected_status": pl.String,
}


def latest_pace_day(con) -> dt.date | None:
    [(day,)] = con.execute("select max(kpi_date) from marts.fct_kpi_pace").fetchall()
    return day


def read_pace(con, day: dt.date) -> pl.DataFrame:
    """Every KPI's pace on `day` (no row for a KPI without facts that day)."""
    frame = query_polars(
        con,
        f"select {', '.join(COLUMNS)} from marts.fct_kpi_pace where kpi_date = ?",
        [day],
    )
    return frame.cast(COLUMNS)


def pace_by_kpi(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """KPI id -> its pace row, as the snapshot takes it."""
    return {row["kpi_id"]: row for row in frame.iter_rows(named=True)}


def pace_of(con, kpi_id: str, grain: str, last: dt.date) -> dict[str, Any] | None:
    """The KPI's pace on the latest day up to `last` when its period is `grain` (its review
    cadence's), or None (another grain, no facts, or a warehouse built before the mart)."""
    from kpi_pipeline.warehouse import WAREHOUSE_ERRORS

    try:
        frame = query_polars(
            con,
            f"""select {", ".join(COLUMNS)} from marts.fct_kpi_pace
                where kpi_id = ? and period_grain = ? and kpi_date = (
                    select max(kpi_date) from marts.fct_kpi_pace
                    where kpi_id = ? and kpi_date <= ?)""",
            [kpi_id, grain, kpi_id, last],
        )
    except WAREHOUSE_ERRORS:
        return None
    return frame.cast(COLUMNS).row(0, named=True) if frame.height else None
