-- Ad spend per date, channel and campaign in its latest extract (a later extract may
-- restate an earlier date).
with versions as (
    select
        *,
        {{ latest_version_rank(['spend_date', 'channel', 'campaign']) }} as version_rank
    from {{ ref('stg_ads__spend') }}
)

select
    spend_date,
    channel,
    campaign,
    spend,
    currency,
    impressions,
    clicks
from versions
where version_rank = 1
