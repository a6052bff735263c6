"""Cross-checks of the KPI facts, recomputed from staging independently of the marts' SQL."""

from __future__ import annotations

import datetime as dt

from kpi_pipeline.quality.suites import ExpectationOutcome

FACTS_TABLE = "marts.fct_kpi_daily"
ROLLUP_TABLE = ("marts", "fct_kpi_period")


def _outcome(
    name: str, figure: str, severity: str, mismatches: list[tuple], expected: str, checked: int
) -> ExpectationOutcome:
    return ExpectationOutcome(
        expectation=name,
        column=figure,
        severity=severity,
        success=not mismatches,
        observed={"days_or_rows_checked": checked, "mismatches": len(mismatches)},
        expected=expected,
        unexpected_count=len(mismatches),
        unexpected_sample=[[str(v) for v in row] for row in mismatches[:10]],
    )


def net_revenue_mismatches(
    con,
    first: dt.date,
    last: dt.date,
    timezone: str,
    tolerance: float,
) -> tuple[list[tuple], int]:
    """Days whose net revenue differs from the sum of the net amounts of the orders placed
    that day (latest version of each order, cancelled excluded), from staging."""
    rows = con.execute(
        f"""
        with latest as (
            select *, row_number() over (
                partition by order_id order by extract_date desc, source_row_number desc
            ) as version
            from staging.stg_orders__orders
        ),
        orders_by_day as (
            select cast(timezone(?, placed_at) as date) as day, sum(net_amount) as amount
            from latest where version = 1 and order_status <> 'cancelled'
            group by 1
        )
        select f.kpi_date, f.numerator, coalesce(o.amount, 0)::DOUBLE PRECISION as orders_amount
        from {FACTS_TABLE} as f left join orders_by_day as o on o.day = f.kpi_date
        where f.kpi_id = 'net_revenue' and f.dimension = 'all'
          and f.kpi_date between ? and ?
        order by f.kpi_date""",
        [timezone, first, last],
    ).fetchall()
    return [r for r in rows if r[1] is None or abs(r[1] - r[2]) > tolerance], len(rows)


def session_mismatches(
    con, first: dt.date, last: dt.date, timezone: str
) -> tuple[list[tuple], int]:
    """Days whose session count in the facts differs from the distinct GA4 sessions whose
    first event falls on the day, counted from staging."""
    rows = con.execute(
        f"""
        with sessions as (
            select session_key, cast(timezone(?, min(event_at)) as date) as day
            from staging.stg_ga4__events
            where session_key is not null
            group by session_key
        ),
        by_day as (select day, count(*) as sessions from sessions group by day)
        select f.kpi_date, f.denominator, coalesce(s.sessions, 0) as staging_sessions
        from {FACTS_TABLE} as f left join by_day as s on s.day = f.kpi_date
        where f.kpi_id = 'session_conversion_rate' and f.dimension = 'all'
          and f.kpi_date between ? and ?
        order by f.kpi_date""",
        [timezone, first, last],
    ).fetchall()
    return [r for r in rows if r[1] is None or r[1] != r[2]], len(rows)


def rollup_columns(con) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            list(ROLLUP_TABLE),
        ).fetchall()
    }


def rollup_mismatches(con, first: dt.date, last: dt.date) -> tuple[list[tuple], int] | None:
    """KPI rows lost or duplicated between the daily facts and the period roll-up: for every
    period that overlaps the window, the (kpi, dimension, value) keys of the daily rows inside
    the period must appear exactly once in the period table, and no other key. None when no
    roll-up table (with `period_start` and `period_end`) exists."""
    columns = rollup_columns(con)
    needed = {"period_start", "period_end", "kpi_id", "dimension", "dimension_value"}
    if not needed <= columns:
        return None
    grain = next(
        (c for c in ("period_grain", "grain", "period_type", "period") if c in columns), None
    )
    grain_sql = f"p.{grain}" if grain else "'period'"
    table = ".".join(ROLLUP_TABLE)
    rows = con.execute(
        f"""
        with periods as (
            select distinct {grain_sql} as grain, p.period_start, p.period_end
            from {table} as p
            where p.period_start <= ? and p.period_end >= ?
        ),
        daily_keys as (
            select distinct pr.grain, pr.period_start, d.kpi_id, d.dimension, d.dimension_value
            from periods as pr join {FACTS_TABLE} as d
              on d.kpi_date between pr.period_start and pr.period_end
        ),
        period_keys as (
            select {grain_sql} as grain, p.period_start, p.kpi_id, p.dimension,
                   p.dimension_value, count(*) as copies
            from {table} as p join periods as pr
              on pr.period_start = p.period_start and pr.period_end = p.period_end
             and pr.grain = {grain_sql}
            group by 1, 2, 3, 4, 5
        )
        select coalesce(d.grain, k.grain), coalesce(d.period_start, k.period_start),
               coalesce(d.kpi_id, k.kpi_id), coalesce(d.dimension, k.dimension),
               coalesce(d.dimension_value, k.dimension_value),
               case when k.kpi_id is null then 'lost in the roll-up'
                    when d.kpi_id is null then 'not in the daily facts'
                    else 'duplicated in the roll-up' end as problem
        from daily_keys as d full join period_keys as k
          on d.grain = k.grain and d.period_start = k.period_start and d.kpi_id = k.kpi_id
         and d.dimension = k.dimension and d.dimension_value = k.dimension_value
        where d.kpi_id is null or k.kpi_id is null or k.copies > 1
        order by 1, 2, 3, 4, 5, 6""",
        [last, first],
    ).fetchall()
    checked = con.execute(
        f"select count(*) from {table} where period_start <= ? and period_end >= ?",
        [last, first],
    ).fetchone()[0]
    return rows, checked


def cross_check_outcomes(
    con,
    first: dt.date,
    last: dt.date,
    timezone: str,
    severities: dict[str, str],
    tolerance: float,
) -> list[ExpectationOutcome]:
    revenue, days = net_revenue_mismatches(con, first, last, timezone, tolerance)
    sessions, session_days = session_mismatches(con, first, last, timezone)
    outcomes = [
        _outcome(
            "net_revenue_equals_orders",
            "net_revenue",
            severities.get("net_revenue_equals_orders", "error"),
            revenue,
            f"facts' net revenue = sum of the day's non-cancelled order amounts (+/- {tolerance})"
            " [day, facts, orders]",
            days,
        ),
        _outcome(
            "sessions_equal_staging",
            "session_conversion_rate.denominator",
            severities.get("sessions_equal_staging", "error"),
            sessions,
            "facts' sessions = distinct GA4 sessions starting that day [day, facts, staging]",
            session_days,
        ),
    ]
    rollup = rollup_mismatches(con, first, last)
    if rollup is not None:
        outcomes.append(
            _outcome(
                "rollup_rows_match_daily",
                ".".join(ROLLUP_TABLE),
                severities.get("rollup_rows_match_daily", "error"),
                rollup[0],
                "each daily KPI row's key once in every period containing it, and no other "
                "[grain, period_start, kpi, dimension, value, problem]",
                rollup[1],
            )
        )
    return outcomes
