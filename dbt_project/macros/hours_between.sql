{#- Elapsed hours between two timestamps, fractional. -#}
{% macro hours_between(start_ts, end_ts) -%}
    (epoch({{ end_ts }}) - epoch({{ start_ts }})) / 3600.0
{%- endmacro %}
