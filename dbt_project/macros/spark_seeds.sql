-- noqa: disable=LT02
-- (the macros below render nothing here; dbt-spark's seed SQL they write is laid out by loops)
{#- Seeds on Spark (dbt-spark 1.11, `method: session`). Two fixes of dbt-spark's own macros:
    - its session cursor puts each value into the SQL as '<value>': an empty cell (None)
      became the string 'None' (dbt-adapters#487) and a quote in a cell broke the statement;
      here every value is written as a literal (null, a number, an escaped string);
    - the seeds' `column_types` are written in the names DuckDB and PostgreSQL share
      (`text`, `double precision`), which Spark does not parse: `spark_type` names them
      as Spark does. -#}
{% macro spark_type(sql_type) -%}
    {%- set named = sql_type | trim | lower -%}
    {%- if named in ('text', 'varchar') -%}string
    {%- elif named == 'double precision' -%}double
    {%- elif named in ('timestamptz', 'timestamp with time zone') -%}timestamp
    {%- else -%}{{ sql_type }}
    {%- endif -%}
{%- endmacro %}

{#- dbt's `cast` on Spark, with the type named as Spark names it: the models' contracts declare
    the names DuckDB and PostgreSQL share, and dbt checks a contract by casting null to each. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type(type) }})
{%- endmacro %}

{% macro spark_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}

{% macro spark__create_csv_table(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {% set sql %}
        create table {{ this.render() }} (
            {%- for col_name in agate_table.column_names -%}
                {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                {%- set type = spark_type(column_override.get(col_name, inferred_type)) -%}
                {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }}
                {%- if not loop.last -%}, {%- endif -%}
            {%- endfor -%}
        )
        {{ file_format_clause() }}
        {{ partition_cols(label="partitioned by") }}
        {{ clustered_cols(label="clustered by") }}
        {{ location_clause() }}
        {{ comment_clause() }}
    {% endset %}
    {% call statement('_') -%}
        {{ sql }}
    {%- endcall %}
    {{ return(sql) }}
{% endmacro %}

{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                    {%- set type = spark_type(column_override.get(col_name, inferred_type)) -%}
                    cast({{ spark_literal(row[loop.index0]) }} as {{ type }})
                    {%- if not loop.last -%}, {%- endif -%}
                {%- endfor -%})
                {%- if not loop.last -%}, {%- endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}
