"""A query's rows as the pandas frame DuckDB's `.df()` gives, its text columns fetched
through Arrow.

`.df()` turns each VARCHAR value into a Python string, and pandas then copies those into
its Arrow-backed `str` columns: at a million GA4 events, three text columns took 0.56 s of
CPU that way against 0.13 s straight from Arrow (docs/benchmarks.md, issue 16). The frame
is the same one, value for value and dtype for dtype (so GX's fingerprint of it too):
`tests/quality/test_pandas_frame.py` holds it to `.df()`.

The query runs once, into one Arrow table; every column of the frame comes from that table,
so the columns' rows line up whatever order the query's scan gives.

A Spark query's Arrow table is made a frame the same way, through an in-memory DuckDB
(`spark_frame`): the frame DuckDB would give for the same Arrow types, so the gate's suites
see the same dtypes on either warehouse (their verdicts and evidence the same)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa


def _text_fetchable(column) -> bool:
    """A text column `.df()` makes a pandas `str` column: one with at least one value (an
    empty or all-null one stays `object`, which `.df()` is left to give)."""
    return len(column) > 0 and column.null_count < len(column)


def _names(columns: list[str]) -> str:
    return ", ".join('"' + c.replace('"', '""') + '"' for c in columns)


def duckdb_frame(
    con,
    sql: str,
    params: list,
    columns: list[str],
    text_columns: set[str],
    null_columns: set[str] = frozenset(),
) -> pd.DataFrame:
    """`con.execute(sql, params).df()` (DuckDB), where `sql` selects `columns` in that order:
    the `text_columns` (VARCHAR) among them straight from the query's Arrow table, the
    `null_columns` (selected as `cast(null as T)`) as one row's `.df()` repeated, the others
    through DuckDB's `.df()` of the same Arrow table (not a second run of the query)."""
    arrow = con.sql(sql, params=params).to_arrow_table()
    return arrow_frame(con, arrow, columns, text_columns, null_columns)


def spark_frame(
    con,
    sql: str,
    params: list,
    columns: list[str],
    text_columns: set[str],
    null_columns: set[str] = frozenset(),
) -> pd.DataFrame:
    """The frame DuckDB gives for the rows of a Spark query (`SparkConnection`): its Arrow
    table made a frame by an in-memory DuckDB in UTC, as `duckdb_frame` makes DuckDB's."""
    arrow = con.execute(sql, params).arrow()
    with duckdb.connect() as local:
        local.execute("set TimeZone = 'UTC'")
        return arrow_frame(local, arrow, columns, text_columns, null_columns)


def query_frame(con, sql: str, params: list) -> pd.DataFrame:
    """A query's rows as DuckDB's `.df()` gives them, whichever the warehouse: on Spark
    through an in-memory DuckDB (`spark_frame`), elsewhere the connection's own `.df()`."""
    from kpi_pipeline.warehouse import is_spark

    if is_spark(con):
        return spark_frame(con, sql, params, [], set())
    return con.execute(sql, params).df()


def arrow_frame(
    con,
    arrow: pa.Table,
    columns: list[str],
    text_columns: set[str],
    null_columns: set[str] = frozenset(),
) -> pd.DataFrame:
    """DuckDB's `.df()` of the Arrow table `arrow` (through the DuckDB connection `con`),
    its text columns taken straight from Arrow (`duckdb_frame`)."""
    arrow = arrow.combine_chunks()  # one chunk, as `.df()` gives: GX reads it faster
    texts = [c for c in columns if c in text_columns]
    if not texts or not all(_text_fetchable(arrow.column(c)) for c in texts):
        return con.from_arrow(arrow).df()
    rows = len(arrow)
    nulls = [c for c in columns if c in null_columns and c not in text_columns]
    one = con.from_arrow(arrow.slice(0, 1)).project(_names(nulls)).df() if nulls else None
    others = [c for c in columns if c not in text_columns and c not in null_columns]
    rest = con.from_arrow(arrow).project(_names(others)).df() if others else None

    def column(name: str) -> pd.Series:
        if name in text_columns:
            return arrow.column(name).to_pandas()
        if name in null_columns:
            return one[name].take(np.zeros(rows, dtype=np.intp)).reset_index(drop=True)
        return rest[name]

    return pd.DataFrame({c: column(c) for c in columns})
