"""Write one source's extract day into its raw table: the day is replaced, nothing else moves.

On Spark the raw tables are Parquet tables partitioned by `_extract_date`, the bookkeeping
tables by `raw_table` and `_extract_date`; Parquet has no DELETE, so a day is replaced as a
partition (`SparkConnection.replace_partition`, written at `commit`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

from kpi_pipeline.ingest.contracts import LINEAGE_COLUMNS_DDL
from kpi_pipeline.warehouse import append_frame, column_type, is_postgres, is_spark

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
    # an ad platform's own lines (title, date range, total rows; report_layouts.py): neither
    # loaded nor quarantined, and not in rows_read (rows read = loaded + quarantined)
    summary_lines_skipped: int = 0


# Spark: the bookkeeping tables' columns (DuckDB type names) and their partition columns
SPARK_BOOKKEEPING_COLUMNS = {
    QUARANTINE_TABLE: [
        ("source", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("row_number", "BIGINT"),
        ("column_name", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("raw_record", "VARCHAR"),
        ("quarantined_at", "TIMESTAMPTZ"),
        ("line_number", "BIGINT"),
    ],
    INGEST_LOG_TABLE: [
        ("source", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("checksum", "VARCHAR"),
        ("rows_read", "BIGINT"),
        ("rows_loaded", "BIGINT"),
        ("rows_quarantined", "BIGINT"),
        ("loaded_at", "TIMESTAMPTZ"),
        ("duplicate_of", "VARCHAR"),
        ("summary_lines_skipped", "BIGINT"),
    ],
}
SPARK_BOOKKEEPING_PARTITION = [("raw_table", "VARCHAR"), ("_extract_date", "DATE")]
SPARK_RAW_LINEAGE = [
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMPTZ"),
    ("_extract_date", "DATE"),
]


def spark_table_ddl(con, table: str, columns: list[tuple[str, str]], partition: list[str]) -> str:
    """`create table if not exists` of a Parquet table partitioned by `partition` (Spark)."""
    body = ", ".join(f"`{name}` {column_type(con, kind)}" for name, kind in columns)
    by = ", ".join(f"`{name}`" for name in partition)
    return f"create table if not exists {table} ({body}) using parquet partitioned by ({by})"


def _spark_add_missing(con, table: str, columns: list[tuple[str, str]]) -> None:
    """Columns a contract gained since the Spark table was created (Spark's `alter table`
    has no `if not exists`)."""
    present = {name for name, _ in con.table_columns(table)}
    missing = [(name, kind) for name, kind in columns if name not in present]
    if missing:
        body = ", ".join(f"`{name}` {column_type(con, kind)}" for name, kind in missing)
        con.execute(f"alter table {table} add columns ({body})")


def _ensure_spark_raw_schema(con) -> None:
    for table, columns in SPARK_BOOKKEEPING_COLUMNS.items():
        partition = [name for name, _ in SPARK_BOOKKEEPING_PARTITION]
        con.execute(spark_table_ddl(con, table, columns + SPARK_BOOKKEEPING_PARTITION, partition))


# PostgreSQL's advisory lock the raw tables' DDL is made under ("kpi" in ASCII)
RAW_DDL_LOCK = 0x6B7069


@contextmanager
def one_ddl_at_a_time(con) -> Iterator[None]:
    """On PostgreSQL, the raw tables' `create ... if not exists` and `alter` in one
    transaction holding `RAW_DDL_LOCK`: ingest steps running at once
    (`KPI_INGEST_PARALLELISM`) take turns, since two sessions creating the same schema or
    table together can fail (a duplicate key in PostgreSQL's catalog). Elsewhere nothing:
    DuckDB has one writer, Spark's DDL goes through its server."""
    if not is_postgres(con):
        yield
        return
    con.execute("begin transaction")
    try:
        con.execute("select pg_advisory_xact_lock(?)", [RAW_DDL_LOCK])
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def ensure_raw_schema(con) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    if is_spark(con):
        _ensure_spark_raw_schema(con)
        return
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
    con.execute(
        f"alter table {INGEST_LOG_TABLE} "
        "add column if not exists summary_lines_skipped BIGINT default 0"
    )


def ensure_table(con, table: str, columns: list[tuple[str, str]]) -> None:
    if is_spark(con):
        name = f"{RAW_SCHEMA}.{table}"
        con.execute(spark_table_ddl(con, name, columns + SPARK_RAW_LINEAGE, ["_extract_date"]))
        _spark_add_missing(con, name, columns)
        return
    typed = [(name, column_type(con, kind)) for name, kind in columns]
    body = ", ".join(f'"{name}" {kind}' for name, kind in typed)
    con.execute(f"create table if not exists {RAW_SCHEMA}.{table} ({body}, {LINEAGE_COLUMNS_DDL})")
    for name, kind in typed:  # columns the contract gained since the table was created
        con.execute(f'alter table {RAW_SCHEMA}.{table} add column if not exists "{name}" {kind}')
    _ids_as_text(con, table, typed)


_INTEGER_TYPES = ("BIGINT", "INTEGER")


def _ids_as_text(con, table: str, typed: list[tuple[str, str]]) -> None:
    """Id columns are opaque text (`0035e00000AbCdEAA1`, `cus_Nf8Xq2`, `007`); a warehouse
    created when contact and record ids were BIGINT has them turned into text once (each
    integer becomes its digits: the same ids, the same joins)."""
    current = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = ? and table_name = ?",
            [RAW_SCHEMA, table],
        ).fetchall()
    )
    stale = [
        (name, kind)
        for name, kind in typed
        if kind.upper() == "VARCHAR" and str(current.get(name, "")).upper() in _INTEGER_TYPES
    ]
    if stale and is_postgres(con):
        # PostgreSQL refuses to retype a column a view reads: drop the staging views over
        # the table (dbt creates them again in the same run)
        for schema, view in con.execute(
            "select distinct view_schema, view_name from information_schema.view_table_usage"
            " where table_schema = ? and table_name = ?",
            [RAW_SCHEMA, table],
        ).fetchall():
            con.execute(f'drop view if exists "{schema}"."{view}" cascade')
    for name, kind in stale:
        con.execute(f'alter table {RAW_SCHEMA}.{table} alter column "{name}" type {kind}')


def already_loaded(con, table: str, checksum: str, day: dt.date) -> str | None:
    """The file of another extract day whose content (checksum) was loaded into `table`."""
    found = con.execute(
        f"""select source_file from {INGEST_LOG_TABLE}
            where raw_table = ? and checksum = ? and duplicate_of is null
              and _extract_date <> ?
            order by _extract_date, source_file limit 1""",
        [table, checksum, day],
    ).fetchall()
    return found[0][0] if found else None


def clear_day(con, source: str, table: str, day: dt.date) -> None:
    """Forget what an earlier load of this day wrote (rows, quarantine, log); on Spark the
    day's partitions are replaced at `commit` by what the load appends."""
    if is_spark(con):
        con.replace_partition(f"{RAW_SCHEMA}.{table}", {"_extract_date": day})
        for bookkeeping in (QUARANTINE_TABLE, INGEST_LOG_TABLE):
            con.replace_partition(bookkeeping, {"raw_table": table, "_extract_date": day})
        return
    con.execute(f"delete from {RAW_SCHEMA}.{table} where _extract_date = ?", [day])
    for bookkeeping in (QUARANTINE_TABLE, INGEST_LOG_TABLE):
        con.execute(
            f"delete from {bookkeeping} where raw_table = ? and _extract_date = ?", [table, day]
        )


def insert_rows(
    con,
    table: str,
    columns: list[tuple[str, str]],
    rows: pl.DataFrame,
    day: dt.date,
    source_file: str,
    loaded_at: dt.datetime,
) -> None:
    frame = rows.select(
        [pl.col(name) for name, _ in columns]
        + [pl.col("_row_number").cast(pl.Int64), *lineage(day, source_file, loaded_at)]
    )
    append_frame(con, f"{RAW_SCHEMA}.{table}", frame)


def lineage(day: dt.date, source_file: str, loaded_at: dt.datetime) -> list[pl.Expr]:
    """The lineage columns every loaded row carries (besides its `_row_number`)."""
    return [
        pl.lit(day, pl.Date).alias("_extract_date"),
        pl.lit(source_file, pl.String).alias("_source_file"),
        pl.lit(loaded_at).cast(pl.Datetime("us", "UTC")).alias("_loaded_at"),
    ]


def record_load(
    con,
    source: str,
    table: str,
    day: dt.date,
    load: DayLoad,
    loaded_at: dt.datetime,
) -> None:
    """Keep the quarantined rows with their reasons and the row accounting of the file."""
    if load.quarantine.height:
        quarantined = load.quarantine.select(
            pl.lit(source, pl.String).alias("source"),
            pl.lit(table, pl.String).alias("raw_table"),
            pl.lit(day, pl.Date).alias("_extract_date"),
            pl.lit(load.source_file, pl.String).alias("source_file"),
            "row_number",
            "column_name",
            "reason",
            "raw_record",
            pl.lit(loaded_at).cast(pl.Datetime("us", "UTC")).alias("quarantined_at"),
            "line_number",
        )
        append_frame(con, QUARANTINE_TABLE, quarantined)
    if is_spark(con):  # Spark's inserts go through frames, written at `commit`
        append_frame(con, INGEST_LOG_TABLE, ingest_log_row(source, table, day, load, loaded_at))
        return
    con.execute(
        f"""insert into {INGEST_LOG_TABLE}
                (source, raw_table, _extract_date, source_file, checksum, rows_read,
                 rows_loaded, rows_quarantined, loaded_at, duplicate_of, summary_lines_skipped)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
            load.summary_lines_skipped,
        ],
    )


def ingest_log_row(
    source: str, table: str, day: dt.date, load: DayLoad, loaded_at: dt.datetime
) -> pl.DataFrame:
    """The ingest log's row of one file, as a frame."""
    return pl.DataFrame(
        {
            "source": [source],
            "raw_table": [table],
            "_extract_date": [day],
            "source_file": [load.source_file],
            "checksum": [load.checksum],
            "rows_read": [load.rows_read],
            "rows_loaded": [load.rows_loaded],
            "rows_quarantined": [load.quarantine.height],
            "loaded_at": [loaded_at],
            "duplicate_of": [load.duplicate_of],
            "summary_lines_skipped": [load.summary_lines_skipped],
        },
        schema={
            "source": pl.String,
            "raw_table": pl.String,
            "_extract_date": pl.Date,
            "source_file": pl.String,
            "checksum": pl.String,
            "rows_read": pl.Int64,
            "rows_loaded": pl.Int64,
            "rows_quarantined": pl.Int64,
            "loaded_at": pl.Datetime("us", "UTC"),
            "duplicate_of": pl.String,
            "summary_lines_skipped": pl.Int64,
        },
    )
