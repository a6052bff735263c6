-- Ad spend per date, channel and campaign in its latest extract (a later extract may
-- restate an earlier date).
with versions as (
    select
        *,
        row_number() over (
            partition by spend_date, channel, campaign
            order by extract_date desc, source_row_number desc
        ) as version_rank
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
