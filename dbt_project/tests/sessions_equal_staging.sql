{#- Cross-check (quality.yml `cross_checks`): the sessions of each day in the KPI facts (the
    session conversion rate's denominator) equal the distinct GA4 sessions whose first event
    falls on that day (in the reporting timezone), counted from staging apart from the
    marts' SQL. Only the days of the run's window (macros/partition_window.sql), their
    sessions' starts found among the events extracted from a week before it on (a daily
    run reads its days, not the whole history; int_ga4__sessions looks one day back, so a
    session it started too late would show here); a day
    without data (its GA4 export missing: no denominator) is not a mismatch. A failing row
    names the day and the two counts (`meta.failing_row`, kpi_pipeline/quality/dbt_failures.py). -#}
{{ config(
    severity=cross_check_setting('sessions_equal_staging', 'error'),
    store_failures=true,
    meta={
        'dagster': {'ref': {'name': 'fct_kpi_daily'}},
        'description': "Sessions in marts.fct_kpi_daily = the distinct GA4 sessions starting that day, counted from staging.",
        'failing_row': "sessions of {kpi_date}: {facts_sessions} in marts.fct_kpi_daily, but {staging_sessions} distinct GA4 sessions started that day (staging.stg_ga4__events)",
    },
) }}

with session_starts as (
    select
        session_key,
        min(event_at) as started_at
    from {{ ref('stg_ga4__events') }}
    where
        session_key is not null
        and extract_date >= cast({{ window_start() }} - interval '7 day' as date)
    group by session_key
),

sessions_by_day as (
    select
        {{ local_date('started_at') }} as session_date,
        count(*) as sessions
    from session_starts
    group by {{ local_date('started_at') }}
),

facts as (
    select
        kpi_date,
        denominator
    from {{ ref('fct_kpi_daily') }}
    where
        kpi_id = 'session_conversion_rate'
        and dimension = 'all'
        and denominator is not null
        and {{ in_window('kpi_date') }}
)

select
    facts.kpi_date,
    facts.denominator as facts_sessions,
    coalesce(sessions_by_day.sessions, 0) as staging_sessions
from facts
left join sessions_by_day on facts.kpi_date = sessions_by_day.session_date
where facts.denominator <> coalesce(sessions_by_day.sessions, 0)
order by facts.kpi_date
