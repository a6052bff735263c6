with source as (
    select * from {{ source('raw', 'salesforce_opportunities') }}
)

select
    opportunity_id,
    created_at,
    modified_at,
    stage_name,
    is_won,
    is_closed,
    amount,
    close_date,
    campaign_id,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    upper(trim(currency)) as currency,
    coalesce(is_deleted, false) as is_deleted
from source
