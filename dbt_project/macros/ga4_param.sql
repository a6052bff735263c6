{#- One value of GA4's event_params key/value list (DuckDB list functions). -#}
{% macro ga4_param(key, value_type='string_value') -%}
    list_extract(list_filter(event_params, lambda p: p.key = '{{ key }}'), 1).value.{{ value_type }}
{%- endmacro %}
