"""`kpi query` on a PostgreSQL warehouse: one SELECT (PostgreSQL's dialect), run as a cursor
in a read-only transaction that is always rolled back, under `statement_timeout`.

The pipeline often connects as a superuser, which may read the server's files
(`pg_read_file`), run programs (`COPY ... TO PROGRAM`) and import large objects even in a
read-only transaction. So a superuser's session first drops to the built-in role
`pg_read_all_data` (PostgreSQL 14+: SELECT on every table, nothing else); the statement
check (`query_guard`) refuses the functions that would switch back (`set_config`) or run
SQL hidden in text (`query_to_xml`), and the catalogs holding credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import polars as pl
import psycopg2
import psycopg2.errors

from kpi_pipeline.orchestration.query_guard import (
    POSTGRES_READ_HINT,
    PostgresStatement,
    QueryError,
    check_postgres_statement,
    first_line,
)
from kpi_pipeline.orchestration.query_limits import (
    QueryLimits,
    ResultTooLarge,
    memory_error,
    result_too_large_error,
    rows_size,
    stop_after,
    timeout_error,
    within_size,
)
from kpi_pipeline.warehouse import connect

# unqualified names resolve to the marts, then the published views, then public
# (pg_catalog, not listed, is searched first as always)
SEARCH_PATH = "marts, publish, public"
READER_ROLE = "pg_read_all_data"
FETCH_ROWS = 10_000
CURSOR = "kpi_query"
PG_HINT = "check the SQL; PostgreSQL's dialect: https://www.postgresql.org/docs/current/sql.html"


@contextmanager
def postgres_read_only_connection(url: str) -> Iterator:
    """A session whose transactions are read-only, or a QueryError if the server is out of
    reach."""
    try:
        with connect(url, read_only=True) as con:
            yield con
    except psycopg2.OperationalError as err:
        raise QueryError(
            f"cannot reach the warehouse {url}: {first_line(err)}",
            "check KPI_WAREHOUSE (postgresql://user@host:port/db) and PGPASSWORD",
        ) from err


def postgres_read_only_query(url: str, sql: str, limits: QueryLimits) -> pl.DataFrame:
    """The result of one SELECT, checked first (nothing reaches the server otherwise)."""
    statement = check_postgres_statement(sql)
    with postgres_read_only_connection(url) as con:
        return _run(con.raw, statement, limits)


def _run(raw, statement: PostgresStatement, limits: QueryLimits) -> pl.DataFrame:
    """Everything in one read-only transaction, rolled back whatever happened; a timer
    cancels the query when `statement_timeout` (per statement, so per fetch) has not."""
    with raw.cursor() as cursor:
        cursor.execute("begin transaction read only")
        try:
            with stop_after(limits.timeout_seconds, raw.cancel) as stopped:
                try:
                    _limit_session(cursor, limits)
                    return _fetch(cursor, statement, limits)
                except psycopg2.Error as err:
                    raise postgres_query_error(err, limits, stopped.is_set()) from err
                except ResultTooLarge as err:
                    raise result_too_large_error(limits) from err
        finally:
            _rollback(cursor)


def _limit_session(cursor, limits: QueryLimits) -> None:
    """Limits and name resolution for this transaction only; a superuser drops to the
    reader role, and the query runs only once the session is no superuser's."""
    cursor.execute("set local statement_timeout = %s", (round(limits.timeout_seconds * 1000),))
    cursor.execute(f"set local search_path = {SEARCH_PATH}")
    if _is_superuser(cursor):
        try:
            cursor.execute(f"set local role {READER_ROLE}")
        except psycopg2.errors.InvalidParameterValue as err:
            raise QueryError(
                f"the warehouse's user is a superuser and the server has no role {READER_ROLE} "
                "(PostgreSQL 14+) to run the query as",
                "give KPI_WAREHOUSE a user with SELECT grants only (docs/warehouses.md)",
            ) from err
    if _is_superuser(cursor):
        raise QueryError(
            "refused: the query would run as a superuser",
            "give KPI_WAREHOUSE a user with SELECT grants only (docs/warehouses.md)",
        )


def _is_superuser(cursor) -> bool:
    cursor.execute("select current_setting('is_superuser')")
    return cursor.fetchone()[0] == "on"


def _fetch(cursor, statement: PostgresStatement, limits: QueryLimits) -> pl.DataFrame:
    """An EXPLAIN as such; any other statement through a cursor, which PostgreSQL declares
    only for one SELECT / VALUES / TABLE without data-modifying WITH, fetched in chunks
    while they fit the memory limit."""
    if statement.explain:
        options = "analyze false, verbose true" if statement.verbose else "analyze false"
        cursor.execute(f"explain ({options}) {statement.body}")
        return _frame(cursor.description, cursor.fetchall())
    cursor.execute(f"declare {CURSOR} no scroll cursor for {statement.body}")

    def chunks() -> Iterator[list[tuple]]:
        while True:
            cursor.execute(f"fetch forward {FETCH_ROWS} from {CURSOR}")
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows

    kept = within_size(chunks(), rows_size, limits.memory_bytes)
    return _frame(cursor.description, [row for rows in kept for row in rows])


def _frame(description, rows: list[tuple]) -> pl.DataFrame:
    names = unique_names([column.name for column in description])
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique (`a`, `a_1`): a frame needs them, a query need not have
    them (`select 1, 1` on PostgreSQL, `select 1 as a, 2 as a`)."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique.append(name if count == 0 else f"{name}_{count}")
    return unique


def _rollback(cursor) -> None:
    """Undo the transaction; on a broken connection there is nothing to undo (the server
    aborts the transaction of a closed session)."""
    with suppress(psycopg2.Error):
        cursor.execute("rollback")


def postgres_query_error(err: psycopg2.Error, limits: QueryLimits, stopped: bool) -> QueryError:
    """What a failed query tells the analyst, in plain words and one line."""
    line = first_line(err)
    if isinstance(err, psycopg2.errors.QueryCanceled) or stopped:
        return timeout_error(limits)
    if isinstance(err, psycopg2.errors.OutOfMemory):
        return memory_error(limits)
    if isinstance(err, psycopg2.errors.ReadOnlySqlTransaction):
        return QueryError(
            f"refused: {line}; the warehouse is read-only for kpi query", POSTGRES_READ_HINT
        )
    if isinstance(err, psycopg2.errors.InsufficientPrivilege):
        return QueryError(
            f"refused: {line}; kpi query reads only the warehouse's tables",
            "query the marts, e.g. select * from fct_kpi_daily",
        )
    if isinstance(err, psycopg2.errors.FeatureNotSupported) and "data-modifying" in line:
        return QueryError(
            "refused: a WITH that changes data is not a read; the warehouse is read-only "
            "for kpi query",
            POSTGRES_READ_HINT,
        )
    if isinstance(err, psycopg2.errors.SyntaxError):
        return QueryError(f"the SQL is not one SELECT PostgreSQL accepts: {line}", PG_HINT)
    return QueryError(
        f"the query failed: {line}",
        'list the tables with: kpi query "select table_schema, table_name '
        'from information_schema.tables"',
    )
