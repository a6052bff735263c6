-- CRM deals in their latest version with their outcome. HubSpot-only for now (default
-- pipeline stage ids closedwon / closedlost); the Salesforce side joins with the same columns.
with versions as (
    select
        *,
        row_number() over (
            partition by deal_id
            order by extract_date desc, source_row_number desc
        ) as version_rank
    from {{ ref('stg_hubspot__deals') }}
)

select
    'hubspot:' || cast(deal_id as varchar) as deal_key,
    'hubspot' as crm,
    cast(deal_id as varchar) as deal_id,
    created_at,
    {{ local_date('created_at') }} as created_date,
    {{ local_date('closed_at') }} as closed_date,
    cast(amount as decimal(18, 6)) as amount,
    -- HubSpot amounts are in the portal's currency, taken as the reporting currency
    '{{ var("reporting_currency") }}' as currency,
    case lower(deal_stage_id)
        when 'closedwon' then 'won'
        when 'closedlost' then 'lost'
        else 'open'
    end as outcome,
    cast(null as varchar) as campaign_id
from versions
where version_rank = 1
