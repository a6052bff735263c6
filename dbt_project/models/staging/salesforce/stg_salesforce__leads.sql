with source as (
    select * from {{ source('raw', 'salesforce_leads') }}
)

select
    lead_id,
    email_hash,
    created_at,
    modified_at,
    lead_source,
    status as lead_status,
    is_converted,
    converted_date,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    -- deleted in Salesforce (queryAll); an export without the column deletes nothing
    coalesce(is_deleted, false) as is_deleted
from source
