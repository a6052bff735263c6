{#- dbt's `where` config of a data test, with the run's window: a test configured with
    `where: "<date column> >= __window_start__"` checks only the rows a run can have
    changed, so its cost does not grow with history. The placeholders become the window's
    bounds when the test runs (the `window_start` / `window_end` macros); a test without
    them, or a hand-run `dbt test` without a window, checks every row. This overrides
    dbt's own macro of the same name, the way dbt's docs on the `where` config show. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where
            | replace('__window_start__', window_start())
            | replace('__window_end__', window_end()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
