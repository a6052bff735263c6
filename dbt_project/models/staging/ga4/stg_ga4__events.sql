-- noqa: disable=RF03,AL09
-- (lambda parameters such as `p.key` read as table references to sqlfluff)
with source as (
    select * from {{ source('raw', 'ga4_events') }}
),

typed as (
    select
        source.user_pseudo_id,
        source.event_name,
        source._extract_date as extract_date,
        source._source_file as source_file,
        source._row_number as source_row_number,
        source.geo.country as country,
        source.device.category as device_category,
        source.ecommerce.purchase_revenue as purchase_revenue,
        source.ecommerce.transaction_id as transaction_id,
        to_timestamp(cast(source.event_timestamp as bigint) / 1000000.0) as event_at,
        cast({{ ga4_param('ga_session_id', 'int_value') }} as bigint) as ga_session_id,
        lower({{ ga4_param('source') }}) as event_source,
        lower({{ ga4_param('medium') }}) as event_medium,
        {{ ga4_param('campaign') }} as event_campaign
    from source
)

select
    typed.*,
    typed.user_pseudo_id || '-' || cast(typed.ga_session_id as varchar) as session_key
from typed
