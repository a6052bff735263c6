-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
{#- The KPI facts' SQL, generated from the catalogue (kpis.yml, as data in
    macros/generated/kpi_catalogue.sql): a metric is an aggregation over a semantic
    model's rows, a KPI's numerator and denominator are sums and differences of metrics.
    No KPI is written by hand in a model. -#}

{#- The KPIs this deployment computes (deployment.yml / KPI_SOURCES), read when the model
    runs from KPI_DBT_KPIS (comma-separated ids, set by Dagster); unset, and while dbt
    parses (so every ref is seen), every KPI of the catalogue. -#}
{% macro deployed_kpis() -%}
    {%- set listed = env_var('KPI_DBT_KPIS', '') if execute else '' -%}
    {%- set wanted = listed.split(',') | map('trim') | list if listed else [] -%}
    {%- set found = [] -%}
    {%- for kpi in kpi_catalogue().kpis if not wanted or kpi.id in wanted -%}
        {%- do found.append(kpi) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The metrics the KPIs use, each with the breakdowns any of them asks for:
    {metric_id: [dimension, ...]}, in catalogue order. -#}
{% macro metric_dimensions(kpis) -%}
    {%- set needed = {} -%}
    {%- for kpi in kpis -%}
        {%- for term in kpi.numerator + kpi.denominator -%}
            {%- set dims = needed.get(term[1], []) -%}
            {%- for dimension in kpi.dimensions if dimension not in dims -%}
                {%- do dims.append(dimension) -%}
            {%- endfor -%}
            {%- do needed.update({term[1]: dims}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(needed) }}
{%- endmacro %}

{#- A metric's aggregate over the rows of a group (rows its filter keeps, see
    metric_rows_kept: a breakdown value with no such row gets no row, not a zero). -#}
{% macro metric_amount(metric) -%}
    {%- if metric.agg == 'count' -%}
        count(*)
    {%- elif metric.agg == 'sum' -%}
        {#- on decimals: a sum of doubles depends on the order rows arrive in, and a
            rerun must give bit-identical facts (or it would publish a new version) -#}
        sum(cast({{ metric.expr }} as decimal(38, 9)))
    {%- else -%}
        count(distinct {{ metric.expr }})
    {%- endif -%}
{%- endmacro %}

{% macro metric_rows_kept(metric) -%}
    {{- ' and (' ~ metric.filter ~ ')' if metric.filter else '' -}}
{%- endmacro %}

{#- A breakdown's value: text, '(not set)' when missing. -#}
{% macro dimension_value(metric, dimension) -%}
    {%- set model = kpi_catalogue().semantic_models[metric.semantic_model] -%}
    coalesce(cast(entity.{{ model.dimensions[dimension] }} as {{ sql_type('varchar') }}), '(not set)')
{%- endmacro %}

{#- One metric per day of the window: (kpi_date, dimension, dimension_value, amount), the
    `all` rows and one row per value of each breakdown in `dimensions`. -#}
{% macro metric_by_day(metric_id, dimensions) -%}
    {%- set metric = kpi_catalogue().metrics[metric_id] -%}
    {%- set model = kpi_catalogue().semantic_models[metric.semantic_model] -%}
    select
        entity.{{ metric.date }} as kpi_date,
        'all' as dimension,
        'all' as dimension_value,
        {{ metric_amount(metric) }} as amount
    from {{ ref(model.relation) }} as entity
    where {{ in_window('entity.' ~ metric.date) }}{{ metric_rows_kept(metric) }}
    group by entity.{{ metric.date }}
    {%- for dimension in dimensions %}
    union all
    select
        entity.{{ metric.date }} as kpi_date,
        '{{ dimension }}' as dimension,
        {{ dimension_value(metric, dimension) }} as dimension_value,
        {{ metric_amount(metric) }} as amount
    from {{ ref(model.relation) }} as entity
    where {{ in_window('entity.' ~ metric.date) }}{{ metric_rows_kept(metric) }}
    group by entity.{{ metric.date }}, {{ dimension_value(metric, dimension) }}
    {%- endfor %}
{%- endmacro %}

{#- One metric recounted over windows of days (a distinct count is not additive over
    days): `windows` is a relation with `keys` columns plus first_day and last_day;
    `days` a relation of the days (kpi_date) a window may count. Rows: the keys,
    dimension, dimension_value, amount. -#}
{% macro metric_over_windows(metric_id, dimensions, windows, keys, days) -%}
    {%- set metric = kpi_catalogue().metrics[metric_id] -%}
    {%- set model = kpi_catalogue().semantic_models[metric.semantic_model] -%}
    {%- set key_list = [] -%}
    {%- for key in keys -%}{%- do key_list.append('windows.' ~ key) -%}{%- endfor -%}
    {%- for dimension in ['all'] + dimensions %}
    {{ 'union all' if not loop.first }}
    select
        {{ key_list | join(', ') }},
        '{{ dimension }}' as dimension,
        {{ "'all'" if dimension == 'all' else dimension_value(metric, dimension) }}
            as dimension_value,
        {{ metric_amount(metric) }} as amount
    from {{ windows }} as windows
    inner join {{ ref(model.relation) }} as entity
        on entity.{{ metric.date }} between windows.first_day and windows.last_day
    where
        entity.{{ metric.date }} in (select counted.kpi_date from {{ days }} as counted)
        {{- metric_rows_kept(metric) }}
    group by {{ key_list | join(', ') }}
        {%- if dimension != 'all' %}, {{ dimension_value(metric, dimension) }}{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- A KPI's numerator or denominator: its metrics' amounts joined on `keys` to `cells`,
    added or subtracted; none (a plain sum's denominator) is null. -#}
{% macro formula_sum(terms) -%}
    {%- if not terms -%}
        cast(null as {{ sql_type('double precision') }})
    {%- else -%}
        {%- for term in terms -%}
            {{ ' - ' if term[0] < 0 else (' + ' if not loop.first) }}coalesce(m_{{ term[1] }}.amount, 0)
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- One KPI's components on every cell: `cells` holds `keys`; each metric of the KPI is a
    relation named `<prefix><metric_id>` holding `keys` and `amount`. -#}
{% macro kpi_components(kpi, cells, keys, prefix) -%}
    select
        {%- for key in keys %}
        cells.{{ key }},
        {%- endfor %}
        '{{ kpi.id }}' as kpi_id,
        {{ formula_sum(kpi.numerator) }} as numerator,
        {{ formula_sum(kpi.denominator) }} as denominator
    from {{ cells }} as cells
    {%- set joined = [] -%}
    {%- for term in kpi.numerator + kpi.denominator if term[1] not in joined -%}
        {%- do joined.append(term[1]) %}
    left join {{ prefix }}{{ term[1] }} as m_{{ term[1] }}
        on
        {%- for key in keys %}
            {{ 'and ' if not loop.first }}cells.{{ key }} = m_{{ term[1] }}.{{ key }}
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}

{#- The deployment's KPIs with a distinct count: not additive over days, so their periods
    are recounted from their semantic model. -#}
{% macro recounted_kpis() -%}
    {%- set found = [] -%}
    {%- for kpi in deployed_kpis() if not kpi.additive -%}
        {%- do found.append(kpi) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The components of every KPI of `kpis` over periods (keys: period_grain, period_start,
    dimension, dimension_value), each on its cells `<cells_prefix><kpi_id>` from its metrics
    `<metric_prefix><kpi_id>__<metric_id>`; no KPI: no row, with the same columns. -#}
{% macro period_components(kpis, cells_prefix, metric_prefix) -%}
    {%- for kpi in kpis %}
    {{ 'union all' if not loop.first }}
    {{ kpi_components(kpi, cells_prefix ~ kpi.id, ['period_grain', 'period_start', 'dimension', 'dimension_value'], metric_prefix ~ kpi.id ~ '__') }}
    {%- else %}
    select
        cast(null as {{ sql_type('varchar') }}) as period_grain,
        cast(null as date) as period_start,
        cast(null as {{ sql_type('varchar') }}) as dimension,
        cast(null as {{ sql_type('varchar') }}) as dimension_value,
        cast(null as {{ sql_type('varchar') }}) as kpi_id,
        cast(null as decimal(38, 9)) as numerator,
        cast(null as decimal(38, 9)) as denominator
    where false
    {%- endfor %}
{%- endmacro %}

{#- The metrics the product chains of `kpis` use (kpis.yml `chain`), in catalogue order. -#}
{% macro chain_metrics(kpis) -%}
    {%- set found = [] -%}
    {%- for kpi in kpis -%}
        {%- for factor in kpi.chain -%}
            {%- for metric_id in [factor.numerator, factor.denominator] if metric_id and metric_id not in found -%}
                {%- do found.append(metric_id) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set ordered = [] -%}
    {%- for metric_id in kpi_catalogue().metrics if metric_id in found -%}
        {%- do ordered.append(metric_id) -%}
    {%- endfor -%}
    {{ return(ordered) }}
{%- endmacro %}

{#- Whether every source requirement of a metric got a file on `day` (`delivered`: a
    relation of kpi_date and source); a metric from seeds alone always has. -#}
{% macro metric_sources_delivered(metric_id, day, delivered) -%}
    {%- set requirements = kpi_catalogue().metrics[metric_id].sources -%}
    {%- for requirement, sources in requirements.items() -%}
        {{ ' and ' if not loop.first }}exists (
            select 1 from {{ delivered }} as got
            where got.kpi_date = {{ day }} and got.source in ('{{ sources | join("', '") }}')
        )
    {%- else -%}
        true
    {%- endfor -%}
{%- endmacro %}
