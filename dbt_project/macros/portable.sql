{#- The few expressions DuckDB, PostgreSQL and Spark spell differently, one macro each; the
    DuckDB branch is what the models wrote before they ran on PostgreSQL.
    A column type, named as DuckDB and PostgreSQL name it (`text`, `varchar`, `double
    precision`); Spark's name for it on Spark (`string`, `double`: macros/spark_seeds.sql). -#}
{% macro sql_type(name) -%}
    {%- if target.type == 'spark' -%}{{ spark_type(name) }}{%- else -%}{{ name }}{%- endif -%}
{%- endmacro %}

{#- Whole days from one date to a later one. -#}
{% macro days_between(start_date, end_date) -%}
    {%- if target.type == 'postgres' -%}
        ({{ end_date }} - {{ start_date }})
    {%- elif target.type == 'spark' -%}
        datediff({{ end_date }}, {{ start_date }})
    {%- else -%}
        datediff('day', {{ start_date }}, {{ end_date }})
    {%- endif -%}
{%- endmacro %}

{#- Text as an integer, null when it is not one (instead of an error). -#}
{% macro try_cast_integer(text) -%}
    {%- if target.type == 'postgres' -%}
        case when trim(cast({{ text }} as text)) ~ '^[+-]?[0-9]+$' then cast(trim(cast({{ text }} as text)) as integer) end
    {%- else -%}
        try_cast({{ text }} as integer)
    {%- endif -%}
{%- endmacro %}

{#- Group `group` of the first match of `pattern` in `text` (0: the whole match). -#}
{% macro regexp_group(text, pattern, group) -%}
    {%- if target.type == 'postgres' -%}
        (regexp_match({{ text }}, '({{ pattern }})'))[{{ group + 1 }}]
    {%- else -%}
        regexp_extract({{ text }}, '{{ pattern }}', {{ group }})
    {%- endif -%}
{%- endmacro %}

{#- Whether `pattern` matches somewhere in `text`. -#}
{% macro regexp_contains(text, pattern) -%}
    {%- if target.type == 'postgres' -%}
        ({{ text }} ~ '{{ pattern }}')
    {%- elif target.type == 'spark' -%}
        ({{ text }} rlike '{{ pattern }}')
    {%- else -%}
        regexp_matches({{ text }}, '{{ pattern }}')
    {%- endif -%}
{%- endmacro %}

{#- The integers 0 .. count - 1 as a table to join, `{{ day_offsets(n) }} as days (day_offset)`;
    none when count is 0 (Spark's sequence(0, -1) counts down: filtered). -#}
{% macro day_offsets(count) -%}
    {%- if target.type == 'spark' -%}
        lateral explode(filter(sequence(0, {{ count }} - 1), offset -> offset >= 0 and offset < {{ count }}))
    {%- else -%}
        generate_series(0, {{ count }} - 1)
    {%- endif -%}
{%- endmacro %}

{#- The instant `micros` microseconds after the Unix epoch (GA4's event_timestamp). -#}
{% macro timestamp_from_micros(micros) -%}
    {%- if target.type == 'spark' -%}
        timestamp_micros(cast({{ micros }} as bigint))
    {%- else -%}
        to_timestamp(cast({{ micros }} as bigint) / 1000000.0)
    {%- endif -%}
{%- endmacro %}

{#- The day one period of `grain` (week, month, quarter, else year) after `day`. One case over
    whole dates, not a date plus a case of intervals: Spark cannot hold day and month
    intervals in one column. -#}
{% macro period_after(day, grain) -%}
    case {{ grain }}
        when 'week' then cast({{ day }} + interval '7 day' as date)
        when 'month' then cast({{ day }} + interval '1 month' as date)
        when 'quarter' then cast({{ day }} + interval '3 month' as date)
        else cast({{ day }} + interval '1 year' as date)
    end
{%- endmacro %}

{#- The same day last year as `grain` compares it: 52 weeks back for a week (the same
    weekday), a calendar year back otherwise. -#}
{% macro last_year_day(day, grain) -%}
    case when {{ grain }} = 'week' then cast({{ day }} - interval '364 day' as date)
        else cast({{ day }} - interval '1 year' as date)
    end
{%- endmacro %}

{#- The ISO day of the week of a date: 1 (Monday) to 7 (Sunday). -#}
{% macro iso_weekday(day) -%}
    {%- if target.type == 'spark' -%}
        (weekday({{ day }}) + 1)
    {%- else -%}
        extract(isodow from {{ day }})
    {%- endif -%}
{%- endmacro %}
