{#- Microseconds between two timestamps: an exact integer, so sums are repeatable. -#}
{% macro microseconds_between(start_ts, end_ts) -%}
    {%- if target.type == 'postgres' -%}
        cast(extract(epoch from ({{ end_ts }} - {{ start_ts }})) * 1000000 as bigint)
    {%- elif target.type == 'spark' -%}
        (unix_micros({{ end_ts }}) - unix_micros({{ start_ts }}))
    {%- else -%}
        datediff('microsecond', {{ start_ts }}, {{ end_ts }})
    {%- endif -%}
{%- endmacro %}
