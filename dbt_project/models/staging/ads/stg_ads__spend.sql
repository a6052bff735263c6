with source as (
    select * from {{ source('raw', 'ads_spend') }}
)

select
    spend_date,
    channel,
    campaign,
    -- exact decimals: sums do not depend on the order DuckDB adds rows in
    cast(spend as decimal(18, 6)) as spend,
    impressions,
    clicks,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    upper(currency) as currency
from source
