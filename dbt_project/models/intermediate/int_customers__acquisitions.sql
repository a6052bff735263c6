-- The day each customer was acquired: the placement day of their first order that was
-- not cancelled.
select
    contact_id,
    min(placed_at) as first_order_at,
    {{ local_date('min(placed_at)') }} as acquisition_date
from {{ ref('int_orders__orders') }}
where not is_cancelled and contact_id is not null
group by contact_id
