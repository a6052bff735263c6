{#- The few expressions DuckDB and PostgreSQL spell differently, one macro each; the DuckDB
    branch is what the models wrote before they ran on PostgreSQL.
    Whole days from one date to a later one. -#}
{% macro days_between(start_date, end_date) -%}
    {%- if target.type == 'postgres' -%}
        ({{ end_date }} - {{ start_date }})
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
    {%- else -%}
        regexp_matches({{ text }}, '{{ pattern }}')
    {%- endif -%}
{%- endmacro %}
