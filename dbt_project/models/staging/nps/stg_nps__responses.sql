with source as (
    select * from {{ source('raw', 'nps_responses') }}
)

select
    response_id,
    contact_id,
    submitted_at,
    score,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
