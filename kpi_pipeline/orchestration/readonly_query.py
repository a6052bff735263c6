"""Read-only SQL against the warehouse: one reading statement, on a read-only connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from kpi_pipeline.warehouse import query_polars

READING_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryError(Exception):
    """A query that cannot run; `hint` says what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def statement_types(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    try:
        return [s.type for s in con.extract_statements(sql)]
    except duckdb.Error as err:
        raise QueryError(
            f"the SQL does not parse: {str(err).splitlines()[0]}",
            "check the SQL; DuckDB's dialect: https://duckdb.org/docs/sql/introduction",
        ) from err


def refuse_writes(types: list) -> None:
    if len(types) != 1:
        raise QueryError(
            f"{len(types)} statements given; kpi query runs exactly one",
            "run one SELECT at a time",
        )
    if types[0] not in READING_STATEMENTS:
        kind = str(types[0]).rsplit(".", 1)[-1]
        raise QueryError(
            f"refused: {kind} is not a read; the warehouse is read-only for kpi query",
            "use SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN; data changes "
            "only through the pipeline (kpi run / kpi backfill)",
        )


@contextmanager
def read_only_connection(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to `warehouse`, or a QueryError saying why there is none."""
    if not warehouse.exists():
        raise QueryError(
            f"no warehouse at {warehouse}",
            "build one with kpi run / kpi backfill, or point KPI_WAREHOUSE at it",
        )
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as err:
        raise QueryError(
            f"the warehouse {warehouse} is busy: a run is writing it",
            "try again when the run has finished (kpi status shows running runs)",
        ) from err
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def read_only_query(warehouse: Path, sql: str) -> pl.DataFrame:
    """The result of one reading statement, from a read-only connection to `warehouse`."""
    with read_only_connection(warehouse) as con:
        refuse_writes(statement_types(con, sql))
        try:
            return query_polars(con, sql)
        except duckdb.Error as err:
            raise QueryError(
                f"the query failed: {str(err).splitlines()[0]}",
                'list the tables with: kpi query "select table_schema, table_name '
                'from information_schema.tables"',
            ) from err
