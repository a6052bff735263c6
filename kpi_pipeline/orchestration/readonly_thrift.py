"""Read-only SQL on a Spark Thrift Server (`KPI_WAREHOUSE=thrift://HOST:PORT`): the KPI
readers' connection (`ReadOnlySparkConnection`'s checks over `ThriftConnection`'s cursor) and
`kpi query` (`spark_read_only_query`'s steps: Spark's parser judges the statement, then it
runs within the time limit, cancelled past it, and its result within the memory limit).

The same guard as on Spark Connect: a statement is judged before it is sent (its first
keyword, EXECUTE IMMEDIATE, Spark's EXPLAIN plan); the session reads no file by its path
(`spark.sql.runSQLOnFiles=false`, set when it opens) and its current schema is the marts.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pyarrow as pa

from kpi_pipeline.orchestration.query_guard import QueryError, first_line
from kpi_pipeline.orchestration.query_limits import (
    QueryLimits,
    ResultTooLarge,
    result_too_large_error,
    timeout_error,
    within_size,
)
from kpi_pipeline.orchestration.readonly_postgres import unique_names
from kpi_pipeline.orchestration.readonly_spark import (
    BATCH_ROWS,
    SEARCH_SCHEMA,
    SPARK_TABLES_HINT,
    ReadOnlySparkConnection,
    check_explained,
)
from kpi_pipeline.warehouse import spark
from kpi_pipeline.warehouse.spark_thrift_connection import (
    StatementTimedOut,
    ThriftConnection,
    thrift_session,
)


class ReadOnlyThriftConnection(ReadOnlySparkConnection, ThriftConnection):
    """The KPI readers' connection on a Spark Thrift Server: reads only, as on Spark
    Connect (`ReadOnlySparkConnection`), through a PyHive cursor (`ThriftConnection`)."""


def read_only_thrift_connection(
    endpoint: spark.SparkEndpoint, reader_conf: Mapping[str, str]
) -> ReadOnlyThriftConnection:
    """A reader's session of its own on the Thrift Server: the pipeline's session settings
    and the reader's (`reader_conf`), its current schema the marts when they exist."""
    session = thrift_session(endpoint, {**spark.SESSION_CONF, **reader_conf})
    con = ReadOnlyThriftConnection(session, staging=None)
    try:
        schemas = {row[0] for row in con.execute("show schemas").fetchall()}
        if SEARCH_SCHEMA in schemas:
            con._command(f"use {SEARCH_SCHEMA}")
    except BaseException:
        con.close()
        raise
    return con


def thrift_read_only_query(
    con: ReadOnlyThriftConnection, sql: str, limits: QueryLimits | None = None
) -> pl.DataFrame:
    """One reading statement's result on the readers' Thrift connection: judged by Spark's
    parser first, cancelled past the time limit, refused once its rows outgrow the memory
    limit (judged after they are fetched, as on Spark Connect); a QueryError in words."""
    limits = limits or QueryLimits()
    check_explained(con._explain_rows, sql)
    try:
        table = con._fetch(sql, timeout=limits.timeout_seconds)
        batches = within_size(table.to_batches(BATCH_ROWS), lambda b: b.nbytes, limits.memory_bytes)
        table = pa.Table.from_batches(batches, schema=table.schema)
    except ResultTooLarge as err:
        raise result_too_large_error(limits) from err
    except StatementTimedOut as err:
        raise timeout_error(limits) from err
    except Exception as err:
        raise QueryError(f"the query failed: {first_line(err)}", SPARK_TABLES_HINT) from err
    return pl.from_arrow(table.rename_columns(unique_names(table.column_names)))
