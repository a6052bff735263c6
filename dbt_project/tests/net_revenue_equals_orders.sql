{#- Cross-check (quality.yml `cross_checks`): the net revenue of each day in the KPI facts
    equals the net amounts of the orders placed that day (in the reporting timezone), each
    order in its latest version (latest extract, then last row of the file), cancelled
    orders left out, recomputed from staging apart from the marts' SQL.
    Only the days of the run's window (macros/partition_window.sql); a day without data
    (its orders extract missing: no numerator) is not a mismatch. A failing row names the
    day and the two amounts; dbt keeps the rows in dbt_test__audit, and the pipeline says
    them in words (`meta.failing_row`, kpi_pipeline/quality/dbt_failures.py). -#}
{{ config(
    severity=cross_check_setting('net_revenue_equals_orders', 'error'),
    store_failures=true,
    meta={
        'dagster': {'ref': {'name': 'fct_kpi_daily'}},
        'description': "Net revenue in marts.fct_kpi_daily = the sum of the day's non-cancelled orders in staging (+/- quality.yml net_revenue_tolerance).",
        'failing_row': "net revenue of {kpi_date} is {facts_net_revenue} in marts.fct_kpi_daily, but the non-cancelled orders placed that day sum to {orders_net_revenue} (staging.stg_orders__orders)",
    },
) }}

with order_versions as (
    select
        order_id,
        placed_at,
        order_status,
        net_amount,
        row_number() over (
            partition by order_id
            order by extract_date desc, source_row_number desc
        ) as version_rank
    from {{ ref('stg_orders__orders') }}
),

orders_by_day as (
    select
        {{ local_date('placed_at') }} as order_date,
        cast(sum(net_amount) as {{ sql_type('double precision') }}) as net_amount
    from order_versions
    where version_rank = 1 and order_status <> 'cancelled'
    group by {{ local_date('placed_at') }}
),

facts as (
    select
        kpi_date,
        numerator
    from {{ ref('fct_kpi_daily') }}
    where
        kpi_id = 'net_revenue'
        and dimension = 'all'
        and numerator is not null
        and {{ in_window('kpi_date') }}
)

select
    facts.kpi_date,
    facts.numerator as facts_net_revenue,
    coalesce(orders_by_day.net_amount, 0) as orders_net_revenue
from facts
left join orders_by_day on facts.kpi_date = orders_by_day.order_date
where
    abs(facts.numerator - coalesce(orders_by_day.net_amount, 0))
    > {{ cross_check_setting('net_revenue_tolerance', 0.005) | float }}
order by facts.kpi_date
