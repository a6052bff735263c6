-- Each order in its latest known version (latest extract wins; last row of a file wins).
with versions as (
    select
        *,
        {{ latest_version_rank(['order_id']) }} as version_rank
    from {{ ref('stg_orders__orders') }}
)

select
    order_id,
    contact_id,
    placed_at,
    {{ local_date('placed_at') }} as placed_date,
    fulfilled_at,
    {{ local_date('fulfilled_at') }} as fulfilled_date,
    -- a double on every engine (Spark would divide by a decimal literal in decimals)
    cast({{ microseconds_between('placed_at', 'fulfilled_at') }} as {{ sql_type('double precision') }})
    / 3600000000 as processing_hours,
    order_status,
    order_status = 'cancelled' as is_cancelled,
    net_amount,
    currency,
    extract_date as last_extract_date
from versions
where version_rank = 1
