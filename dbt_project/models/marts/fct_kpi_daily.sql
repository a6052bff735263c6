{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='kpi_date',
        on_schema_change='fail',
    )
}}

-- One row per day, KPI, dimension and dimension value, holding the KPI's numerator and
-- denominator so any roll-up re-aggregates them. Every KPI has an `all` row every day.
with days as (
    {{ date_spine() }}
),

sessions as (
    select * from {{ ref('int_ga4__sessions') }}
),

orders as (
    select * from {{ ref('int_orders__orders') }}
),

sessions_by_channel as (
    select
        session_date as kpi_date,
        'session_conversion_rate' as kpi_id,
        'channel' as dimension,
        channel as dimension_value,
        count(*) filter (where is_converted) as numerator,
        count(*) as denominator
    from sessions
    group by session_date, channel
),

sessions_overall as (
    select
        days.kpi_date,
        'session_conversion_rate' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        count(sessions.session_key) filter (where sessions.is_converted) as numerator,
        count(sessions.session_key) as denominator
    from days
    left join sessions on days.kpi_date = sessions.session_date
    group by days.kpi_date
),

spend as (
    select
        spend_date,
        sum(spend) as spend
    from {{ ref('int_ads__spend') }}
    where currency = '{{ var("reporting_currency") }}'
    group by spend_date
),

acquisitions as (
    select
        acquisition_date,
        count(*) as customers
    from {{ ref('int_customers__acquisitions') }}
    group by acquisition_date
),

cost_per_acquisition as (
    select
        days.kpi_date,
        'cost_per_acquisition' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(spend.spend, 0) as numerator,
        coalesce(acquisitions.customers, 0) as denominator
    from days
    left join spend on days.kpi_date = spend.spend_date
    left join acquisitions on days.kpi_date = acquisitions.acquisition_date
),

net_revenue as (
    select
        days.kpi_date,
        'net_revenue' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(sum(orders.net_amount), 0) as numerator,
        cast(null as double precision) as denominator
    from days
    left join orders
        on days.kpi_date = orders.placed_date and not orders.is_cancelled
    group by days.kpi_date
),

nps as (
    select
        days.kpi_date,
        'nps' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(sum(
            case responses.respondent_type
                when 'promoter' then 1
                when 'detractor' then -1
                else 0
            end
        ), 0) as numerator,
        count(responses.response_id) as denominator
    from days
    left join {{ ref('int_nps__responses') }} as responses
        on days.kpi_date = responses.submitted_date
    group by days.kpi_date
),

processing as (
    select
        days.kpi_date,
        'avg_order_processing_hours' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(sum(
            {{ microseconds_between('orders.placed_at', 'orders.fulfilled_at') }}
        ), 0) / 3600000000.0 as numerator,
        count(orders.order_id) as denominator
    from days
    left join orders
        on days.kpi_date = orders.fulfilled_date and not orders.is_cancelled
    group by days.kpi_date
),

components as (
    select * from sessions_overall
    union all
    select * from sessions_by_channel
    where {{ in_window('kpi_date') }}
    union all
    select * from cost_per_acquisition
    union all
    select * from net_revenue
    union all
    select * from nps
    union all
    select * from processing
)

select
    kpi_date,
    kpi_id,
    dimension,
    dimension_value,
    cast(numerator as double precision) as numerator,
    cast(denominator as double precision) as denominator,
    case
        when kpi_id = 'net_revenue' then cast(numerator as double precision)
        when kpi_id = 'nps' then 100 * {{ safe_divide('numerator', 'denominator') }}
        else {{ safe_divide('numerator', 'denominator') }}
    end as value  -- noqa: RF04
from components
where kpi_date in (select days.kpi_date from days)
