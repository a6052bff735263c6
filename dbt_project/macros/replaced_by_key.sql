{#- The config of a model a run rewrites in part: incremental, each run replacing the rows
    of the `keys` it writes (a column, or a list of columns) and leaving the others as
    they are. On DuckDB and PostgreSQL that is `delete+insert` on the keys; on Spark,
    whose Parquet tables have no delete, `insert_overwrite` of the table's partitions by
    those keys (the server's partition overwrite mode is `dynamic`: only the partitions
    the statement writes are replaced). A change of the model's columns stops the run
    (`--full-refresh` rebuilds it). -#}
{% macro replaced_by_key(keys) -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite' if target.type == 'spark' else 'delete+insert',
        'unique_key': keys,
        'partition_by': ([keys] if keys is string else keys) if target.type == 'spark' else none,
        'on_schema_change': 'fail',
    }) -}}
{%- endmacro %}
