{#- 1 for the latest version of each record (`key_columns`): the latest `modified_column`
    first when the source has one (CRM last modified), then the latest extract, then the
    last row of the file. Keep the rows where it is 1. -#}
{% macro latest_version_rank(key_columns, modified_column=none) -%}
    {%- set newest_first = ([modified_column] if modified_column else [])
        + ['extract_date', 'source_row_number'] -%}
    row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ newest_first | join(' desc, ') }} desc
    )
{%- endmacro %}
