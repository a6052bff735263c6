with source as (
    select * from {{ source('raw', 'social_posts') }}
)

select
    post_date,
    post_id,
    impressions,
    reach,
    likes,
    comments,
    shares,
    saves,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    lower(platform) as platform
from source
