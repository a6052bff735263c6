-- Every KPI at week (ISO, Monday first), month, quarter and year grain, re-aggregated from
-- the daily components: numerators and denominators are summed, then divided (never an
-- average of daily ratios). Distinct users are not additive, so the user conversion rate
-- of a period is recomputed from the period's distinct users. Sums run on decimals so a
-- rebuild gives bit-identical values.
with daily as (
    select * from {{ ref('fct_kpi_daily') }}
),

grains as (
    select grain_names.period_grain
    from (values ('week'), ('month'), ('quarter'), ('year')) as grain_names (period_grain)
),

bucketed as (
    select
        grains.period_grain,
        daily.kpi_date,
        daily.kpi_id,
        daily.dimension,
        daily.dimension_value,
        daily.numerator,
        daily.denominator,
        cast(date_trunc(grains.period_grain, cast(daily.kpi_date as timestamp)) as date) as period_start
    from daily
    cross join grains
),

additive as (
    select
        period_grain,
        period_start,
        kpi_id,
        dimension,
        dimension_value,
        count(*) as days_covered,
        sum(cast(numerator as decimal(38, 9))) as numerator,
        sum(cast(denominator as decimal(38, 9))) as denominator
    from bucketed
    group by period_grain, period_start, kpi_id, dimension, dimension_value
),

user_days as (
    select kpi_date from daily
    where kpi_id = 'user_conversion_rate' and dimension = 'all'
),

distinct_users as (
    select
        grains.period_grain,
        cast(date_trunc(grains.period_grain, cast(sessions.session_date as timestamp)) as date) as period_start,
        count(distinct sessions.user_pseudo_id) filter (where sessions.is_converted) as numerator,
        count(distinct sessions.user_pseudo_id) as denominator
    from {{ ref('int_ga4__sessions') }} as sessions
    cross join grains
    where sessions.session_date in (select user_days.kpi_date from user_days)
    group by
        grains.period_grain,
        cast(date_trunc(grains.period_grain, cast(sessions.session_date as timestamp)) as date)
),

components as (
    select
        additive.period_grain,
        additive.period_start,
        additive.kpi_id,
        additive.dimension,
        additive.dimension_value,
        additive.days_covered,
        case
            when additive.kpi_id = 'user_conversion_rate' and additive.dimension = 'all'
                then coalesce(distinct_users.numerator, 0)
            else additive.numerator
        end as numerator,
        case
            when additive.kpi_id = 'user_conversion_rate' and additive.dimension = 'all'
                then coalesce(distinct_users.denominator, 0)
            else additive.denominator
        end as denominator
    from additive
    left join distinct_users
        on
            additive.period_grain = distinct_users.period_grain
            and additive.period_start = distinct_users.period_start
)

select
    components.period_grain,
    components.period_start,
    cast(
        components.period_start
        + case components.period_grain
            when 'week' then interval '7 day'
            when 'month' then interval '1 month'
            when 'quarter' then interval '3 month'
            else interval '1 year'
        end
        - interval '1 day' as date
    ) as period_end,
    cast(components.days_covered as integer) as days_covered,
    components.kpi_id,
    components.dimension,
    components.dimension_value,
    cast(components.numerator as double precision) as numerator,
    cast(components.denominator as double precision) as denominator,
    {{ kpi_value('components.numerator', 'components.denominator') }} as value  -- noqa: RF04
from components
left join {{ ref('kpi_catalogue') }} as catalogue on components.kpi_id = catalogue.kpi_id
