-- Social posts with their latest counts (a post is reported again, with lifetime totals,
-- in later extracts; the latest extract wins).
with versions as (
    select
        *,
        {{ latest_version_rank(['platform', 'post_id']) }} as version_rank
    from {{ ref('stg_social__posts') }}
)

select
    post_date,
    platform,
    post_id,
    platform || ':' || post_id as post_key,
    coalesce(impressions, 0) as impressions,
    coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) as engagements
from versions
where version_rank = 1
