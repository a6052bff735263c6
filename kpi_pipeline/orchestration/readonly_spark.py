"""Read-only SQL on the Spark warehouse (`kpi query` on `KPI_WAREHOUSE=spark`): one reading
statement, judged by Spark's own parser before it is sent (`query_guard_spark`), on a
session of its own that cannot read files by path, within a time and a result-size limit.

Each query has a Spark Connect session of its own on the deployment's server (started when
none runs, as `warehouse.connect` does), so the settings made here stay in it and end with
it. pyspark is imported only through `spark_connection` (an optional extra).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from kpi_pipeline.orchestration.query_guard import QueryError, first_line
from kpi_pipeline.orchestration.query_guard_spark import (
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

# the reader's session settings: no `format`.`path` tables (Spark would read the file)
READER_CONF = {"spark.sql.runSQLOnFiles": "false"}
BATCH_ROWS = 65_536


# unqualified names resolve in the marts, as on DuckDB (Spark has one current schema)
SEARCH_SCHEMA = "marts"
SPARK_TABLES_HINT = 'list the tables with: kpi query "show tables in marts"'


def settle_reader_session(session) -> None:
    for key, value in READER_CONF.items():
        session.conf.set(key, value)
    if session.catalog.databaseExists(SEARCH_SCHEMA):
        session.catalog.setCurrentDatabase(SEARCH_SCHEMA)


def spark_read_only_query_at(location: str, sql: str, limits: QueryLimits) -> pl.DataFrame:
    """`spark_read_only_query` on a session of its own on the Spark warehouse `location`
    (`spark:<folder>`, its server on `KPI_SPARK_PORT`); a QueryError when Spark cannot be
    used (the extra or Java missing, the port held by another server)."""
    from kpi_pipeline.warehouse import spark
    from kpi_pipeline.warehouse.spark_connection import deployment_session

    paths = spark.SparkPaths(spark.spark_dir_of(location))
    try:
        session = deployment_session(paths, spark.spark_port())
    except spark.SparkUnavailableError as err:
        raise QueryError(str(err), "see docs/warehouses.md#spark") from None
    try:
        return spark_read_only_query(session, sql, limits)
    finally:
        session.stop()


def check_on_spark(session, sql: str) -> None:
    """Refuse (QueryError) `sql` unless Spark parses it as one read; nothing of it runs."""
    check_spark_text(sql)
    try:
        [(explained,)] = session.sql(explain_statement(sql)).collect()
    except Exception as err:  # pyspark's errors share no base class across its clients
        raise QueryError(
            f"the SQL does not parse: {first_line(err)}",
            "check the SQL (one statement); Spark's dialect: "
            "https://spark.apache.org/docs/latest/sql-ref.html",
        ) from err
    check_spark_statement(explained)


def spark_read_only_query(session, sql: str, limits: QueryLimits | None = None) -> pl.DataFrame:
    """The result of one reading statement, checked first, stopped by the time limit (Spark
    Connect's interrupt of the session's operations); refused once its Arrow batches outgrow
    the memory limit. Spark Connect hands the result over whole, so that size is judged
    after the fetch, not during it as on DuckDB; a QueryError in plain words otherwise."""
    limits = limits or QueryLimits()
    settle_reader_session(session)
    check_on_spark(session, sql)
    with stop_after(limits.timeout_seconds, session.interruptAll) as stopped:
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
