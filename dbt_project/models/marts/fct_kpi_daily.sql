{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='kpi_date',
        on_schema_change='fail',
    )
}}

-- One row per day, KPI, dimension and dimension value, holding the KPI's numerator and
-- denominator so any roll-up re-aggregates them. Every KPI has an `all` row every day; on
-- a day when a source the KPI is measured from delivered no file, that row has no value
-- (null numerator, denominator and value), never a zero.
with days as (
    {{ date_spine() }}
),

delivered as (
    select distinct
        _extract_date as kpi_date,
        source
    from {{ source('raw', '_ingest_log') }}
),

source_options as (
    select * from {{ ref('kpi_sources') }}
),

-- each KPI's days and source requirements (kpis.yml), and which of them got a file
requirement_days as (
    select
        days.kpi_date,
        source_options.kpi_id,
        source_options.requirement,
        max(case when delivered.source is not null then 1 else 0 end) as is_met
    from days
    cross join source_options
    left join delivered
        on
            source_options.source = delivered.source
            and days.kpi_date = delivered.kpi_date
    group by days.kpi_date, source_options.kpi_id, source_options.requirement
),

-- a KPI's days on which one of its source requirements got no file
without_data as (
    select distinct
        kpi_date,
        kpi_id
    from requirement_days
    where is_met = 0
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

sessions_by_country as (
    select
        session_date as kpi_date,
        'session_conversion_rate' as kpi_id,
        'country' as dimension,
        coalesce(country, '(not set)') as dimension_value,
        count(*) filter (where is_converted) as numerator,
        count(*) as denominator
    from sessions
    group by session_date, coalesce(country, '(not set)')
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

users_overall as (
    select
        days.kpi_date,
        'user_conversion_rate' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        count(distinct sessions.user_pseudo_id) filter (where sessions.is_converted) as numerator,
        count(distinct sessions.user_pseudo_id) as denominator
    from days
    left join sessions on days.kpi_date = sessions.session_date
    group by days.kpi_date
),

organic_by_source as (
    select
        session_date as kpi_date,
        'organic_traffic' as kpi_id,
        'source' as dimension,
        session_source as dimension_value,
        count(*) as numerator,
        cast(null as bigint) as denominator
    from sessions
    where channel = 'Organic Search'
    group by session_date, session_source
),

organic_overall as (
    select
        days.kpi_date,
        'organic_traffic' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        count(sessions.session_key) as numerator,
        cast(null as bigint) as denominator
    from days
    left join sessions
        on days.kpi_date = sessions.session_date and sessions.channel = 'Organic Search'
    group by days.kpi_date
),

other_costs as (
    select
        days.kpi_date,
        sum(marketing_costs.daily_amount) as cost_amount
    from days
    inner join {{ ref('marketing_costs') }} as marketing_costs
        on days.kpi_date between marketing_costs.valid_from and marketing_costs.valid_to
    where upper(marketing_costs.currency) = '{{ var("reporting_currency") }}'
    group by days.kpi_date
),

customer_acquisition_cost as (
    select
        days.kpi_date,
        'customer_acquisition_cost' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(spend.spend, 0) + coalesce(other_costs.cost_amount, 0) as numerator,
        coalesce(acquisitions.customers, 0) as denominator
    from days
    left join spend on days.kpi_date = spend.spend_date
    left join other_costs on days.kpi_date = other_costs.kpi_date
    left join acquisitions on days.kpi_date = acquisitions.acquisition_date
),

attributed as (
    select
        placed_date,
        net_amount,
        coalesce(campaign, '(not set)') as campaign
    from {{ ref('int_orders__attribution') }}
    where is_paid and not is_cancelled
),

spend_by_campaign as (
    select
        spend_date,
        campaign,
        sum(spend) as spend
    from {{ ref('int_ads__spend') }}
    where currency = '{{ var("reporting_currency") }}'
    group by spend_date, campaign
),

revenue_by_campaign as (
    select
        placed_date,
        campaign,
        sum(net_amount) as revenue
    from attributed
    group by placed_date, campaign
),

ad_return_by_campaign as (
    select
        coalesce(spend_by_campaign.spend_date, revenue_by_campaign.placed_date) as kpi_date,
        coalesce(spend_by_campaign.campaign, revenue_by_campaign.campaign) as campaign,
        coalesce(revenue_by_campaign.revenue, 0) as revenue,
        coalesce(spend_by_campaign.spend, 0) as spend
    from spend_by_campaign
    full outer join revenue_by_campaign
        on
            spend_by_campaign.spend_date = revenue_by_campaign.placed_date
            and spend_by_campaign.campaign = revenue_by_campaign.campaign
),

ad_return_overall as (
    select
        days.kpi_date,
        coalesce(sum(ad_return_by_campaign.revenue), 0) as revenue,
        coalesce(sum(ad_return_by_campaign.spend), 0) as spend
    from days
    left join ad_return_by_campaign on days.kpi_date = ad_return_by_campaign.kpi_date
    group by days.kpi_date
),

ad_return as (
    select
        kpi_date,
        'all' as dimension,
        'all' as dimension_value,
        revenue,
        spend
    from ad_return_overall
    union all
    select
        kpi_date,
        'campaign' as dimension,
        campaign as dimension_value,
        revenue,
        spend
    from ad_return_by_campaign
),

return_on_ad_spend as (
    select
        kpi_date,
        'return_on_ad_spend' as kpi_id,
        dimension,
        dimension_value,
        revenue as numerator,
        spend as denominator
    from ad_return
),

marketing_roi as (
    select
        kpi_date,
        'marketing_roi' as kpi_id,
        dimension,
        dimension_value,
        revenue - spend as numerator,
        spend as denominator
    from ad_return
),

posts as (
    select * from {{ ref('int_social__posts') }}
),

social_by_source as (
    select
        post_date as kpi_date,
        'social_engagement_rate' as kpi_id,
        'source' as dimension,
        platform as dimension_value,
        sum(engagements) as numerator,
        sum(impressions) as denominator
    from posts
    group by post_date, platform
),

social_overall as (
    select
        days.kpi_date,
        'social_engagement_rate' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(sum(posts.engagements), 0) as numerator,
        coalesce(sum(posts.impressions), 0) as denominator
    from days
    left join posts on days.kpi_date = posts.post_date
    group by days.kpi_date
),

leads as (
    select * from {{ ref('int_crm__leads') }}
),

leads_by_source as (
    select
        created_date as kpi_date,
        'lead_to_customer_rate' as kpi_id,
        'source' as dimension,
        coalesce(lead_source, '(not set)') as dimension_value,
        count(*) filter (where is_customer) as numerator,
        count(*) as denominator
    from leads
    group by created_date, coalesce(lead_source, '(not set)')
),

leads_overall as (
    select
        days.kpi_date,
        'lead_to_customer_rate' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        count(leads.lead_key) filter (where leads.is_customer) as numerator,
        count(leads.lead_key) as denominator
    from days
    left join leads on days.kpi_date = leads.created_date
    group by days.kpi_date
),

deal_win_rate as (
    select
        days.kpi_date,
        'deal_win_rate' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        count(deals.deal_key) filter (where deals.outcome = 'won') as numerator,
        count(deals.deal_key) as denominator
    from days
    left join {{ ref('int_crm__deals') }} as deals
        on days.kpi_date = deals.closed_date and deals.outcome in ('won', 'lost')
    group by days.kpi_date
),

average_order_value as (
    select
        days.kpi_date,
        'average_order_value' as kpi_id,
        'all' as dimension,
        'all' as dimension_value,
        coalesce(sum(orders.net_amount), 0) as numerator,
        count(orders.order_id) as denominator
    from days
    left join orders
        on days.kpi_date = orders.placed_date and not orders.is_cancelled
    group by days.kpi_date
),

components as (
    select * from sessions_overall
    union all
    select * from sessions_by_channel
    where {{ in_window('kpi_date') }}
    union all
    select * from sessions_by_country
    union all
    select * from cost_per_acquisition
    union all
    select * from net_revenue
    union all
    select * from nps
    union all
    select * from processing
    union all
    select * from users_overall
    union all
    select * from organic_overall
    union all
    select * from organic_by_source
    union all
    select * from customer_acquisition_cost
    union all
    select * from return_on_ad_spend
    union all
    select * from marketing_roi
    union all
    select * from social_overall
    union all
    select * from social_by_source
    union all
    select * from leads_overall
    union all
    select * from leads_by_source
    union all
    select * from deal_win_rate
    union all
    select * from average_order_value
)

select
    components.kpi_date,
    components.kpi_id,
    components.dimension,
    components.dimension_value,
    case
        when without_data.kpi_id is null then cast(components.numerator as double precision)
    end as numerator,
    case
        when without_data.kpi_id is null then cast(components.denominator as double precision)
    end as denominator,
    case
        when without_data.kpi_id is null
            then {{ kpi_value('components.numerator', 'components.denominator') }}
    end as value  -- noqa: RF04
from components
left join {{ ref('kpi_catalogue') }} as catalogue on components.kpi_id = catalogue.kpi_id
left join without_data
    on
        components.kpi_date = without_data.kpi_date
        and components.kpi_id = without_data.kpi_id
where
    components.kpi_date in (select days.kpi_date from days)
    and {{ in_deployment('components.kpi_id') }}
