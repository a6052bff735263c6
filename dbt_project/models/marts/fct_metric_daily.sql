-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
{{ config(replaced_by_key('kpi_date')) }}

-- One row per day and metric of the deployment's product chains (kpis.yml `chain`, e.g.
-- net revenue = sessions x orders per session x average order value): the metric's
-- overall total that day, which `kpi explain KPI --by chain` sums over the compared
-- periods into the chain's factors. Generated from the catalogue with the same macros and
-- days as fct_kpi_daily (macros/kpi_facts.sql); on a day when a source the metric is
-- measured from delivered no file, its value is null, never a zero.
with days as (
    {{ date_spine() }}
),

delivered as (
    select distinct
        _extract_date as kpi_date,
        source
    from {{ source('raw', '_ingest_log') }}
),

{%- set metrics = chain_metrics(deployed_kpis()) %}
{%- for metric_id in metrics %}

-- metric {{ metric_id }}: per day, overall
metric__{{ metric_id }} as (
    {{ metric_by_day(metric_id, []) }}
),
{%- endfor %}

-- a day whose files came but hold no row of a metric counts 0
amounts as (
    {%- for metric_id in metrics %}
    {{ 'union all' if not loop.first }}
    select
        days.kpi_date,
        '{{ metric_id }}' as metric_id,
        case
            when {{ metric_sources_delivered(metric_id, 'days.kpi_date', 'delivered') }}
                then cast(coalesce(metric__{{ metric_id }}.amount, 0) as {{ sql_type('double precision') }})
        end as amount
    from days
    left join metric__{{ metric_id }} on days.kpi_date = metric__{{ metric_id }}.kpi_date
    {%- endfor %}
    {%- if not metrics %}
    select
        cast(null as date) as kpi_date,
        cast(null as {{ sql_type('varchar') }}) as metric_id,
        cast(null as {{ sql_type('double precision') }}) as amount
    where false
    {%- endif %}
)

select
    amounts.kpi_date,
    cast(amounts.metric_id as {{ sql_type('text') }}) as metric_id,
    amounts.amount as value  -- noqa: RF04
from amounts
