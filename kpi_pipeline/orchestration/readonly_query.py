"""Read-only SQL against the warehouse (`kpi query`, `kpi show`): one reading statement, on
a connection that cannot reach anything but the warehouse, within a time and memory limit.

DuckDB: the file is opened read-only with DuckDB's own guards (no file but the warehouse's
own, no extensions, no Python objects, no spilling to disk, settings locked) before any of
the analyst's SQL is seen. PostgreSQL: `readonly_postgres`. Spark: `readonly_spark`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from kpi_pipeline.orchestration.query_guard import (
    READ_HINT,
    QueryError,
    check_duckdb_statement,
    first_line,
)
from kpi_pipeline.orchestration.query_limits import (
    QueryLimits,
    ResultTooLarge,
    memory_error,
    result_too_large_error,
    stop_after,
    timeout_error,
    within_size,
)
from kpi_pipeline.orchestration.readonly_postgres import (
    postgres_read_only_connection,
    postgres_read_only_query,
    unique_names,
)
from kpi_pipeline.orchestration.readonly_spark import (
    no_spark_warehouse,
    spark_read_only_connection,
    spark_read_only_query_at,
)
from kpi_pipeline.warehouse import is_postgres_url
from kpi_pipeline.warehouse.duckdb_file import lock_conflict
from kpi_pipeline.warehouse.lock import WarehouseBusyError, hold, lock_path
from kpi_pipeline.warehouse.spark import SparkPaths, is_spark_location, spark_dir_of

__all__ = ["QueryError", "QueryLimits", "read_only_connection", "read_only_query"]

# unqualified names resolve to the marts, then the published views (those that exist)
SEARCH_SCHEMAS = ("marts", "publish")
# a query shares the machine with the pipeline's runs
QUERY_THREADS = 2
BATCH_ROWS = 65_536
TABLES_HINT = (
    'list the tables with: kpi query "select table_schema, table_name '
    'from information_schema.tables"'
)
_QUOTED = re.compile(r'"([^"]*)"')
_MISSING_TABLE = re.compile(r"Table with name (.+?) does not exist")
_LOOKS_LIKE_A_FILE = re.compile(r"[/\\:~]|\.\w+$")


def duckdb_guards(limits: QueryLimits) -> dict[str, object]:
    """The connection's configuration, fixed before the database starts. Without external
    access DuckDB opens no file but the warehouse and its WAL (its own `allowed_paths`; no
    `allowed_directories`, as the warehouse's folder also holds the PII key), installs and
    loads no extension and scans no Python object; with no temp directory it never spills
    to disk, so a query over the memory limit stops instead."""
    return {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
        "allow_persistent_secrets": False,
        "temp_directory": "",
        "memory_limit": f"{limits.memory_bytes}B",
        "threads": QUERY_THREADS,
    }


@contextmanager
def read_only_connection(
    warehouse: Path | str,
    limits: QueryLimits | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator:
    """A read-only connection to `warehouse` (a DuckDB file, guarded as above; a
    `postgresql://` URL: a session whose transactions are read-only; a `spark:` folder: a
    session of its own on the deployment's Spark server that sends reads only,
    `readonly_spark.ReadOnlySparkConnection`), or a QueryError saying why there is none.
    On DuckDB and Spark the reader holds the writer lock shared (`warehouse/lock.py`): it
    waits, telling `on_wait`, while a run writes, and a run waits for it;
    `WarehouseBusyError` when the wait runs out (`KPI_LOCK_TIMEOUT`). Spark has no
    transactions: without the lock a reader could see a run's marts half rewritten."""
    if is_spark_location(str(warehouse)):
        spark_dir = spark_dir_of(str(warehouse))
        if problem := no_spark_warehouse(SparkPaths(spark_dir)):
            raise problem  # before the lock: nothing is created for a missing warehouse
        with (
            hold(lock_path(spark_dir.parent), exclusive=False, on_wait=on_wait),
            spark_read_only_connection(str(warehouse)) as con,
        ):
            yield con
        return
    if is_postgres_url(str(warehouse)):
        with postgres_read_only_connection(str(warehouse)) as con:
            yield con
        return
    warehouse = Path(warehouse)
    with hold(lock_path(warehouse.parent), exclusive=False, on_wait=on_wait):
        con = _open_duckdb(warehouse, limits or QueryLimits())
        try:
            yield con
        finally:
            con.close()


def read_only_query(
    warehouse: Path | str,
    sql: str,
    limits: QueryLimits | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> pl.DataFrame:
    """The result of one reading statement on `warehouse` (a DuckDB file, a
    `postgresql://` URL or a `spark:` folder, whose dialect the SQL is in), within `limits`;
    a QueryError in plain words for anything refused, stopped or failed."""
    limits = limits or QueryLimits()
    if is_spark_location(str(warehouse)):
        return spark_read_only_query_at(str(warehouse), sql, limits)
    if is_postgres_url(str(warehouse)):
        return postgres_read_only_query(str(warehouse), sql, limits)
    with read_only_connection(warehouse, limits, on_wait) as con:
        check_duckdb_statement(con, sql)
        return _duckdb_result(con, sql, limits)


def _open_duckdb(warehouse: Path, limits: QueryLimits) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise QueryError(
            f"no warehouse at {warehouse}",
            "build one with kpi run / kpi backfill, or point KPI_WAREHOUSE at it",
        )
    try:
        con = duckdb.connect(str(warehouse), read_only=True, config=duckdb_guards(limits))
    except duckdb.IOException as err:
        holder = lock_conflict(err)
        if holder is None:
            raise QueryError(f"cannot open the warehouse {warehouse}: {err}", TABLES_HINT) from err
        raise WarehouseBusyError(
            f"the warehouse {warehouse} is busy: {holder} is writing it"
        ) from None
    try:
        _settle_session(con)
        _require_guards(con)
    except BaseException:
        con.close()
        raise
    return con


def _settle_session(con: duckdb.DuckDBPyConnection) -> None:
    """The settings DuckDB cannot take before it starts (the time zone needs its ICU
    extension; the search path, schemas that exist), then the lock on every setting, so
    nothing the analyst sends can change them."""
    con.execute("set TimeZone = 'UTC'")
    schemas = {
        name
        for (name,) in con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database()"
        ).fetchall()
    }
    path = search_path(schemas)
    if path:
        con.execute(f"set search_path = '{path}'")
    con.execute("set lock_configuration = true")


def search_path(schemas: set[str]) -> str:
    """`marts,publish`, without the schemas a warehouse lacks (DuckDB refuses a search path
    naming a missing schema; a new warehouse may have no publish views yet)."""
    return ",".join(name for name in SEARCH_SCHEMAS if name in schemas)


def _require_guards(con: duckdb.DuckDBPyConnection) -> None:
    """Run nothing on a connection whose guards did not take (a DuckDB whose settings
    changed meaning would otherwise open everything silently)."""
    [(external, locked, temp)] = con.execute(
        "select current_setting('enable_external_access'), "
        "current_setting('lock_configuration'), current_setting('temp_directory')"
    ).fetchall()
    if external or not locked or temp:
        raise QueryError(
            "the warehouse could not be opened with kpi query's guards",
            "report this; meanwhile use DuckDB's CLI with -readonly",
        )


def _duckdb_result(con: duckdb.DuckDBPyConnection, sql: str, limits: QueryLimits) -> pl.DataFrame:
    """Stream the result in Arrow batches, stopped by the timeout (DuckDB's interrupt) or
    once the batches outgrow the memory limit (DuckDB's own limit does not count them)."""
    with stop_after(limits.timeout_seconds, con.interrupt) as stopped:
        try:
            relation = con.sql(sql)
            if relation is None:
                raise QueryError(
                    "refused: the statement returns no rows; it is not a read", READ_HINT
                )
            reader = relation.to_arrow_reader(BATCH_ROWS)
            batches = within_size(reader, lambda batch: batch.nbytes, limits.memory_bytes)
            table = pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.Error as err:
            raise duckdb_query_error(err, limits, stopped.is_set()) from err
        except ResultTooLarge as err:
            raise result_too_large_error(limits) from err
    return pl.from_arrow(table.rename_columns(unique_names(table.column_names)))


def duckdb_query_error(err: duckdb.Error, limits: QueryLimits, stopped: bool) -> QueryError:
    """What a failed query tells the analyst: stopped by a limit, refused by a guard (with
    the path it tried, never what the path holds), or failed."""
    line = first_line(err)
    if isinstance(err, duckdb.InterruptException):
        if stopped:
            return timeout_error(limits)
        return QueryError("the query was interrupted", "run it again")
    if isinstance(err, duckdb.OutOfMemoryException):
        return memory_error(limits)
    if isinstance(err, duckdb.PermissionException) or "disabled by" in line:
        quoted = _QUOTED.search(line)
        target = f'it may not open "{quoted.group(1)}"' if quoted else line
        return QueryError(
            f"refused: kpi query reads only the warehouse, not files or extensions; {target}",
            "query the marts, e.g. select * from fct_kpi_daily",
        )
    if "configuration has been locked" in line:
        return QueryError(
            "refused: kpi query's settings (memory, time zone, file access) are fixed",
            "use --memory-limit / --timeout; other settings cannot change",
        )
    if "read-only mode" in line:
        return QueryError("refused: the warehouse is read-only for kpi query", READ_HINT)
    missing = _MISSING_TABLE.search(line)
    if missing and _LOOKS_LIKE_A_FILE.search(missing.group(1)):
        return QueryError(
            "refused: kpi query reads only the warehouse's tables, not files such as "
            f"{missing.group(1)}",
            TABLES_HINT,
        )
    return QueryError(f"the query failed: {line}", TABLES_HINT)
