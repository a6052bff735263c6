"""A query's rows as the pandas frame DuckDB's `.df()` gives, its text columns fetched
through Arrow.

`.df()` turns each VARCHAR value into a Python string, and pandas then copies those into
its Arrow-backed `str` columns: at a million GA4 events, three text columns took 0.56 s of
CPU that way against 0.13 s straight from Arrow (docs/benchmarks.md, issue 16). The frame
is the same one, value for value and dtype for dtype (so GX's fingerprint of it too):
`tests/quality/test_pandas_frame.py` holds it to `.df()`.

The query runs once, into one Arrow table; every column of the frame comes from that table,
so the columns' rows line up whatever order the query's scan gives."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
