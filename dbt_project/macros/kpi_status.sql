{#- Where a KPI value stands against its target: the one place this rule lives
    (fct_kpi_attainment uses it; the snapshots, `kpi show` and `kpi list` read its result).
    on_track when the target is met; at_risk when missed by at most the tolerance (a share
    of the target's size); off_track beyond; no_data without a value; no_target without a
    target. `direction` says which way is better. -#}
{% macro kpi_status(value, target, direction, tolerance) -%}
    case
        when {{ value }} is null then 'no_data'
        when {{ target }} is null then 'no_target'
        when {{ direction }} = 'higher_is_better' and {{ value }} >= {{ target }} then 'on_track'
        when
            {{ direction }} = 'higher_is_better'
            and {{ value }} >= {{ target }} - abs({{ target }}) * {{ tolerance }}
            then 'at_risk'
        when {{ direction }} = 'higher_is_better' then 'off_track'
        when {{ value }} <= {{ target }} then 'on_track'
        when {{ value }} <= {{ target }} + abs({{ target }}) * {{ tolerance }} then 'at_risk'
        else 'off_track'
    end
{%- endmacro %}
