-- CRM leads (HubSpot contacts) in their latest version. HubSpot-only for now; the
-- Salesforce side joins this model with the same columns.
with versions as (
    select
        *,
        row_number() over (
            partition by contact_id
            order by extract_date desc, source_row_number desc
        ) as version_rank
    from {{ ref('stg_hubspot__contacts') }}
)

select
    'hubspot:' || cast(contact_id as varchar) as lead_key,
    'hubspot' as crm,
    cast(contact_id as varchar) as lead_id,
    created_at,
    {{ local_date('created_at') }} as created_date,
    original_source as lead_source,
    coalesce(lifecycle_stage = 'customer', false) as is_customer,
    -- HubSpot's contacts export carries no "became a customer" date
    cast(null as timestamptz) as converted_at,
    cast(null as date) as converted_date
from versions
where version_rank = 1
