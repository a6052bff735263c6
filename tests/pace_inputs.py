"""The tables fct_kpi_pace reads, empty, in a DuckDB file of a test's own: the daily facts
and the GA4 sessions its distinct counts are recounted from (the marts' and intermediate
models' columns, so that dbt can build the pace alone on hand-made rows)."""

from __future__ import annotations

import duckdb


def create_pace_inputs(con: duckdb.DuckDBPyConnection) -> None:
    for schema in ("marts", "intermediate"):
        con.execute(f"create schema {schema}")
    con.execute(
        "create table marts.fct_kpi_daily (kpi_date date, kpi_id varchar, dimension "
        "varchar, dimension_value varchar, numerator double, denominator double, "
        "value double)"
    )
    con.execute(
        "create table intermediate.int_ga4__sessions (session_key varchar, "
        "user_pseudo_id varchar, session_started_at timestamptz, session_date date, "
        "session_source varchar, session_medium varchar, session_campaign varchar, "
        "country varchar, device_category varchar, events bigint, is_converted boolean, "
        "channel varchar)"
    )
