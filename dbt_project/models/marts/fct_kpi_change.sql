{{ config(replaced_by_key('kpi_date')) }}
{{ config(pre_hook="{{ delete_replaced_days(change_days_recomputed('kpi_date')) }}") }}

-- Why each KPI moved, per day, against the previous day and the same day last year: the
-- change of the overall value split over the values of each breakdown, exactly (the
-- parts add up to the change).
-- - A plain sum (no denominator): each segment's own change (effect `change`).
-- - A ratio V = scale x N / D = scale x sum(s_i x r_i), with s_i = d_i / D the segment's
--   share of the denominator and r_i = n_i / d_i its rate: the symmetric (Kitagawa)
--   shift-share, mix_i = scale x (s1 - s0)(r1 + r0) / 2 and rate_i = scale x (r1 - r0)
--   (s1 + s0) / 2. A segment missing in one period takes the other period's rate there
--   (all of its part is mix); a segment with numerator but no denominator puts its term
--   scale x n / D under `rate`.
-- - What the segments do not explain (distinct counts whose segments overlap) is one more
--   row, `(not attributable)`, effect `overlap`.
-- Days whose overall value is unknown in either period have no rows. The same rules,
-- written again in Python, drive `kpi explain` (kpi_pipeline/explain/); the tests hold the
-- two against each other.
-- Incremental: a run recomputes the rows of every day whose facts, or whose compared
-- day's facts, its window changes: the window's days, the day after each, and the same
-- days a year on (macros/replaced_days.sql; Feb 28 of last year is compared with both
-- Feb 28 and Feb 29). It replaces those days whole, both comparisons, reading the
-- compared days' facts whole; the days' old rows are removed first, so that a day with no
-- rows left (its value became unknown) loses them too. Other days' rows stay: nothing
-- they read has changed. A catalogue change reaches them only with `--full-refresh`.
with daily as (
    select * from {{ ref('fct_kpi_daily') }}
),

catalogue as (
    select
        kpi_id,
        is_ratio,
        value_scale
    from {{ ref('kpi_catalogue') }}
),

comparisons as (
    select
        overall.kpi_date,
        overall.kpi_id,
        comparison.compared_with,
        case comparison.compared_with
            when 'previous_day' then cast(overall.kpi_date - interval '1 day' as date)
            else cast(overall.kpi_date - interval '1 year' as date)
        end as compared_date
    from daily as overall
    cross join
        (values ('previous_day'), ('last_year')) as comparison (compared_with)
    where
        overall.dimension = 'all'
        {%- if is_incremental() %}
            and {{ change_days_recomputed('overall.kpi_date') }}
        {%- endif %}
),

overalls as (
    -- both periods' overall values, where both are known
    select
        comparisons.kpi_date,
        comparisons.kpi_id,
        comparisons.compared_with,
        comparisons.compared_date,
        catalogue.is_ratio,
        catalogue.value_scale,
        cast(now.value as {{ sql_type('double precision') }}) as value_to,
        cast(base.value as {{ sql_type('double precision') }}) as value_from,
        cast(now.denominator as {{ sql_type('double precision') }}) as denominator_to,
        cast(base.denominator as {{ sql_type('double precision') }}) as denominator_from
    from comparisons
    inner join catalogue on comparisons.kpi_id = catalogue.kpi_id
    inner join daily as now
        on
            comparisons.kpi_id = now.kpi_id
            and comparisons.kpi_date = now.kpi_date
            and now.dimension = 'all'
    inner join daily as base
        on
            comparisons.kpi_id = base.kpi_id
            and comparisons.compared_date = base.kpi_date
            and base.dimension = 'all'
    where now.value is not null and base.value is not null
),

segment_keys as (
    -- each breakdown value found in either period
    select
        overalls.kpi_date,
        overalls.kpi_id,
        overalls.compared_with,
        overalls.compared_date,
        daily.dimension,
        daily.dimension_value
    from overalls
    inner join daily
        on
            overalls.kpi_id = daily.kpi_id
            and overalls.kpi_date = daily.kpi_date
            and daily.dimension != 'all'
    union
    select
        overalls.kpi_date,
        overalls.kpi_id,
        overalls.compared_with,
        overalls.compared_date,
        daily.dimension,
        daily.dimension_value
    from overalls
    inner join daily
        on
            overalls.kpi_id = daily.kpi_id
            and overalls.compared_date = daily.kpi_date
            and daily.dimension != 'all'
),

segments as (
    -- a segment's numerator and denominator in both periods (null where it is missing)
    select
        segment_keys.kpi_date,
        segment_keys.kpi_id,
        segment_keys.compared_with,
        segment_keys.dimension,
        segment_keys.dimension_value,
        cast(now.numerator as {{ sql_type('double precision') }}) as numerator_to,
        cast(base.numerator as {{ sql_type('double precision') }}) as numerator_from,
        cast(now.denominator as {{ sql_type('double precision') }}) as segment_denominator_to,
        cast(base.denominator as {{ sql_type('double precision') }}) as segment_denominator_from
    from segment_keys
    left join daily as now
        on
            segment_keys.kpi_id = now.kpi_id
            and segment_keys.kpi_date = now.kpi_date
            and segment_keys.dimension = now.dimension
            and segment_keys.dimension_value = now.dimension_value
    left join daily as base
        on
            segment_keys.kpi_id = base.kpi_id
            and segment_keys.compared_date = base.kpi_date
            and segment_keys.dimension = base.dimension
            and segment_keys.dimension_value = base.dimension_value
),

shares as (
    select
        segments.*,
        overalls.compared_date,
        overalls.is_ratio,
        overalls.value_scale,
        overalls.value_from,
        overalls.value_to,
        case
            when segments.segment_denominator_to > 0
                then segments.segment_denominator_to / overalls.denominator_to
            else 0
        end as share_to,
        case
            when segments.segment_denominator_from > 0
                then segments.segment_denominator_from / overalls.denominator_from
            else 0
        end as share_from,
        case
            when segments.segment_denominator_to > 0
                then segments.numerator_to / segments.segment_denominator_to
        end as rate_to,
        case
            when segments.segment_denominator_from > 0
                then segments.numerator_from / segments.segment_denominator_from
        end as rate_from,
        -- a numerator without a denominator: its term of the value, put under `rate`
        case
            when coalesce(segments.segment_denominator_to, 0) = 0
                then coalesce(segments.numerator_to, 0) / overalls.denominator_to
            else 0
        end as loose_to,
        case
            when coalesce(segments.segment_denominator_from, 0) = 0
                then coalesce(segments.numerator_from, 0) / overalls.denominator_from
            else 0
        end as loose_from
    from segments
    inner join overalls
        on
            segments.kpi_date = overalls.kpi_date
            and segments.kpi_id = overalls.kpi_id
            and segments.compared_with = overalls.compared_with
),

effects as (
    select
        kpi_date,
        compared_with,
        compared_date,
        kpi_id,
        dimension,
        dimension_value,
        value_from,
        value_to,
        'change' as effect,
        coalesce(numerator_to, 0) - coalesce(numerator_from, 0) as contribution
    from shares
    where not is_ratio
    union all
    select
        kpi_date,
        compared_with,
        compared_date,
        kpi_id,
        dimension,
        dimension_value,
        value_from,
        value_to,
        'mix' as effect,
        value_scale * (share_to - share_from)
        * (coalesce(rate_to, rate_from, 0) + coalesce(rate_from, rate_to, 0)) / 2
            as contribution
    from shares
    where is_ratio
    union all
    select
        kpi_date,
        compared_with,
        compared_date,
        kpi_id,
        dimension,
        dimension_value,
        value_from,
        value_to,
        'rate' as effect,
        value_scale * (
            (coalesce(rate_to, rate_from, 0) - coalesce(rate_from, rate_to, 0))
            * (share_to + share_from) / 2
            + loose_to - loose_from
        ) as contribution
    from shares
    where is_ratio
),

explained as (
    select
        kpi_date,
        kpi_id,
        compared_with,
        dimension,
        sum(contribution) as contribution
    from effects
    group by kpi_date, kpi_id, compared_with, dimension
),

unexplained as (
    select
        overalls.kpi_date,
        overalls.compared_with,
        overalls.compared_date,
        overalls.kpi_id,
        explained.dimension,
        '(not attributable)' as dimension_value,
        overalls.value_from,
        overalls.value_to,
        'overlap' as effect,
        (overalls.value_to - overalls.value_from) - explained.contribution as contribution
    from overalls
    inner join explained
        on
            overalls.kpi_date = explained.kpi_date
            and overalls.kpi_id = explained.kpi_id
            and overalls.compared_with = explained.compared_with
)

select
    kpi_date,
    compared_with,
    compared_date,
    kpi_id,
    dimension,
    dimension_value,
    effect,
    contribution,
    value_from,
    value_to,
    value_to - value_from as change  -- noqa: RF04
from effects
union all
select
    kpi_date,
    compared_with,
    compared_date,
    kpi_id,
    dimension,
    dimension_value,
    effect,
    contribution,
    value_from,
    value_to,
    value_to - value_from as change  -- noqa: RF04
from unexplained
where abs(contribution) > 1e-9 * greatest(1, abs(value_to), abs(value_from))
