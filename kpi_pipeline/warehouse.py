"""The DuckDB warehouse: one file, one writer at a time, connections opened per use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource


@contextmanager
def connect(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is closed on exit, so dbt (another process) can write afterwards."""
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


class WarehouseResource(ConfigurableResource):
    """The DuckDB file the pipeline writes (`KPI_WAREHOUSE`)."""

    path: str

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.path) as con:
            yield con


def query_polars(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """Run a query and fetch it whole as a Polars DataFrame."""
    import polars as pl

    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())
