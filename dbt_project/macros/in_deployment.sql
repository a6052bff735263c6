{#- The KPIs this deployment computes (deployment.yml / KPI_SOURCES): a KPI whose sources
    are not declared gets no rows. Read when the model runs from KPI_DBT_KPIS (a comma-
    separated list of ids, set by Dagster); unset, every KPI of the catalogue. -#}
{% macro in_deployment(kpi_id_column) -%}
    {%- set kpis = env_var('KPI_DBT_KPIS', '') if execute else '' -%}
    {%- set ids = kpis.split(',') | map('trim') | list if kpis else [] -%}
    {{ kpi_id_column ~ " in ('" ~ ids | join("', '") ~ "')" if ids else "true" }}
{%- endmacro %}
