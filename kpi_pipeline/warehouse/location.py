"""Which warehouse `KPI_WAREHOUSE` names: a DuckDB file, a PostgreSQL URL or `spark` (a local
Spark), and nothing else (kept free of heavy imports: the settings read it)."""

from __future__ import annotations

from pathlib import Path

from kpi_pipeline.warehouse.postgres import is_postgres_url
from kpi_pipeline.warehouse.spark import SPARK

# the file names KPI_WAREHOUSE may give a DuckDB warehouse
DUCKDB_SUFFIXES = (".duckdb", ".db")
# a Spark cluster's endpoints: dbt-spark's thrift / http methods and Spark Connect
SPARK_CLUSTER_SCHEMES = ("thrift", "sc", "spark", "http", "https")


def warehouse_location_problem(location: str) -> str | None:
    """Why `KPI_WAREHOUSE` is not a warehouse the pipeline can use, or None: it must be a
    DuckDB file path (`*.duckdb`, `*.db`), a `postgresql://` URL or `spark` (a local Spark
    server under the data directory). Anything else would otherwise become a DuckDB file of
    that name in the working directory. A Spark cluster (`thrift://`, `sc://`) is refused
    in its own words: not built nor tested yet. A URL is named by its scheme only (it may
    carry a password)."""
    if location == SPARK:
        return None
    if is_postgres_url(location) or Path(location).suffix.lower() in DUCKDB_SUFFIXES:
        return None
    scheme = location.split("://", 1)[0].lower() if "://" in location else None
    shown = f"a {scheme}:// URL" if scheme is not None else repr(location)
    if scheme in SPARK_CLUSTER_SCHEMES:
        return (
            f"KPI_WAREHOUSE is {shown}: a Spark cluster (Thrift server, Spark Connect, "
            "Databricks, EMR) is not supported yet, only a local Spark "
            "(KPI_WAREHOUSE=spark): docs/warehouses.md#spark"
        )
    return (
        f"KPI_WAREHOUSE is {shown}, which is not a warehouse this pipeline can use: give a "
        "DuckDB file path ending in .duckdb or .db (KPI_WAREHOUSE=data/warehouse.duckdb), "
        "a PostgreSQL URL (KPI_WAREHOUSE=postgresql://user@host:5432/kpi) or spark (a local "
        "Spark, KPI_WAREHOUSE=spark); other engines (Trino, BigQuery, Snowflake) are not "
        "supported yet: docs/warehouses.md"
    )
