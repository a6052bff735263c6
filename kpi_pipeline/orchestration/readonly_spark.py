"""Read-only SQL on the Spark warehouse: `kpi query` on `KPI_WAREHOUSE=spark` (one reading
statement, judged by Spark's own parser before it is sent, `query_guard_spark`, within a
time and a result-size limit) and the KPI readers' connection (`kpi show`, `kpi pace`,
`kpi explain`, `kpi quarantine`, the values of `kpi list`: `spark_read_only_connection`),
each on a session of its own that cannot read files by path.

Each has a Spark Connect session of its own on the deployment's server (started when none
runs, as `warehouse.connect` does), so the settings made here stay in it and end with it.
pyspark is imported only through `spark_connection` (an optional extra).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import polars as pl
import pyarrow as pa

from kpi_pipeline.orchestration.query_guard import QueryError, first_line
from kpi_pipeline.orchestration.query_guard_spark import (
    SPARK_READ_HINT,
    check_spark_statement,
    check_spark_text,
    explain_statement,
)
from kpi_pipeline.orchestration.query_limits import (
    QueryLimits,
    ResultTooLarge,
    result_too_large_error,
    stop_after,
    timeout_error,
    within_size,
)
from kpi_pipeline.orchestration.readonly_postgres import unique_names
from kpi_pipeline.warehouse.spark import SparkWarehouseError
from kpi_pipeline.warehouse.spark_connection import FetchedResult, SparkConnection

# the reader's session settings: no `format`.`path` tables (Spark would read the file)
READER_CONF = {"spark.sql.runSQLOnFiles": "false"}
BATCH_ROWS = 65_536


# unqualified names resolve in the marts, as on DuckDB (Spark has one current schema)
SEARCH_SCHEMA = "marts"
SPARK_TABLES_HINT = 'list the tables with: kpi query "show tables in marts"'


def settle_reader_session(session) -> None:
    """The reader's settings on its own session: no table read from a file by its path;
    unqualified names in the marts (when the warehouse has them)."""
    for key, value in READER_CONF.items():
        session.conf.set(key, value)
    if session.catalog.databaseExists(SEARCH_SCHEMA):
        session.catalog.setCurrentDatabase(SEARCH_SCHEMA)


def spark_read_only_query_at(location: str, sql: str, limits: QueryLimits) -> pl.DataFrame:
    """`spark_read_only_query` on a session of its own on the Spark warehouse `location`
    (`spark:<folder>`, its server on `KPI_SPARK_PORT`); a QueryError when Spark cannot be
    used (the extra or Java missing, the port held by another server)."""
    from kpi_pipeline.warehouse import spark

    paths = spark.SparkPaths(spark.spark_dir_of(location))
    if (thrift := thrift_endpoint(paths)) is not None:
        from kpi_pipeline.orchestration.readonly_thrift import thrift_read_only_query

        with thrift_reader(thrift) as con:
            return thrift_read_only_query(con, sql, limits)
    session = reader_session(paths)
    try:
        return spark_read_only_query(session, sql, limits)
    finally:
        session.stop()


def thrift_endpoint(paths):
    """The deployment's endpoint when it is a Spark Thrift Server, else None."""
    from kpi_pipeline.warehouse import spark

    try:
        endpoint = spark.current_endpoint(paths.root)
    except ValueError as err:
        raise QueryError(str(err), "see docs/warehouses.md#a-spark-cluster") from None
    return endpoint if endpoint.thrift else None


@contextmanager
def thrift_reader(endpoint) -> Iterator[ReadOnlySparkConnection]:
    """The readers' connection on the deployment's Spark Thrift Server `endpoint`
    (`thrift_endpoint`): a session of its own with the reader's settings, its current
    schema the marts; a QueryError in words when the server cannot be used."""
    from kpi_pipeline.orchestration.readonly_thrift import read_only_thrift_connection
    from kpi_pipeline.warehouse import spark

    try:
        con = read_only_thrift_connection(endpoint, READER_CONF)
    except spark.SparkUnavailableError as err:
        raise QueryError(str(err), "see docs/warehouses.md#a-spark-cluster") from None
    try:
        yield con
    finally:
        con.close()


def reader_session(paths):
    """A session of its own on the deployment's server (`paths`, a `SparkPaths`; started
    when none runs), or a QueryError in words when Spark cannot be used (the extra or Java
    missing, the port held by another server) or there is nothing to read (no warehouse
    built: then no server is started and no folder created)."""
    from kpi_pipeline.warehouse import spark
    from kpi_pipeline.warehouse.spark_connection import deployment_session

    if problem := no_spark_warehouse(paths):
        raise problem
    try:
        return deployment_session(paths, spark.current_endpoint(paths.root))
    except (spark.SparkUnavailableError, ValueError) as err:
        raise QueryError(str(err), "see docs/warehouses.md#spark") from None


def check_on_spark(session, sql: str, args: list | None = None) -> None:
    """Refuse (QueryError) `sql` unless Spark parses it as one read; nothing of it runs.
    `args`: the values of its `?` placeholders, if any."""

    def explain_rows(explain: str, values: list | None) -> list:
        return (session.sql(explain, args=values) if values else session.sql(explain)).collect()

    check_explained(explain_rows, sql, args)


def check_explained(
    explain_rows: Callable[[str, list | None], list], sql: str, args: list | None = None
) -> None:
    """`check_on_spark` through `explain_rows`, which runs an EXPLAIN (with `args`) and
    returns its rows: a Spark Connect session's or a Spark Thrift Server's."""
    check_spark_text(sql)
    try:
        [(explained,)] = explain_rows(explain_statement(sql), args)
    except Exception as err:  # pyspark's errors share no base class across its clients
        raise QueryError(
            f"the SQL does not parse: {first_line(err)}",
            "check the SQL (one statement); Spark's dialect: "
            "https://spark.apache.org/docs/latest/sql-ref.html",
        ) from err
    check_spark_statement(explained)


def spark_read_only_query(session, sql: str, limits: QueryLimits | None = None) -> pl.DataFrame:
    """The result of one reading statement, checked first, stopped by the time limit (Spark
    Connect's interrupt of the session's operations, repeated until it stops); refused once
    its Arrow batches outgrow the memory limit. Spark Connect hands the result over whole,
    so that size is judged after the fetch, not during it as on DuckDB; a QueryError in
    plain words otherwise."""
    limits = limits or QueryLimits()
    settle_reader_session(session)
    check_on_spark(session, sql)
    with stop_after(limits.timeout_seconds, session.interruptAll, again_every=0.5) as stopped:
        try:
            table = session.sql(sql).toArrow()
            batches = within_size(
                table.to_batches(BATCH_ROWS), lambda b: b.nbytes, limits.memory_bytes
            )
            table = pa.Table.from_batches(batches, schema=table.schema)
        except ResultTooLarge as err:
            raise result_too_large_error(limits) from err
        except Exception as err:
            if stopped.is_set():
                raise timeout_error(limits) from err
            raise QueryError(f"the query failed: {first_line(err)}", SPARK_TABLES_HINT) from err
    return pl.from_arrow(table.rename_columns(unique_names(table.column_names)))


# --- the KPI readers' connection ------------------------------------------------------

# the first keywords of a read; a statement starting with any other is refused unsent
READ_KEYWORDS = frozenset(
    ["select", "with", "values", "table", "show", "describe", "desc", "explain"]
)
# blanks, comments and opening brackets before a statement's first word
_LEADING = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|\()*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")
NO_SPARK_WAREHOUSE_HINT = (
    "build it with kpi run / kpi backfill (KPI_WAREHOUSE=spark), or point KPI_DATA_DIR at "
    "the deployment's data"
)
READERS_WRITE_NOTHING = "data changes only through the pipeline (kpi run / kpi backfill)"


def first_keyword(sql: str) -> str:
    """The statement's first word in lower case, after blanks, comments and brackets
    (`''` when there is none)."""
    rest = sql[_LEADING.match(sql).end() :]
    word = _WORD.match(rest)
    return word.group(0).lower() if word else ""


def check_reading_statement(sql: str) -> None:
    """Refuse (QueryError), before anything is sent, a statement whose first keyword is not
    a read's, or whose text could hold an EXECUTE IMMEDIATE (which Spark runs even when
    explaining it). REFRESH TABLE is refused too: a reader's session is new, so Spark lists
    the tables' files afresh and sees what other sessions wrote (tested), and a refresh
    would change the server's cache shared by every session."""
    check_spark_text(sql)
    keyword = first_keyword(sql)
    if keyword not in READ_KEYWORDS:
        shown = keyword.upper() or "a statement without a keyword"
        raise QueryError(
            f"refused: {shown} is not a read; the KPI readers' connection to the Spark "
            "warehouse is read-only",
            SPARK_READ_HINT,
        )


def no_spark_warehouse(paths) -> QueryError | None:
    """The error when the deployment's Spark (`paths`, a `SparkPaths`) has no warehouse
    yet (its metastore never created): nothing to read, so no server is started for it.
    None on an `sc://` endpoint the deployment does not own: its metastore is the
    endpoint's (a reader there finds the tables or says which is missing)."""
    from kpi_pipeline.warehouse import spark

    try:
        owned = spark.current_endpoint(paths.root).owned
    except ValueError as err:
        return QueryError(str(err), "see docs/warehouses.md#a-spark-cluster")
    if not owned or paths.metastore_dir.exists():
        return None
    return QueryError(f"no Spark warehouse at {paths.root}", NO_SPARK_WAREHOUSE_HINT)


class SparkReadError(QueryError, SparkWarehouseError):
    """A read the readers' Spark session could not run (a missing table, a bad column): a
    QueryError in words for `kpi query`, and one of `warehouse.WAREHOUSE_ERRORS` for the
    readers that fall back when a read fails (`kpis.pace.pace_of` without its mart), as
    they do on DuckDB's and PostgreSQL's errors."""


class ReadOnlySparkConnection(SparkConnection):
    """The KPI readers' connection on a Spark Connect session of its own: the surface of
    `SparkConnection` (so `warehouse.is_spark`, `dialect`, `query_polars`, `table_exists`
    treat it as Spark), reads only. Spark Connect has no read-only session and runs a
    command as soon as it sees it, so `execute` refuses, before sending it, a statement
    whose first keyword is not a read's; a WITH, which in Spark SQL may head an INSERT, is
    judged by Spark's parser as well (EXPLAIN, which runs nothing). No transaction, no
    write. Each statement runs at `execute`, its rows fetched whole (the readers' results
    are small), so a failure is a QueryError in words there."""

    def execute(self, sql: str, params: list | tuple | None = None) -> FetchedResult:
        check_reading_statement(sql)
        args = list(params) if params else None
        if first_keyword(sql) == "with":
            check_explained(self._explain_rows, sql, args)
        try:
            return FetchedResult(self._fetch(sql, args))
        except Exception as err:  # pyspark's errors share no base class across its clients
            raise SparkReadError(f"the query failed: {first_line(err)}", SPARK_TABLES_HINT) from err

    def _explain_rows(self, explain: str, args: list | None) -> list:
        return FetchedResult(self._fetch(explain, args)).fetchall()

    def append_frame(self, table: str, frame: pl.DataFrame) -> None:
        raise _refused_write(table)

    def replace_partition(self, table: str, spec: Mapping[str, object]) -> None:
        raise _refused_write(table)

    def _write(self, table: str, writes) -> None:
        raise _refused_write(table)


def _refused_write(table: str) -> QueryError:
    return QueryError(
        f"refused: the KPI readers' connection to the Spark warehouse is read-only; it "
        f"writes nothing to {table}",
        READERS_WRITE_NOTHING,
    )


@contextmanager
def spark_read_only_connection(location: str) -> Iterator[ReadOnlySparkConnection]:
    """A read-only connection (`ReadOnlySparkConnection`) on a session of its own on the
    deployment's Spark server (`spark:<folder>`, `KPI_SPARK_PORT`; started when none runs),
    settled as `kpi query`'s (no file read by its path, the marts' names unqualified),
    stopped on exit; a QueryError in words when there is no warehouse or Spark cannot be
    used."""
    from kpi_pipeline.warehouse import spark

    paths = spark.SparkPaths(spark.spark_dir_of(location))
    if (thrift := thrift_endpoint(paths)) is not None:
        with thrift_reader(thrift) as con:
            yield con
        return
    session = reader_session(paths)
    try:
        settle_reader_session(session)
        yield ReadOnlySparkConnection(session)
    finally:
        session.stop()
