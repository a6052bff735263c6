{#- The days of fct_kpi_change an incremental run recomputes: a day's rows compare it with
    the day before and the same day last year, so when the run changes the facts of its
    window's days, the rows of every day that is in the window, or whose day before or day
    last year is, change. -#}
{% macro change_days_recomputed(date_column) -%}
    (
        {{ in_window(date_column) }}
        or {{ in_window("cast(" ~ date_column ~ " - interval '1 day' as date)") }}
        or {{ in_window("cast(" ~ date_column ~ " - interval '1 year' as date)") }}
    )
{%- endmacro %}

{#- A pre-hook of an incremental model keyed by kpi_date: the rows of the days it
    recomputes (`days_condition` on kpi_date) removed first, so that a day left with no
    row (its value became unknown) loses its old ones; delete+insert on kpi_date (and
    Spark's insert_overwrite) replace only the days that have rows. On Spark the days'
    partitions are dropped, in one statement. Nothing on a first build or a full
    refresh. -#}
{% macro delete_replaced_days(days_condition) -%}
{%- if execute and is_incremental() and target.type == 'spark' -%}
{%- set found = run_query('select distinct kpi_date from ' ~ this ~ ' where ' ~ days_condition) -%}
{%- set partitions = [] -%}
{%- for day in found.columns[0].values() -%}
{%- do partitions.append("partition (kpi_date = '" ~ day ~ "')") -%}
{%- endfor -%}
{%- if partitions -%}
{%- do run_query('alter table ' ~ this ~ ' drop if exists ' ~ partitions | join(', ')) -%}
{%- endif -%}
{%- elif execute and is_incremental() -%}
delete from {{ this }} where {{ days_condition }}
{%- endif -%}
{%- endmacro %}
