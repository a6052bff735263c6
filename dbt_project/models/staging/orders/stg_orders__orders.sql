with source as (
    select * from {{ source('raw', 'orders') }}
)

select
    order_id,
    contact_id,
    placed_at,
    fulfilled_at,
    net_amount,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    lower(status) as order_status,
    upper(currency) as currency
from source
