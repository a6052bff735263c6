{#- A KPI's value from its components, as the catalogue defines it: a plain sum is its
    numerator; a ratio is numerator / denominator times the KPI's scale (100 for NPS),
    null on a zero denominator. `catalogue` is the alias of the joined kpi_catalogue seed. -#}
{% macro kpi_value(numerator, denominator, catalogue='catalogue') -%}
    case
        when not {{ catalogue }}.is_ratio then cast({{ numerator }} as {{ sql_type('double precision') }})
        else {{ catalogue }}.value_scale * {{ safe_divide(numerator, denominator) }}
    end
{%- endmacro %}
