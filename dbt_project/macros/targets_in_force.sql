{#- The target in force on each (kpi_id, kpi_date) of `days`: the kpi_targets row whose
    days hold it (from effective_from, null: the first day, to the day before
    effective_to, null: still in force). A day before a KPI's first target has no row.
    One rule for fct_kpi_attainment and fct_kpi_pace. -#}
{% macro targets_in_force(days) -%}
    select
        {{ days }}.kpi_id,
        {{ days }}.kpi_date,
        targets.effective_from,
        targets.target_kind,
        targets.target_value,
        targets.target_change_on_last_year,
        targets.at_risk_tolerance
    from {{ days }}
    inner join {{ ref('kpi_targets') }} as targets
        on
            {{ days }}.kpi_id = targets.kpi_id
            and (targets.effective_from is null or {{ days }}.kpi_date >= targets.effective_from)
            and (targets.effective_to is null or {{ days }}.kpi_date < targets.effective_to)
{%- endmacro %}
