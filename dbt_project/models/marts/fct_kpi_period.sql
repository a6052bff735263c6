-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
{{ config(replaced_by_key(['period_grain', 'period_start'])) }}

-- Every KPI at week (ISO, Monday first), month, quarter and year grain, re-aggregated from
-- the daily components: numerators and denominators are summed, then divided (never an
-- average of daily ratios). A KPI with a distinct count (kpis.yml: agg count_distinct) is
-- not additive over days, so its components are recounted over each period's days with
-- data from its semantic model (macros/kpi_facts.sql); no KPI is named by hand here. Sums
-- run on decimals so a rebuild gives bit-identical values.
-- Incremental: a run recomputes whole the periods that hold a day of its window (every
-- day of such a period re-read from the facts) and replaces them; the others stay.
with daily as (
    select * from {{ ref('fct_kpi_daily') }}
),

grains as (
    select grain_names.period_grain
    from (values ('week'), ('month'), ('quarter'), ('year')) as grain_names (period_grain)
),

all_bucketed as (
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
{%- if is_incremental() %}

-- the periods holding a day of the run's window
touched as (
    select distinct
        period_grain,
        period_start
    from all_bucketed
    where {{ in_window('kpi_date') }}
),

bucketed as (
    select all_bucketed.*
    from all_bucketed
    inner join touched
        on
            all_bucketed.period_grain = touched.period_grain
            and all_bucketed.period_start = touched.period_start
),
{%- else %}

bucketed as (
    select * from all_bucketed
),
{%- endif %}

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

{%- set distinct_kpis = recounted_kpis() %}
{%- for kpi in distinct_kpis %}

-- {{ kpi.id }} counts distinct entities: recounted over each period's days with data
days__{{ kpi.id }} as (
    select kpi_date from daily
    where kpi_id = '{{ kpi.id }}' and dimension = 'all' and numerator is not null
),

windows__{{ kpi.id }} as (
    select
        period_grain,
        period_start,
        min(kpi_date) as first_day,
        max(kpi_date) as last_day
    from bucketed
    where kpi_id = '{{ kpi.id }}' and dimension = 'all'
    group by period_grain, period_start
),

cells__{{ kpi.id }} as (
    select distinct
        period_grain,
        period_start,
        dimension,
        dimension_value
    from additive
    where kpi_id = '{{ kpi.id }}'
),
{%- for term in kpi.numerator + kpi.denominator %}

recount__{{ kpi.id }}__{{ term[1] }} as (
    {{ metric_over_windows(term[1], kpi.dimensions, 'windows__' ~ kpi.id, ['period_grain', 'period_start'], 'days__' ~ kpi.id) }}
),
{%- endfor %}
{%- endfor %}

recounted as (
    {{ period_components(distinct_kpis, 'cells__', 'recount__') }}
),

components as (
    select
        additive.period_grain,
        additive.period_start,
        additive.kpi_id,
        additive.dimension,
        additive.dimension_value,
        additive.days_covered,
        -- a period with no day of data stays without a value
        case
            when recounted.kpi_id is null or additive.numerator is null then additive.numerator
            else recounted.numerator
        end as numerator,
        case
            when recounted.kpi_id is null or additive.numerator is null then additive.denominator
            else recounted.denominator
        end as denominator
    from additive
    left join recounted
        on
            additive.period_grain = recounted.period_grain
            and additive.period_start = recounted.period_start
            and additive.kpi_id = recounted.kpi_id
            and additive.dimension = recounted.dimension
            and additive.dimension_value = recounted.dimension_value
)

select
    components.period_grain,
    components.period_start,
    cast(
        {{ period_after('components.period_start', 'components.period_grain') }}
        - interval '1 day' as date
    ) as period_end,
    cast(components.days_covered as integer) as days_covered,
    components.kpi_id,
    components.dimension,
    components.dimension_value,
    cast(components.numerator as {{ sql_type('double precision') }}) as numerator,
    cast(components.denominator as {{ sql_type('double precision') }}) as denominator,
    {{ kpi_value('components.numerator', 'components.denominator') }} as value  -- noqa: RF04
from components
left join {{ ref('kpi_catalogue') }} as catalogue on components.kpi_id = catalogue.kpi_id
