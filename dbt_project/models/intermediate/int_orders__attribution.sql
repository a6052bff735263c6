-- Each order with the GA4 session of its purchase (last click: the session holding the
-- order's earliest purchase event, matched on transaction_id = order_id), its channel and
-- campaign, and whether that channel is paid.
with purchases as (
    select
        transaction_id as order_id,
        {{ arg_min('session_key', 'event_at') }} as session_key
    from {{ ref('stg_ga4__events') }}
    where event_name = 'purchase' and transaction_id is not null
    group by transaction_id
)

select
    orders.order_id,
    orders.placed_date,
    orders.net_amount,
    orders.is_cancelled,
    purchases.session_key,
    sessions.channel,
    sessions.session_campaign as campaign,
    coalesce(sessions.channel in (
        'Cross-network', 'Paid Shopping', 'Paid Search', 'Paid Social', 'Paid Video',
        'Display', 'Paid Other'
    ), false) as is_paid
from {{ ref('int_orders__orders') }} as orders
left join purchases on orders.order_id = purchases.order_id
left join {{ ref('int_ga4__sessions') }} as sessions
    on purchases.session_key = sessions.session_key
