{#- One value of GA4's event_params key/value list: DuckDB list functions on the nested
    column; in PostgreSQL, where raw nested columns are JSONB, a JSON path (text). -#}
{% macro ga4_param(key, value_type='string_value') -%}
    {%- if target.type == 'postgres' -%}
        jsonb_path_query_first(event_params, '$[*] ? (@.key == "{{ key }}").value.{{ value_type }}') #>> '{}'
    {%- elif target.type == 'spark' -%}
        try_element_at(filter(event_params, p -> p.key = '{{ key }}'), 1).value.{{ value_type }}
    {%- else -%}
        list_extract(list_filter(event_params, lambda p: p.key = '{{ key }}'), 1).value.{{ value_type }}
    {%- endif -%}
{%- endmacro %}

{#- A field of a nested GA4 record (geo, device, ecommerce): struct access in DuckDB, a
    JSONB field cast to `sql_type` in PostgreSQL. -#}
{% macro ga4_field(record, field, sql_type='text') -%}
    {%- if target.type == 'postgres' -%}
        cast({{ record }} ->> '{{ field }}' as {{ sql_type }})
    {%- else -%}
        {{ record }}.{{ field }}
    {%- endif -%}
{%- endmacro %}
