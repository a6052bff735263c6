"""Which warehouse `KPI_WAREHOUSE` names: a DuckDB file or a PostgreSQL URL, and nothing
else (kept free of heavy imports: the settings read it)."""

from __future__ import annotations

from pathlib import Path

from kpi_pipeline.warehouse.postgres import is_postgres_url

# the file names KPI_WAREHOUSE may give a DuckDB warehouse
DUCKDB_SUFFIXES = (".duckdb", ".db")


def warehouse_location_problem(location: str) -> str | None:
    """Why `KPI_WAREHOUSE` is not a warehouse the pipeline can use, or None: it must be a
    DuckDB file path (`*.duckdb`, `*.db`) or a `postgresql://` URL. Anything else (`spark`,
    `thrift://...`) would otherwise become a DuckDB file of that name in the working
    directory. A URL is named by its scheme only (it may carry a password)."""
    if is_postgres_url(location) or Path(location).suffix.lower() in DUCKDB_SUFFIXES:
        return None
    shown = f"a {location.split('://', 1)[0]}:// URL" if "://" in location else repr(location)
    return (
        f"KPI_WAREHOUSE is {shown}, which is not a warehouse this pipeline can use: give a "
        "DuckDB file path ending in .duckdb or .db (KPI_WAREHOUSE=data/warehouse.duckdb) or "
        "a PostgreSQL URL (KPI_WAREHOUSE=postgresql://user@host:5432/kpi); other engines "
        "(Spark, Trino, BigQuery, Snowflake) are not supported yet: docs/warehouses.md"
    )
