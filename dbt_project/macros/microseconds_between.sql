{#- Microseconds between two timestamps: an exact integer, so sums are repeatable. -#}
{% macro microseconds_between(start_ts, end_ts) -%}
    {%- if target.type == 'postgres' -%}
        cast(extract(epoch from ({{ end_ts }} - {{ start_ts }})) * 1000000 as bigint)
    {%- else -%}
        datediff('microsecond', {{ start_ts }}, {{ end_ts }})
    {%- endif -%}
{%- endmacro %}
