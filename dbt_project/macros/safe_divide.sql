{#- Null, never 0 nor an error, when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ sql_type('double precision') }}) / nullif(cast({{ denominator }} as {{ sql_type('double precision') }}), 0)
{%- endmacro %}
