"""The publish schema's tables on Spark: `publish.kpi_snapshots`, `publish.kpi_restatements`
and `publish.kpi_alerts` as Parquet tables partitioned by `day`. Parquet tables have no
UPDATE, DELETE or primary key, so a change to a day's rows (which version is latest, an
alert tried again) is made by computing the day's partition whole (the pure functions
below, from what the partition holds and what the disk says) and writing it with one
partition overwrite (`SparkConnection.replace_partition` within `begin` / `commit`); the
restatement ledger, which only grows, by one insert of the new rows. The columns and what
they mean are DuckDB's (`registry.py`, `notify/owner_alerts.py`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

# each table's columns as Polars types (the frames written), in the DuckDB table's order;
# `day`, the partition, comes last in Spark's table
SNAPSHOT_SCHEMA = {
    "day": pl.Date,
    "version": pl.Int32,
    "published_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
    "checksum": pl.String,
    "rows": pl.Int64,
    "warnings": pl.List(pl.String),
    "folder": pl.String,
    "is_latest": pl.Boolean,
}
RESTATEMENT_SCHEMA = {
    "day": pl.Date,
    "from_version": pl.Int32,
    "to_version": pl.Int32,
    "kpi_id": pl.String,
    "dimension": pl.String,
    "dimension_value": pl.String,
    "old_value": pl.Float64,
    "new_value": pl.Float64,
    "old_target": pl.Float64,
    "new_target": pl.Float64,
    "old_status": pl.String,
    "new_status": pl.String,
    "causes": pl.List(pl.String),
    "recorded_at": pl.Datetime("us", "UTC"),
}
ALERT_SCHEMA = {
    "day": pl.Date,
    "kpi_id": pl.String,
    "kind": pl.String,
    "owner": pl.String,
    "status": pl.String,
    "value": pl.Float64,
    "target": pl.Float64,
    "previous_day": pl.Date,
    "previous_status": pl.String,
    "outcome": pl.String,
    "channels": pl.String,
    "error": pl.String,
    "attempted_at": pl.Datetime("us", "UTC"),
}
_SPARK_TYPES = {
    pl.Date: "date",
    pl.Int32: "int",
    pl.Int64: "bigint",
    pl.Float64: "double",
    pl.String: "string",
    pl.Boolean: "boolean",
}


def spark_column_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if isinstance(dtype, pl.List):
        return f"array<{spark_column_type(dtype.inner)}>"
    return _SPARK_TYPES[dtype.base_type()]


def create_table_sql(table: str, schema: Mapping[str, pl.DataType]) -> str:
    """`create table if not exists` of a Parquet table partitioned by `day`."""
    columns = ", ".join(
        f"`{name}` {spark_column_type(dtype)}" for name, dtype in schema.items() if name != "day"
    )
    return (
        f"create table if not exists {table} ({columns}, `day` date) "
        "using parquet partitioned by (`day`)"
    )


def timestamp(text: str | dt.datetime) -> dt.datetime:
    """An ISO instant (the manifests' `published_at`), in UTC."""
    value = dt.datetime.fromisoformat(text) if isinstance(text, str) else text
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def frame_of(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=dict(schema))


def snapshot_day_rows(
    known: Iterable[Mapping[str, Any]],
    found: Mapping[int, Mapping[str, Any]],
    latest: str,
) -> tuple[list[dict[str, Any]], int]:
    """The day's registry partition: its rows (`known`) and a row for each version on disk
    it lacks (`found`: version -> its row without `is_latest`), `is_latest` true for the row
    whose folder is `latest` only, by version. Returns the rows and how many were added."""
    rows = {int(row["version"]): dict(row) for row in known}
    added = 0
    for version, row in sorted(found.items()):
        if version not in rows:
            rows[version] = dict(row)
            added += 1
    day_rows = [{**row, "is_latest": row["folder"] == latest} for _, row in sorted(rows.items())]
    return day_rows, added


def alert_day_rows(
    known: Iterable[Mapping[str, Any]], attempts: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The day's alert partition after `attempts`: an attempt replaces the row of the same
    KPI and kind (what DuckDB's delete and insert do), the other rows kept."""
    rows = {(row["kpi_id"], row["kind"]): dict(row) for row in known}
    for attempt in attempts:
        rows[(attempt["kpi_id"], attempt["kind"])] = dict(attempt)
    return [rows[key] for key in sorted(rows)]


# --- I/O at the edges ---------------------------------------------------------------


def ensure_table(con, table: str, schema: Mapping[str, pl.DataType]) -> None:
    con.execute("create schema if not exists publish")
    con.execute(create_table_sql(table, schema))


def day_rows(con, table: str, day: dt.date) -> list[dict[str, Any]]:
    """The rows of `table`'s partition `day`."""
    return con.query_polars(f"select * from {table} where day = ?", [day]).to_dicts()


def overwrite_day(
    con, table: str, schema: Mapping[str, pl.DataType], day: dt.date, rows: list[dict]
) -> None:
    """Replace `table`'s partition `day` with `rows`, in one partition overwrite."""
    con.execute("begin transaction")
    con.replace_partition(table, {"day": day})
    con.append_frame(table, frame_of(rows, schema))
    con.execute("commit")


def append_rows(con, table: str, schema: Mapping[str, pl.DataType], rows: list[dict]) -> None:
    if rows:
        con.append_frame(table, frame_of(rows, schema))
