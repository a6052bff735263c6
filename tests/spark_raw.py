"""Test stand-in for ingest on Spark (not built yet, issue 18): a DuckDB warehouse's raw
tables copied to the local Spark as Parquet files under the Spark folder, each registered as
an external table (`using parquet location`), the way Spark ingest is meant to register the
day's files. GA4's nested columns stay nested (struct, array<struct>)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq


def copy_raw_tables(duckdb_file: Path, session, folder: Path) -> dict[str, int]:
    """Every table of the DuckDB file's `raw` schema into Spark's `raw` schema; its rows per
    table as Spark counts them."""
    session.sql("create database if not exists raw")
    counted = {}
    with duckdb.connect(str(duckdb_file), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "order by table_name"
        ).fetchall()
        for (table,) in tables:
            arrow = con.sql(f"select * from raw.{table}").to_arrow_table()
            location = folder / table
            location.mkdir(parents=True, exist_ok=True)
            pq.write_table(arrow, location / "part-0.parquet")
            session.sql(f"drop table if exists raw.{table}")
            session.sql(f"create table raw.{table} using parquet location '{location}'")
            counted[table] = session.table(f"raw.{table}").count()
    return counted
