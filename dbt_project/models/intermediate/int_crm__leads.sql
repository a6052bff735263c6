-- One row per CRM lead / contact in its latest version, HubSpot and Salesforce in one
-- shape. Latest = last modified, then latest extract, then last row of the file.
with hubspot as (
    select
        'hubspot' as crm,
        cast(contact_id as {{ sql_type('varchar') }}) as lead_id,
        created_at,
        modified_at,
        original_source as lead_source,
        coalesce(lifecycle_stage = 'customer', false) as is_customer,
        became_customer_at as converted_at,
        {{ local_date('became_customer_at') }} as converted_date,
        false as is_deleted,
        extract_date,
        source_row_number
    from {{ ref('stg_hubspot__contacts') }}
),

salesforce as (
    select
        'salesforce' as crm,
        lead_id,
        created_at,
        modified_at,
        lead_source,
        is_converted as is_customer,
        -- Salesforce exports the conversion day only
        cast(null as {{ sql_type('timestamptz') }}) as converted_at,
        converted_date,
        is_deleted,
        extract_date,
        source_row_number
    from {{ ref('stg_salesforce__leads') }}
),

versions as (
    select
        *,
        {{ latest_version_rank(['crm', 'lead_id'], 'modified_at') }} as version_rank
    from (
        select * from hubspot
        union all
        select * from salesforce
    ) as leads
)

select
    crm || ':' || lead_id as lead_key,
    crm,
    lead_id,
    created_at,
    {{ local_date('created_at') }} as created_date,
    cast(lead_source as {{ sql_type('varchar') }}) as lead_source,
    is_customer,
    converted_at,
    converted_date
from versions
-- a record deleted in its latest version is gone (Salesforce queryAll)
where version_rank = 1 and not is_deleted
