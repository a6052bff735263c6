-- Ad spend in one shape, from the flat extract (ads/spend.csv) and the platforms' own
-- exports (Google Ads campaign report, cost possibly in micros; Meta Ads Manager).
with flat as (
    select
        spend_date,
        channel,
        campaign,
        spend,
        currency,
        impressions,
        clicks,
        cast(null as {{ sql_type('double precision') }}) as conversions,
        _extract_date,
        _source_file,
        _row_number
    from {{ source('raw', 'ads_spend') }}
),

google_ads as (
    select
        spend_date,
        'google_ads' as channel,
        campaign,
        coalesce(cost_micros / 1000000.0, cost) as spend,
        currency,
        impressions,
        clicks,
        conversions,
        _extract_date,
        _source_file,
        _row_number
    from {{ source('raw', 'google_ads_campaigns') }}
),

meta_ads as (
    select
        spend_date,
        'meta_ads' as channel,
        campaign,
        spend,
        currency,
        impressions,
        clicks,
        actions as conversions,
        _extract_date,
        _source_file,
        _row_number
    from {{ source('raw', 'meta_ads_campaigns') }}
),

source as (
    select * from flat
    union all
    select * from google_ads
    union all
    select * from meta_ads
)

select
    spend_date,
    channel,
    campaign,
    -- exact decimals: sums do not depend on the order DuckDB adds rows in
    cast(spend as decimal(18, 6)) as spend,
    impressions,
    clicks,
    conversions,
    _extract_date as extract_date,
    _source_file as source_file,
    _row_number as source_row_number,
    upper(currency) as currency
from source
