-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
{{ config(replaced_by_key('kpi_date')) }}

-- One row per day, KPI, dimension and dimension value, holding the KPI's numerator and
-- denominator so any roll-up re-aggregates them. Generated from the catalogue (kpis.yml):
-- one CTE per metric the deployment's KPIs use, then per KPI its cells (every day's `all`
-- row, and the breakdowns' values that have data) with its metrics' amounts combined as
-- its formula says (macros/kpi_facts.sql). Every KPI has an `all` row every day; on
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

{%- set kpis = deployed_kpis() %}
{%- set metrics = metric_dimensions(kpis) %}
{%- for metric_id, dimensions in metrics.items() %}

-- metric {{ metric_id }}: per day, overall and by {{ dimensions | join(', ') or 'nothing' }}
metric__{{ metric_id }} as (
    {{ metric_by_day(metric_id, dimensions) }}
),
{%- endfor %}
{%- for kpi in kpis %}

-- {{ kpi.id }}: every day's overall row, and a row per value of its breakdowns
cells__{{ kpi.id }} as (
    select
        days.kpi_date,
        'all' as dimension,
        'all' as dimension_value
    from days
    {%- for term in kpi.numerator + kpi.denominator %}
    {%- if kpi.dimensions %}
    union
    select
        kpi_date,
        dimension,
        dimension_value
    from metric__{{ term[1] }}
    where dimension in ('{{ kpi.dimensions | join("', '") }}')
    {%- endif %}
    {%- endfor %}
),

kpi__{{ kpi.id }} as (
    {{ kpi_components(kpi, 'cells__' ~ kpi.id, ['kpi_date', 'dimension', 'dimension_value'], 'metric__') }}
),
{%- endfor %}

components as (
    {%- for kpi in kpis %}
    {{ 'union all' if not loop.first }}
    select * from kpi__{{ kpi.id }}
    {%- endfor %}
)

select
    components.kpi_date,
    -- text, as the contract says, whatever the generated branches give (on PostgreSQL a
    -- cast breakdown column is varchar, which an incremental run refuses as a new type)
    cast(components.kpi_id as {{ sql_type('text') }}) as kpi_id,
    cast(components.dimension as {{ sql_type('text') }}) as dimension,
    cast(components.dimension_value as {{ sql_type('text') }}) as dimension_value,
    case
        when without_data.kpi_id is null then cast(components.numerator as {{ sql_type('double precision') }})
    end as numerator,
    case
        when without_data.kpi_id is null then cast(components.denominator as {{ sql_type('double precision') }})
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
where components.kpi_date in (select days.kpi_date from days)
