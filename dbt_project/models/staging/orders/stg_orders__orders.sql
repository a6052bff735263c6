with source as (
    select * from {{ source('raw', 'orders') }}
)

select
    order_id,
    contact_id,
    placed_at,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    -- exact decimals: sums do not depend on the order DuckDB adds rows in
    cast(net_amount as decimal(18, 6)) as net_amount,
    lower(status) as order_status,
    upper(currency) as currency,
    -- an order with several fulfilments is exported as one row per fulfilment: its
    -- processing time runs to the first one, whichever row or extract holds it
    min(fulfilled_at) over (partition by order_id) as fulfilled_at
from source
