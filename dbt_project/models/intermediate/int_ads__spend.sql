-- Ad spend per date, channel and campaign in its latest extract (a later extract may
-- restate an earlier date).
with versions as (
    select
        *,
        {{ latest_version_rank(['spend_date', 'channel', 'campaign']) }} as version_rank
    from {{ ref('stg_ads__spend') }}
)

select
    cast(spend_date as {{ sql_type('varchar') }}) || '|' || coalesce(channel, '') || '|' || coalesce(campaign, '')
        as spend_key,
    spend_date,
    channel,
    campaign,
    spend,
    currency,
    currency = '{{ var("reporting_currency") }}' as is_reporting_currency,
    impressions,
    clicks
from versions
where version_rank = 1
