"""The warehouse: a DuckDB file (default), a PostgreSQL database or a local Spark, chosen by
`KPI_WAREHOUSE`.

The Python edges (ingest, quality, publish, CLI readers) use only what this package offers:
`connect`, `con.execute(sql, params)` with `?` placeholders and its `fetchall` / `fetchone`
/ `df`, `query_polars`, `append_frame` and `column_type`; their SQL is standard SQL the
engines run. A DuckDB connection is DuckDB's own; a PostgreSQL one is `PostgresConnection`;
a Spark one is `SparkConnection` (`spark_connection.py`, its writes held until `commit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb
import polars as pl
import psycopg2
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from kpi_pipeline.warehouse import duckdb_file, postgres, spark_connection
from kpi_pipeline.warehouse.postgres import PostgresConnection, is_postgres_url
from kpi_pipeline.warehouse.spark import (
    SparkUnavailableError,
    SparkWarehouseError,
    is_spark_location,
)
from kpi_pipeline.warehouse.spark_connection import SparkConnection

# what a failed statement raises, whichever the warehouse
WAREHOUSE_ERRORS = (duckdb.Error, psycopg2.Error, SparkWarehouseError, SparkUnavailableError)

__all__ = [
    "WAREHOUSE_ERRORS",
    "PostgresConnection",
    "WarehouseResource",
    "append_frame",
    "column_type",
    "connect",
    "dialect",
    "is_postgres",
    "is_postgres_url",
    "is_spark",
    "query_polars",
    "schema_tables",
    "table_exists",
    "unreachable",
    "wait_until_free",
    "warehouse_engine",
]


def warehouse_engine(con) -> dict[str, str]:
    """The engine a connection computes on and its version, as a snapshot's manifest
    records it: `{"engine": "duckdb", "version": "2.0.1"}` or PostgreSQL's server version."""
    if is_postgres(con):
        (version,) = con.execute("show server_version").fetchone()
        return {"engine": "postgres", "version": str(version)}
    if is_spark(con):
        return {"engine": "spark", "version": con.version()}
    return {"engine": "duckdb", "version": duckdb.__version__}


@contextmanager
def connect(location: Path | str, read_only: bool = False) -> Iterator:
    """A connection to the DuckDB file, `postgresql://` URL or Spark folder (`spark:<folder>`)
    `location`, closed on exit (so dbt, another process, can write afterwards); sessions run
    in UTC. On Spark the deployment's server is started when none runs (`KPI_SPARK_PORT`),
    and `read_only` is not enforced."""
    if is_spark_location(str(location)):
        with spark_connection.connect(str(location)) as con:
            yield con
        return
    opener = postgres.connect if is_postgres_url(str(location)) else duckdb_file.connect
    with opener(str(location), read_only=read_only) as con:
        yield con


class WarehouseResource(ConfigurableResource):
    """The warehouse the pipeline writes (`KPI_WAREHOUSE`): a DuckDB file path or a
    `postgresql://user@host:port/db` URL (its password from the `KPI_WAREHOUSE` URL or
    `PGPASSWORD`, see `postgres.connect`).

    With `lock_file`, a run using it holds the writer lock from its start to its end
    (`orchestration/run_guard.py`): one writer at a time, whoever launched the run."""

    path: str
    lock_file: str = ""
    _guard: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if self.lock_file and context.run is not None:
            from kpi_pipeline.orchestration.run_guard import guard_run

            self._guard = guard_run(Path(self.lock_file), context)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._guard is not None:
            self._guard.close()
            self._guard = None

    @contextmanager
    def connection(self) -> Iterator:
        with connect(self.path) as con:
            yield con


def wait_until_free(location: Path | str, on_wait: Callable[[str], None] | None = None) -> None:
    """Before a child process (dbt) opens the DuckDB file: wait, up to `KPI_LOCK_TIMEOUT`,
    while another process holds it (PostgreSQL needs no such wait)."""
    if is_spark_location(str(location)):
        return
    if not is_postgres_url(str(location)) and Path(location).exists():
        duckdb_file.open_waiting(str(location), on_wait=on_wait).close()


def unreachable(location: Path | str) -> str | None:
    """Why a run cannot use the warehouse at `location` now, in words, or None: a PostgreSQL
    server or a Spark endpoint the deployment does not own (`sc://`, `thrift://`) that does
    not answer or refuses the session. Asked before a run starts, so that a warehouse that
    is down is said once, not as each ingest step's retries. A DuckDB file (its lock is
    waited for by `wait_until_free`) and the deployment's own Spark server (which the run
    starts) are not asked."""
    location = str(location)
    if is_spark_location(location):
        return spark_connection.foreign_endpoint_problem(location)
    if not is_postgres_url(location):
        return None
    try:
        with postgres.connect(location):
            return None
    except psycopg2.OperationalError as err:
        words = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return (
            f"the PostgreSQL warehouse {postgres.url_without_password(location)} "
            f"(KPI_WAREHOUSE) does not accept a connection: {words}"
        )


def is_postgres(con) -> bool:
    return isinstance(con, PostgresConnection)


def is_spark(con) -> bool:
    return isinstance(con, SparkConnection)


def dialect(con) -> str:
    """The SQL a connection speaks: `duckdb`, `postgres` or `spark`."""
    return "postgres" if is_postgres(con) else "spark" if is_spark(con) else "duckdb"


def schema_tables(con, schema: str) -> set[str]:
    """The tables (and views) of `schema`, none when it does not exist:
    `information_schema.tables` on DuckDB and PostgreSQL; on Spark, which has none,
    `show schemas` and `show tables in <schema>` (its session's temporary views left out)."""
    if is_spark(con):
        if schema not in {row[0] for row in con.execute("show schemas").fetchall()}:
            return set()
        shown = con.execute(f"show tables in {schema}").fetchall()
        return {name for _, name, temporary in shown if not temporary}
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


def table_exists(con, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (`schema_tables`)."""
    return table in schema_tables(con, schema)


def query_polars(con, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run a query and fetch it whole as a Polars DataFrame."""
    if is_postgres(con) or is_spark(con):
        return con.query_polars(sql, params)
    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())


def append_frame(con, table: str, frame: pl.DataFrame) -> None:
    """Insert every row of `frame` into `table`, columns matched by name (PostgreSQL: one
    `COPY ... FROM STDIN`; DuckDB: one insert from the Arrow data; Spark: a view of the
    Arrow data inserted, at `commit` within a transaction)."""
    if is_spark(con):
        con.append_frame(table, frame)
    elif is_postgres(con):
        con.copy_frame(table, frame)
    else:
        duckdb_file.append_frame(con, table, frame)


def column_type(con, duckdb_type: str) -> str:
    """The column type a DuckDB type name is stored as in this warehouse: the same in DuckDB;
    in PostgreSQL `DOUBLE PRECISION` for DOUBLE and `JSONB` for nested (STRUCT / list) types;
    in Spark its Spark SQL name, nested types nested (`array<struct<...>>`)."""
    if is_spark(con):
        return con.column_type(duckdb_type)
    return postgres.column_type(duckdb_type) if is_postgres(con) else duckdb_type
