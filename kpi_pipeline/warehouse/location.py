"""Which warehouse `KPI_WAREHOUSE` names: a DuckDB file, a PostgreSQL URL or Spark (`spark`, a
standalone master `spark://...`, a Spark Connect endpoint `sc://...`, a Spark Thrift Server
`thrift://...`), and nothing else (kept
free of heavy imports: the settings read it)."""

from __future__ import annotations

from pathlib import Path

from kpi_pipeline.warehouse.postgres import is_postgres_url
from kpi_pipeline.warehouse.spark import is_spark_warehouse, spark_warehouse_problem

# the file names KPI_WAREHOUSE may give a DuckDB warehouse
DUCKDB_SUFFIXES = (".duckdb", ".db")
# Spark endpoints dbt-spark reaches by its http method (Databricks SQL warehouses, a Thrift
# Server in HTTP mode): the pipeline's own connection speaks Spark Connect and binary Thrift
SPARK_SQL_SCHEMES = ("http", "https")


def warehouse_location_problem(location: str) -> str | None:
    """Why `KPI_WAREHOUSE` is not a warehouse the pipeline can use, or None: it must be a
    DuckDB file path (`*.duckdb`, `*.db`), a `postgresql://` URL, `spark` (a local Spark
    server under the data directory), `spark://HOST:PORT` (that server running its work on
    a standalone cluster), `sc://HOST:PORT[/;params]` (a Spark Connect endpoint the
    deployment does not own) or `thrift://HOST:PORT` (a Spark Thrift Server it does not
    own). Anything else would otherwise become a DuckDB file of that name in the working
    directory. An HTTP Spark endpoint is refused in its own words. A URL is named by its
    scheme only (it may carry a password)."""
    if is_spark_warehouse(location):
        return spark_warehouse_problem(location)
    if is_postgres_url(location) or Path(location).suffix.lower() in DUCKDB_SUFFIXES:
        return None
    scheme = location.split("://", 1)[0].lower() if "://" in location else None
    shown = f"a {scheme}:// URL" if scheme is not None else repr(location)
    if scheme in SPARK_SQL_SCHEMES:
        return (
            f"KPI_WAREHOUSE is {shown}: a Spark endpoint over HTTP (a Databricks SQL "
            "warehouse, a Thrift Server in HTTP mode) is not one this pipeline can use: give "
            "the cluster's Spark Connect endpoint (KPI_WAREHOUSE=sc://HOST:15002, Databricks "
            "Connect: sc://HOST:443/;use_ssl=true;token=...), its Spark Thrift Server in "
            "binary mode (KPI_WAREHOUSE=thrift://HOST:10000) or its standalone master "
            "(KPI_WAREHOUSE=spark://HOST:7077): docs/warehouses.md#a-spark-cluster"
        )
    return (
        f"KPI_WAREHOUSE is {shown}, which is not a warehouse this pipeline can use: give a "
        "DuckDB file path ending in .duckdb or .db (KPI_WAREHOUSE=data/warehouse.duckdb), "
        "a PostgreSQL URL (KPI_WAREHOUSE=postgresql://user@host:5432/kpi), spark (a local "
        "Spark, KPI_WAREHOUSE=spark), a Spark master (spark://HOST:7077), a Spark Connect "
        "endpoint (sc://HOST:15002) or a Spark Thrift Server (thrift://HOST:10000); other "
        "engines (Trino, BigQuery, Snowflake) are not "
        "supported yet: docs/warehouses.md"
    )
