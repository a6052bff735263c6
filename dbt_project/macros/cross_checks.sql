{#- A setting of the cross-checks (dbt_project/tests/), from quality.yml `cross_checks`,
    which the pipeline passes as the dbt var `cross_checks` (kpi_pipeline/partitions.py
    `dbt_deployment_vars`): a check's severity (`name` = the test's name: error or warn) or
    `net_revenue_tolerance`; `default` when dbt runs without the var (by hand). -#}
{% macro cross_check_setting(name, default) -%}
    {%- set settings = var('cross_checks', {}) -%}
    {{- return(settings.get(name, default) if settings is mapping else default) -}}
{%- endmacro %}

{#- Whether `relation` (a ref) is in the warehouse: a cross-check of a model that a hand-run
    `dbt build --select +fct_kpi_daily` did not build compares nothing (dbt's eager test
    selection still runs it). True while dbt parses. -#}
{% macro is_built(relation) -%}
    {{- return(not execute or load_relation(relation) is not none) -}}
{%- endmacro %}
