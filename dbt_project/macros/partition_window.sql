{#- The window Dagster asks for: [min_date, max_date) in the reporting timezone.
    A bound is read when the model runs, from the KPI_DBT_<NAME> environment variable
    Dagster sets (kpi_pipeline/partitions.py), or from `--vars` when dbt is run by hand;
    without either a build covers all history. It is not read while dbt parses (execute is
    false then), so a new window does not make dbt parse the project again. -#}
{% macro window_bound(name, default) -%}
    {%- if execute -%}
        {{- var(name, env_var('KPI_DBT_' ~ name | upper, default)) -}}
    {%- else -%}
        {{- default -}}
    {%- endif -%}
{%- endmacro %}

{% macro window_start() -%}cast('{{ window_bound("min_date", "1900-01-01") }}' as date){%- endmacro %}

{% macro window_end() -%}cast('{{ window_bound("max_date", "2999-12-31") }}' as date){%- endmacro %}

{% macro in_window(date_column) -%}
    ({{ date_column }} >= {{ window_start() }} and {{ date_column }} < {{ window_end() }})
{%- endmacro %}

{#- The calendar day of a timestamp in the reporting timezone. -#}
{% macro local_date(timestamp_column) -%}
    {%- if target.type == 'spark' -%}
        cast(from_utc_timestamp({{ timestamp_column }}, '{{ var("timezone") }}') as date)
    {%- else -%}
        cast(({{ timestamp_column }} at time zone '{{ var("timezone") }}') as date)
    {%- endif -%}
{%- endmacro %}

{#- The days of the window that get KPI rows: every partition day of the run (with or
    without extracts, so each KPI has its `all` row), and the lookback days before it
    only if they were loaded before (late data restates them; days never loaded stay
    unbuilt). -#}
{% macro date_spine() -%}
    select cast(bounds.first_day + cast(days.day_offset as integer) as date) as kpi_date
    from (
        select
            greatest({{ window_start() }}, min(_extract_date)) as first_day,
            least({{ window_end() }}, cast(max(_extract_date) + 1 as date)) as end_day
        from {{ source('raw', '_ingest_log') }}
    ) as bounds,
        {{ day_offsets(days_between('bounds.first_day', 'bounds.end_day')) }} as days (day_offset)
    where
        cast(bounds.first_day + cast(days.day_offset as integer) as date) >= cast('{{ window_bound("first_partition", "1900-01-01") }}' as date)
        or cast(bounds.first_day + cast(days.day_offset as integer) as date) in (
            select loaded._extract_date from {{ source('raw', '_ingest_log') }} as loaded
        )
{%- endmacro %}
