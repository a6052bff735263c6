with source as (
    select * from {{ source('raw', 'hubspot_deals') }}
)

select
    record_id as deal_id,
    deal_name,
    deal_stage as deal_stage_id,
    pipeline as pipeline_id,
    amount,
    created_at,
    closed_at,
    modified_at,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
