"""Where each KPI is heading in its period (`kpi pace`, the snapshots): read from
`marts.fct_kpi_pace`, where the period to date, the targets, the projection and its
projected status are computed (dbt_project/models/marts/fct_kpi_pace.sql). A KPI whose data
matures late (kpis.yml `maturity_lag_days`) is read at its last mature day: its period to
date counts the mature days only, and its projection is made from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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
# what the reading adds: the last day the period to date counts, and how many newer days
# are provisional (0: every day counts)
MATURITY_COLUMNS = {"mature_through": pl.Date, "provisional_days": pl.Int64}
# a mature day in the previous period leaves the current one nothing to date or project
NOTHING_MATURE = (
    "period_to_date_value",
    "target_to_date",
    "projected_value",
    "projected_low",
    "projected_high",
    "projected_status",
)


def latest_pace_day(con) -> dt.date | None:
    [(day,)] = con.execute("select max(kpi_date) from marts.fct_kpi_pace").fetchall()
    return day


def mature_pace(
    day: dt.date,
    rows: list[dict[str, Any]],
    mature_rows: Mapping[str, dict[str, Any]],
    lags: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Each KPI's pace row seen from `day` (`rows`: fct_kpi_pace's rows of `day`), with
    `mature_through` and `provisional_days`. A KPI with a maturity lag takes the row of its
    last mature day (`mature_rows`: fct_kpi_pace's row of `day - lag`, by KPI) when that day
    is in the same period: to date through that day, projected from it. When it is in an
    earlier period (or has no row), the period has no mature day yet: its target only."""
    found = []
    for row in rows:
        lag = lags.get(row["kpi_id"], 0)
        through = day - dt.timedelta(days=lag)
        if lag:
            mature = mature_rows.get(row["kpi_id"])
            same_period = mature is not None and (
                mature["period_grain"],
                mature["period_start"],
            ) == (row["period_grain"], row["period_start"])
            if same_period:
                row = {**mature, "kpi_date": day}
            else:
                row = {**row, "days_elapsed": 0, **dict.fromkeys(NOTHING_MATURE)}
        found.append({**row, "mature_through": through, "provisional_days": lag})
    return found


def read_pace(con, day: dt.date, lags: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Every KPI's pace on `day` (no row for a KPI without facts that day), each KPI with a
    maturity lag (`lags`, kpis/maturity.py `lagged`) at its last mature day (`mature_pace`)."""
    select = f"select {', '.join(COLUMNS)} from marts.fct_kpi_pace"
    rows = query_polars(con, f"{select} where kpi_date = ?", [day]).cast(COLUMNS).to_dicts()
    mature_rows = {}
    for kpi_id, lag in (lags or {}).items():
        found = query_polars(
            con,
            f"{select} where kpi_id = ? and kpi_date = ?",
            [kpi_id, day - dt.timedelta(days=lag)],
        ).cast(COLUMNS)
        if found.height:
            mature_rows[kpi_id] = found.row(0, named=True)
    schema = {**COLUMNS, **MATURITY_COLUMNS}
    return pl.DataFrame(mature_pace(day, rows, mature_rows, lags or {}), schema=schema)


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
