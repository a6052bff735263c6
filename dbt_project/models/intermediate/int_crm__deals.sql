-- One row per CRM deal / opportunity in its latest version, HubSpot and Salesforce in
-- one shape. HubSpot's outcome comes from the crm_deal_stages seed (pipeline + stage
-- id); Salesforce's from IsWon / IsClosed, never from a stage name.
with hubspot as (
    select
        'hubspot' as crm,
        cast(deals.deal_id as {{ sql_type('varchar') }}) as deal_id,
        deals.created_at,
        deals.modified_at,
        {{ local_date('deals.closed_at') }} as closed_date,
        deals.amount,
        deals.currency,
        stage_map.outcome,
        cast(null as {{ sql_type('varchar') }}) as campaign_id,
        false as is_deleted,
        deals.extract_date,
        deals.source_row_number
    from {{ ref('stg_hubspot__deals') }} as deals
    left join {{ ref('crm_deal_stages') }} as stage_map
        on
            stage_map.crm = 'hubspot'
            and deals.pipeline_id = stage_map.pipeline_id
            and deals.deal_stage_id = stage_map.stage_id
),

salesforce as (
    select
        'salesforce' as crm,
        opportunity_id as deal_id,
        created_at,
        modified_at,
        close_date as closed_date,
        amount,
        currency,
        case
            when is_won then 'won'
            when is_closed then 'lost'
            else 'open'
        end as outcome,
        campaign_id,
        is_deleted,
        extract_date,
        source_row_number
    from {{ ref('stg_salesforce__opportunities') }}
),

versions as (
    select
        *,
        {{ latest_version_rank(['crm', 'deal_id'], 'modified_at') }} as version_rank
    from (
        select * from hubspot
        union all
        select * from salesforce
    ) as deals
)

select
    crm || ':' || deal_id as deal_key,
    crm,
    deal_id,
    created_at,
    {{ local_date('created_at') }} as created_date,
    -- an open deal's close date is only expected, not a close
    case when outcome in ('won', 'lost') then closed_date end as closed_date,
    cast(amount as decimal(18, 6)) as amount,
    coalesce(currency, '{{ var("reporting_currency") }}') as currency,
    outcome,
    campaign_id
from versions
-- a record deleted in its latest version is gone (Salesforce queryAll)
where version_rank = 1 and not is_deleted
