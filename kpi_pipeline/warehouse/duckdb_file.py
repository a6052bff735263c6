"""The DuckDB warehouse: one file, one writer at a time, connections opened per use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl


@contextmanager
def connect(path: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(path, read_only=read_only)
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def append_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    names = ", ".join(f'"{name}"' for name in frame.columns)
    con.register("_incoming", frame.to_arrow())
    try:
        con.execute(f"insert into {table} ({names}) select {names} from _incoming")
    finally:
        con.unregister("_incoming")
