with source as (
    select * from {{ source('raw', 'hubspot_contacts') }}
)

select
    record_id as contact_id,
    email_hash,
    created_at,
    modified_at,
    original_source,
    became_customer_at,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    lower(lifecycle_stage) as lifecycle_stage
from source
