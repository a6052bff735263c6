{#- `value` of the row with the smallest `ordered_by` (rows with a null `value` or
    `ordered_by`, or failing `condition`, left out), as DuckDB's arg_min. -#}
{% macro arg_min(value, ordered_by, condition='true') -%}
    {%- if target.type == 'postgres' -%}
        (array_agg({{ value }} order by {{ ordered_by }}) filter (
            where {{ value }} is not null and {{ ordered_by }} is not null and {{ condition }}
        ))[1]
    {%- elif target.type == 'spark' -%}
        min_by({{ value }}, {{ ordered_by }}) filter (
            where {{ value }} is not null and {{ ordered_by }} is not null and {{ condition }}
        )
    {%- else -%}
        arg_min({{ value }}, {{ ordered_by }}) filter (where {{ condition }})
    {%- endif -%}
{%- endmacro %}
