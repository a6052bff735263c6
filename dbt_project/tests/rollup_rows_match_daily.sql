{#- Cross-check (quality.yml `cross_checks`): the period roll-up neither loses nor
    duplicates KPI rows. For every week, month, quarter and year that holds a day of the
    run's window (macros/partition_window.sql), or that marts.fct_kpi_period holds over the
    window, each (KPI, dimension, value) of the daily facts inside the period is in
    fct_kpi_period exactly once, and fct_kpi_period has no other. A failing row names the
    period, the KPI row and the problem (`meta.failing_row`,
    kpi_pipeline/quality/dbt_failures.py). When fct_kpi_period is not built (a hand-run
    `dbt build --select +fct_kpi_daily`), there is nothing to compare. -#}
{{ config(
    severity=cross_check_setting('rollup_rows_match_daily', 'error'),
    store_failures=true,
    meta={
        'dagster': {'ref': {'name': 'fct_kpi_daily'}},
        'description': "Every KPI row of marts.fct_kpi_daily once in each period of marts.fct_kpi_period that contains its day, and no other row there.",
        'failing_row': "{kpi_id} ({dimension} {dimension_value}) in the {period_grain} from {period_start}: {problem} (marts.fct_kpi_period)",
    },
) }}
-- noqa: disable=LT02
-- (sqlfluff would indent the SQL inside the Jinja if block)
{%- set rollup = ref('fct_kpi_period') %}
{%- if is_built(rollup) %}

with grains as (
    select grain_names.period_grain
    from (values ('week'), ('month'), ('quarter'), ('year')) as grain_names (period_grain)
),

daily as (
    select
        kpi_date,
        kpi_id,
        dimension,
        dimension_value
    from {{ ref('fct_kpi_daily') }}
),

-- the periods to compare: those holding a day of the window in the daily facts (weeks
-- start on Monday), and those the roll-up holds over the window
periods as (
    select distinct
        grains.period_grain,
        cast(date_trunc(grains.period_grain, cast(daily.kpi_date as timestamp)) as date) as period_start
    from daily
    cross join grains
    where {{ in_window('daily.kpi_date') }}
    union
    select distinct
        period_grain,
        period_start
    from {{ rollup }}
    where period_start < {{ window_end() }} and period_end >= {{ window_start() }}
),

daily_keys as (
    select distinct
        periods.period_grain,
        periods.period_start,
        daily.kpi_id,
        daily.dimension,
        daily.dimension_value
    from daily
    cross join grains
    inner join periods
        on
            grains.period_grain = periods.period_grain
            and cast(date_trunc(grains.period_grain, cast(daily.kpi_date as timestamp)) as date)
            = periods.period_start
    where daily.kpi_date >= (select min(earliest.period_start) from periods as earliest)
),

period_keys as (
    select
        rolled.period_grain,
        rolled.period_start,
        rolled.kpi_id,
        rolled.dimension,
        rolled.dimension_value,
        count(*) as copies
    from {{ rollup }} as rolled
    inner join periods
        on
            rolled.period_grain = periods.period_grain
            and rolled.period_start = periods.period_start
    group by
        rolled.period_grain,
        rolled.period_start,
        rolled.kpi_id,
        rolled.dimension,
        rolled.dimension_value
)

select
    coalesce(daily_keys.period_grain, period_keys.period_grain) as period_grain,
    coalesce(daily_keys.period_start, period_keys.period_start) as period_start,
    coalesce(daily_keys.kpi_id, period_keys.kpi_id) as kpi_id,
    coalesce(daily_keys.dimension, period_keys.dimension) as dimension,
    coalesce(daily_keys.dimension_value, period_keys.dimension_value) as dimension_value,
    case
        when period_keys.kpi_id is null then 'lost in the roll-up'
        when daily_keys.kpi_id is null then 'not in the daily facts'
        else 'duplicated in the roll-up'
    end as problem
from daily_keys
full outer join period_keys
    on
        daily_keys.period_grain = period_keys.period_grain
        and daily_keys.period_start = period_keys.period_start
        and daily_keys.kpi_id = period_keys.kpi_id
        and daily_keys.dimension = period_keys.dimension
        and daily_keys.dimension_value = period_keys.dimension_value
where daily_keys.kpi_id is null or period_keys.kpi_id is null or period_keys.copies > 1
order by period_grain, period_start, kpi_id, dimension, dimension_value
{% else %}

select
    cast(null as {{ sql_type('varchar') }}) as period_grain,
    cast(null as date) as period_start,
    cast(null as {{ sql_type('varchar') }}) as kpi_id,
    cast(null as {{ sql_type('varchar') }}) as dimension,
    cast(null as {{ sql_type('varchar') }}) as dimension_value,
    cast(null as {{ sql_type('varchar') }}) as problem
where 1 = 0

{% endif %}
