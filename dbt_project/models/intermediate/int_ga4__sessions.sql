{{ config(replaced_by_key('session_date')) }}

-- One row per GA4 session (user_pseudo_id + ga_session_id), on the day of its first
-- event, so a session crossing midnight counts once. Its traffic source is that of its
-- earliest event carrying a source param; none means direct.
with events as (
    select * from {{ ref('stg_ga4__events') }}
    -- a session of the window may have started the day before it
    where extract_date >= cast({{ window_start() }} - interval '1 day' as date)
),

sessions as (
    select
        session_key,
        min(user_pseudo_id) as user_pseudo_id,
        min(event_at) as session_started_at,
        {{ arg_min('event_source', 'event_at', 'event_source is not null') }} as session_source,
        {{ arg_min('event_medium', 'event_at', 'event_source is not null') }} as session_medium,
        {{ arg_min('event_campaign', 'event_at', 'event_source is not null') }} as session_campaign,
        {{ arg_min('country', 'event_at') }} as country,
        {{ arg_min('device_category', 'event_at') }} as device_category,
        count(*) as events,
        count(*) filter (
            where event_name in ('{{ var("conversion_events") | join("', '") }}')  -- noqa: LT05
        ) as conversion_events
    from events
    group by session_key
),

with_source as (
    select
        session_key,
        user_pseudo_id,
        session_started_at,
        {{ local_date('session_started_at') }} as session_date,
        coalesce(session_source, '(direct)') as session_source,
        coalesce(session_medium, '(none)') as session_medium,
        session_campaign,
        country,
        device_category,
        events,
        conversion_events > 0 as is_converted
    from sessions
)

select
    with_source.*,
    {{ default_channel_group(
        'with_source.session_source',
        'with_source.session_medium',
        'with_source.session_campaign',
        'categories.source_category'
    ) }} as channel
from with_source
left join {{ ref('ga4_source_categories') }} as categories
    on with_source.session_source = categories.source
where {{ in_window('with_source.session_date') }}
