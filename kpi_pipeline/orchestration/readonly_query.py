"""Read-only SQL against the warehouse: one reading statement, on a read-only connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from kpi_pipeline.warehouse import connect, is_postgres_url, query_polars

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
def read_only_connection(warehouse: Path | str) -> Iterator:
    """A read-only connection to `warehouse` (a DuckDB file, or a `postgresql://` URL: a
    session whose transactions are read-only), or a QueryError saying why there is none."""
    if is_postgres_url(str(warehouse)):
        with _postgres_read_only_connection(str(warehouse)) as con:
            yield con
        return
    warehouse = Path(warehouse)
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


def read_only_query(warehouse: Path | str, sql: str) -> pl.DataFrame:
    """The result of one reading statement, from a read-only connection to `warehouse` (a
    DuckDB file or a `postgresql://` URL)."""
    if is_postgres_url(str(warehouse)):
        return _postgres_read_only_query(str(warehouse), sql)
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


@contextmanager
def _postgres_read_only_connection(url: str) -> Iterator:
    import psycopg2

    try:
        with connect(url, read_only=True) as con:
            yield con
    except psycopg2.OperationalError as err:
        raise QueryError(
            f"cannot reach the warehouse {url}: {str(err).strip().splitlines()[0]}",
            "check KPI_WAREHOUSE (postgresql://user@host:port/db) and PGPASSWORD",
        ) from err


def _postgres_read_only_query(url: str, sql: str) -> pl.DataFrame:
    """PostgreSQL: the SQL (its dialect) runs in a read-only transaction that is rolled back
    afterwards, so the server refuses writes and nothing it did persists. For analysts' own
    tools a role with SELECT grants only is the guarantee (docs/warehouses.md)."""
    import psycopg2
    import psycopg2.errors

    try:
        with _postgres_read_only_connection(url) as con:
            con.execute("begin transaction read only")
            try:
                result = con.execute(sql)
                if not result.returns_rows:
                    raise QueryError(
                        "refused: the statement returns no rows, it is not a read (undone)",
                        "use SELECT; data changes only through the pipeline (kpi run / backfill)",
                    )
                return result.pl()
            finally:
                con.execute("rollback")
    except psycopg2.errors.ReadOnlySqlTransaction as err:
        raise QueryError(
            f"refused: {str(err).strip().splitlines()[0]}; the warehouse is read-only for "
            "kpi query",
            "use SELECT; data changes only through the pipeline (kpi run / kpi backfill)",
        ) from err
    except psycopg2.Error as err:
        raise QueryError(
            f"the query failed: {str(err).strip().splitlines()[0]}",
            'list the tables with: kpi query "select table_schema, table_name '
            'from information_schema.tables"',
        ) from err
