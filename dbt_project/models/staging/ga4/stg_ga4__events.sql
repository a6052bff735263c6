-- noqa: disable=RF03,AL09
-- (lambda parameters such as `p.key` read as table references to sqlfluff)
-- GA4 events of the current delivery of each export table: a daily table re-exported
-- on a later day (GA4 restates up to 3 days) replaces its earlier delivery, and an
-- intraday table is dropped once the daily table of the same date has arrived.
with deliveries as (
    select
        _extract_date as extract_date,
        source_file,
        {{ regexp_group('source_file', 'events_(intraday_)?([0-9]{8})', 0) }} as export_table,
        {{ regexp_group('source_file', 'events_(intraday_)?([0-9]{8})', 2) }} as table_date,
        position('events_intraday_' in source_file) > 0 as is_intraday
    from {{ source('raw', '_ingest_log') }}
    where raw_table = 'ga4_events' and duplicate_of is null
),

ranked as (
    select
        source_file,
        extract_date,
        is_intraday,
        max(extract_date) over (partition by export_table) as latest_delivery,
        bool_or(not is_intraday) over (partition by table_date) as has_daily_table
    from deliveries
),

current_files as (
    select source_file
    from ranked
    where extract_date = latest_delivery and not (is_intraday and has_daily_table)
),

source as (
    select * from {{ source('raw', 'ga4_events') }}
    where _source_file in (select current_files.source_file from current_files)
),

typed as (
    select
        source.user_pseudo_id,
        source.event_name,
        source._extract_date as extract_date,
        source._source_file as source_file,
        source._row_number as source_row_number,
        {{ ga4_field('source.geo', 'country') }} as country,
        {{ ga4_field('source.device', 'category') }} as device_category,
        {{ ga4_field('source.ecommerce', 'purchase_revenue', 'double precision') }} as purchase_revenue,
        {{ ga4_field('source.ecommerce', 'transaction_id') }} as transaction_id,
        {{ timestamp_from_micros('source.event_timestamp') }} as event_at,
        cast({{ ga4_param('ga_session_id', 'int_value') }} as bigint) as ga_session_id,
        lower({{ ga4_param('source') }}) as event_source,
        lower({{ ga4_param('medium') }}) as event_medium,
        {{ ga4_param('campaign') }} as event_campaign,
        -- exports write session_engaged as the string '1' or as an integer
        coalesce(
            {{ try_cast_integer(ga4_param('session_engaged', 'int_value')) }},
            {{ try_cast_integer(ga4_param('session_engaged')) }}
        ) = 1 as is_session_engaged
    from source
)

select
    typed.*,
    typed.user_pseudo_id || '-' || cast(typed.ga_session_id as {{ sql_type('varchar') }}) as session_key
from typed
