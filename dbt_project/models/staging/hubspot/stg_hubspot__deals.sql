with source as (
    select * from {{ source('raw', 'hubspot_deals') }}
)

select
    record_id as deal_id,
    deal_name,
    amount,
    created_at,
    closed_at,
    modified_at,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    -- HubSpot ids are lower-case; exports sometimes pad them
    lower(trim(deal_stage)) as deal_stage_id,
    lower(trim(pipeline)) as pipeline_id,
    upper(trim(currency)) as currency
from source
