"""The floors a stage is compared with: DuckDB alone reading a day's raw files (I/O floor),
and one hand-written DuckDB query computing the main KPI facts from them (SQL floor)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

# (table, source folder, file glob, reader) of one extract day; GA4 as NDJSON or Parquet
# (`kpi bench --ga4-format`), the pipeline reading whichever the day has
RAW_FILES = (
    ("ga4_events", "ga4", "events_*.json", "read_json"),
    ("ga4_events", "ga4", "events_*.parquet", "read_parquet"),
    ("hubspot_contacts", "hubspot", "contacts.csv", "read_csv"),
    ("hubspot_deals", "hubspot", "deals.csv", "read_csv"),
    ("ads_spend", "ads", "spend.csv", "read_csv"),
    ("social_posts", "social", "posts.csv", "read_csv"),
    ("nps_responses", "nps", "responses.csv", "read_csv"),
    ("orders", "orders", "orders.csv", "read_csv"),
)

# The KPIs the SQL floor computes (the main ones; the rest need CRM history, attribution
# or the channel grouping seed, see docs/benchmarks.md).
SQL_FLOOR_KPIS = (
    "session_conversion_rate",
    "user_conversion_rate",
    "organic_traffic",
    "net_revenue",
    "average_order_value",
    "avg_order_processing_hours",
    "nps",
    "social_engagement_rate",
)


@dataclass(frozen=True)
class FloorTiming:
    seconds: float
    rows: int


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def day_files(landing: Path, day: dt.date) -> list[tuple[str, list[Path], str]]:
    """(table, files, reader) of the day's extracts that exist."""
    found = []
    for table, source, pattern, reader in RAW_FILES:
        files = sorted((landing / source / f"dt={day.isoformat()}").glob(pattern))
        if files:
            found.append((table, files, reader))
    return found


def load_raw_tables(con: duckdb.DuckDBPyConnection, landing: Path, day: dt.date) -> FloorTiming:
    """The I/O floor: each of the day's files read by DuckDB into a table of its own (GA4's
    export: its NDJSON with `read_json`, or its Parquet with `read_parquet`)."""
    started = time.perf_counter()
    rows = 0
    for table, files, reader in day_files(landing, day):
        paths = "[" + ", ".join(_sql_text(str(f)) for f in files) + "]"
        options = ", format = 'newline_delimited'" if reader == "read_json" else ""
        if reader == "read_parquet":
            options = ", hive_partitioning = false"
        con.execute(f"create or replace table {table} as select * from {reader}({paths}{options})")
        rows += con.execute(f"select count(*) from {table}").fetchone()[0]
    return FloorTiming(time.perf_counter() - started, rows)


def _param(key: str, kind: str = "string_value") -> str:
    return f"list_extract(list_filter(event_params, lambda p: p.key = '{key}'), 1).value.{kind}"


def kpi_facts_sql(day: dt.date) -> str:
    """One query: the day's facts (kpi_id, dimension, dimension_value, numerator,
    denominator) of `SQL_FLOOR_KPIS`, from the raw tables `load_raw_tables` made."""
    d = f"date '{day.isoformat()}'"
    return f"""
with events as (
    select
        user_pseudo_id,
        event_name,
        geo.country as country,
        to_timestamp(cast(event_timestamp as bigint) / 1000000.0) as event_at,
        cast({_param("ga_session_id", "int_value")} as bigint) as session_id,
        lower({_param("medium")}) as medium
    from ga4_events
),
sessions as (
    select
        user_pseudo_id,
        cast(timezone('UTC', min(event_at)) as date) as session_date,
        arg_min(country, event_at) as country,
        arg_min(medium, event_at) filter (where medium is not null) as medium,
        bool_or(event_name = 'purchase') as converted
    from events
    group by user_pseudo_id, session_id
),
day_sessions as (select * from sessions where session_date = {d}),
orders_latest as (
    select
        order_id,
        cast(timezone('UTC', placed_at) as date) as placed_date,
        cast(timezone('UTC', first_fulfilled) as date) as fulfilled_date,
        epoch_us(first_fulfilled) - epoch_us(placed_at) as processing_us,
        lower(status) = 'cancelled' as cancelled,
        cast(net_amount as decimal(18, 6)) as net_amount
    from (
        select *, min(fulfilled_at) over (partition by order_id) as first_fulfilled
        from orders
    )
    qualify row_number() over (partition by order_id order by placed_at desc) = 1
),
nps as (
    select distinct on (response_id) response_id, score,
        cast(timezone('UTC', submitted_at) as date) as submitted_date
    from nps_responses
),
posts as (
    select distinct on (post_id) post_id, platform, "date" as post_date,
        likes + comments + shares as engagements, impressions
    from social_posts
)
select 'session_conversion_rate' as kpi_id, 'all' as dimension, 'all' as dimension_value,
    count(*) filter (where converted)::double as numerator, count(*)::double as denominator
from day_sessions
union all
select 'session_conversion_rate', 'country', coalesce(country, '(not set)'),
    count(*) filter (where converted), count(*)
from day_sessions group by all
union all
select 'user_conversion_rate', 'all', 'all',
    count(distinct user_pseudo_id) filter (where converted), count(distinct user_pseudo_id)
from day_sessions
union all
select 'organic_traffic', 'all', 'all', count(*) filter (where medium = 'organic'), null
from day_sessions
union all
select 'net_revenue', 'all', 'all', coalesce(sum(net_amount), 0), null
from orders_latest where placed_date = {d} and not cancelled
union all
select 'average_order_value', 'all', 'all', coalesce(sum(net_amount), 0), count(*)
from orders_latest where placed_date = {d} and not cancelled
union all
select 'avg_order_processing_hours', 'all', 'all',
    coalesce(sum(processing_us), 0) / 3600000000.0, count(*)
from orders_latest where fulfilled_date = {d} and not cancelled
union all
select 'nps', 'all', 'all',
    coalesce(sum(case when score >= 9 then 1 when score <= 6 then -1 else 0 end), 0), count(*)
from nps where submitted_date = {d}
union all
select 'social_engagement_rate', 'all', 'all',
    coalesce(sum(engagements), 0), coalesce(sum(impressions), 0)
from posts where post_date = {d}
"""


def kpi_facts(con: duckdb.DuckDBPyConnection, day: dt.date) -> tuple[FloorTiming, list[tuple]]:
    """The SQL floor: `kpi_facts_sql` materialised as a table; its time and its rows."""
    started = time.perf_counter()
    con.execute(f"create or replace table floor_kpi_facts as {kpi_facts_sql(day)}")
    seconds = time.perf_counter() - started
    rows = con.execute("select * from floor_kpi_facts order by all").fetchall()
    return FloorTiming(seconds, len(rows)), rows


def measure_floors(
    landing: Path, day: dt.date, threads: int | None = None
) -> tuple[FloorTiming, FloorTiming, list[tuple]]:
    """(I/O floor, SQL floor, the floor's KPI facts) of one day, in a fresh in-memory DuckDB."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        if threads:
            con.execute(f"set threads = {int(threads)}")
        io = load_raw_tables(con, landing, day)
        if not day_files(landing, day):
            return io, FloorTiming(0.0, 0), []
        sql, facts = kpi_facts(con, day)
        return io, sql, facts
    finally:
        con.close()
