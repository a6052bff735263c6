"""Write one source's extract day into its raw table: the day is replaced, nothing else moves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from kpi_pipeline.ingest.contracts import LINEAGE_COLUMNS_DDL

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = f"{RAW_SCHEMA}._quarantine"
INGEST_LOG_TABLE = f"{RAW_SCHEMA}._ingest_log"


@dataclass(frozen=True)
class DayLoad:
    """What one file contributed to one extract day."""

    source_file: str
    checksum: str
    rows: pl.DataFrame | None  # typed rows ready to insert (None when loaded by SQL)
    quarantine: pl.DataFrame
    rows_read: int
    rows_loaded: int
    duplicate_of: str | None = None  # same content already loaded from this file: skipped


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(
        f"""create table if not exists {QUARANTINE_TABLE} (
            source VARCHAR NOT NULL, raw_table VARCHAR NOT NULL, _extract_date DATE NOT NULL,
            source_file VARCHAR NOT NULL, row_number BIGINT, column_name VARCHAR,
            reason VARCHAR NOT NULL, raw_record VARCHAR, quarantined_at TIMESTAMPTZ NOT NULL)"""
    )
    con.execute(
        f"""create table if not exists {INGEST_LOG_TABLE} (
            source VARCHAR NOT NULL, raw_table VARCHAR NOT NULL, _extract_date DATE NOT NULL,
            source_file VARCHAR NOT NULL, checksum VARCHAR NOT NULL, rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL,
            loaded_at TIMESTAMPTZ NOT NULL)"""
    )
    # added after the first release: warehouses created before gain them here
    con.execute(f"alter table {QUARANTINE_TABLE} add column if not exists line_number BIGINT")
    con.execute(f"alter table {INGEST_LOG_TABLE} add column if not exists duplicate_of VARCHAR")


def ensure_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple[str, str]]
) -> None:
    body = ", ".join(f'"{name}" {kind}' for name, kind in columns)
    con.execute(f"create table if not exists {RAW_SCHEMA}.{table} ({body}, {LINEAGE_COLUMNS_DDL})")
    for name, kind in columns:  # columns the contract gained since the table was created
        con.execute(f'alter table {RAW_SCHEMA}.{table} add column if not exists "{name}" {kind}')


def already_loaded(
    con: duckdb.DuckDBPyConnection, table: str, checksum: str, day: dt.date
) -> str | None:
    """The file of another extract day whose content (checksum) was loaded into `table`."""
    found = con.execute(
        f"""select source_file from {INGEST_LOG_TABLE}
            where raw_table = ? and checksum = ? and duplicate_of is null
              and _extract_date <> ?
            order by _extract_date, source_file limit 1""",
        [table, checksum, day],
    ).fetchall()
    return found[0][0] if found else None


def clear_day(con: duckdb.DuckDBPyConnection, source: str, table: str, day: dt.date) -> None:
    """Forget what an earlier load of this day wrote (rows, quarantine, log)."""
    con.execute(f"delete from {RAW_SCHEMA}.{table} where _extract_date = ?", [day])
    for bookkeeping in (QUARANTINE_TABLE, INGEST_LOG_TABLE):
        con.execute(
            f"delete from {bookkeeping} where raw_table = ? and _extract_date = ?", [table, day]
        )


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[tuple[str, str]],
    rows: pl.DataFrame,
    day: dt.date,
    source_file: str,
    loaded_at: dt.datetime,
) -> None:
    frame = rows.select([pl.col(name) for name, _ in columns] + [pl.col("_row_number")])
    names = ", ".join(f'"{name}"' for name, _ in columns)
    con.register("_incoming", frame.to_arrow())
    try:
        con.execute(
            f"""insert into {RAW_SCHEMA}.{table}
                    ({names}, _extract_date, _source_file, _row_number, _loaded_at)
                select {names}, ?::DATE, ?, _row_number, ?::TIMESTAMPTZ from _incoming""",
            [day, source_file, loaded_at],
        )
    finally:
        con.unregister("_incoming")


def record_load(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    day: dt.date,
    load: DayLoad,
    loaded_at: dt.datetime,
) -> None:
    """Keep the quarantined rows with their reasons and the row accounting of the file."""
    if load.quarantine.height:
        con.register("_quarantined", load.quarantine.to_arrow())
        try:
            con.execute(
                f"""insert into {QUARANTINE_TABLE}
                        (source, raw_table, _extract_date, source_file, row_number,
                         column_name, reason, raw_record, quarantined_at, line_number)
                    select ?, ?, ?::DATE, ?, row_number, column_name, reason, raw_record,
                           ?::TIMESTAMPTZ, line_number
                    from _quarantined""",
                [source, table, day, load.source_file, loaded_at],
            )
        finally:
            con.unregister("_quarantined")
    con.execute(
        f"""insert into {INGEST_LOG_TABLE}
                (source, raw_table, _extract_date, source_file, checksum, rows_read,
                 rows_loaded, rows_quarantined, loaded_at, duplicate_of)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            source,
            table,
            day,
            load.source_file,
            load.checksum,
            load.rows_read,
            load.rows_loaded,
            load.quarantine.height,
            loaded_at,
            load.duplicate_of,
        ],
    )
