"""GA4's export in the format the benchmark measures: the sample writes NDJSON (GA4's
BigQuery export as JSON lines); many teams copy the export out as Parquet instead."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

GA4_FORMATS = ("ndjson", "parquet")

# The BigQuery export's types for the fields the sample writes: INT64 as BIGINT (the JSON
# export writes them as strings), the nested records as structs, event_params as a list.
GA4_EXPORT_COLUMNS: dict[str, str] = {
    "event_date": "VARCHAR",
    "event_timestamp": "BIGINT",
    "event_name": "VARCHAR",
    "user_pseudo_id": "VARCHAR",
    "event_params": (
        "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT,"
        " float_value DOUBLE, double_value DOUBLE))[]"
    ),
    "traffic_source": "STRUCT(name VARCHAR, medium VARCHAR, source VARCHAR)",
    "geo": "STRUCT(country VARCHAR)",
    "device": "STRUCT(category VARCHAR)",
    "ecommerce": "STRUCT(purchase_revenue DOUBLE, transaction_id VARCHAR)",
}


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ga4_day_folder(landing: Path, day: dt.date) -> Path:
    return landing / "ga4" / f"dt={day.isoformat()}"


def ga4_file(landing: Path, day: dt.date, ga4_format: str) -> Path:
    """The day's GA4 export file as the sample names it, in `ga4_format`."""
    suffix = "parquet" if ga4_format == "parquet" else "json"
    return ga4_day_folder(landing, day) / f"events_{day:%Y%m%d}.{suffix}"


def read_ga4_sql(path: Path) -> str:
    """A DuckDB table expression reading one GA4 export file (NDJSON or Parquet) with the
    export's types; the `dt=` folder is not read as a column."""
    if path.name.endswith(".parquet"):
        return f"read_parquet({sql_text(str(path))}, hive_partitioning = false)"
    columns = "{" + ", ".join(f"{k}: {sql_text(v)}" for k, v in GA4_EXPORT_COLUMNS.items()) + "}"
    return (
        f"read_json({sql_text(str(path))}, format = 'newline_delimited', "
        f"hive_partitioning = false, columns = {columns})"
    )


def write_parquet(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> None:
    """`select` into a Parquet file at `path`, through a temporary sibling (readers never see
    half a file); rows keep their order."""
    tmp = path.with_name(f".{path.name}.tmp")
    con.execute(f"copy ({select}) to {sql_text(str(tmp))} (format parquet, compression zstd)")
    tmp.replace(path)


def convert_ga4_to_parquet(landing: Path, day: dt.date) -> Path:
    """The day's NDJSON export rewritten as `events_YYYYMMDD.parquet` (the export's nested
    schema and types kept), the NDJSON removed; returns the Parquet file."""
    source = ga4_file(landing, day, "ndjson")
    target = ga4_file(landing, day, "parquet")
    con = duckdb.connect()
    try:
        write_parquet(con, f"select * from {read_ga4_sql(source)}", target)
    finally:
        con.close()
    source.unlink()
    return target
