{#- Microseconds between two timestamps: an exact integer, so sums are repeatable. -#}
{% macro microseconds_between(start_ts, end_ts) -%}
    datediff('microsecond', {{ start_ts }}, {{ end_ts }})
{%- endmacro %}
