-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
-- Where each KPI is heading, per day: its value for the period to date (the week,
-- month or quarter its review cadence names; a daily cadence reviews the month), the
-- target to date and for the whole period, and the projected end-of-period value with an
-- 80 % interval and a projected status.
-- - Period to date: the components of the period's days so far summed, then divided;
--   distinct counts recounted over those days (macros/kpi_facts.sql). A day of the period
--   without a value leaves the period to date without one (never a partial sum).
-- - Pacing: each component projected as its value to date divided by the share of last
--   year's same period it took by the same day (52 weeks earlier for weeks), where last
--   year covers the whole period with a positive total; else by the share of days elapsed.
--   A distinct-count KPI is projected as its value to date (counts do not add up).
-- - Targets: a plain sum's period target is the sum of its days' targets, the days to
--   come at the target in force today; to date, it is pro-rated like the projection. A
--   ratio's targets are the one in force today; a relative target is last year's period
--   value times (1 + change).
-- - Interval: the 10th and 90th percentiles of how far this KPI's final value landed
--   from its projection at the same day of its earlier periods (at least 3), as ratios.
-- - Projected status: the status rule (macros/kpi_status.sql) applied to the projection
--   against the period target.
with daily as (
    select * from {{ ref('fct_kpi_daily') }}
    where dimension = 'all'
),

catalogue as (
    select
        kpi_id,
        is_ratio,
        value_scale,
        direction,
        case review_cadence
            when 'weekly' then 'week'
            when 'quarterly' then 'quarter'
            else 'month'
        end as period_grain
    from {{ ref('kpi_catalogue') }}
),

starts as (
    select
        daily.kpi_date,
        daily.kpi_id,
        catalogue.period_grain,
        cast(date_trunc(catalogue.period_grain, cast(daily.kpi_date as timestamp)) as date)
            as period_start
    from daily
    inner join catalogue on daily.kpi_id = catalogue.kpi_id
),

days as (
    select
        starts.*,
        cast(
            starts.period_start
            + case starts.period_grain
                when 'week' then interval '7 day'
                when 'month' then interval '1 month'
                else interval '3 month'
            end
            - interval '1 day' as date
        ) as period_end,
        case starts.period_grain
            when 'week' then interval '364 day'
            else interval '1 year'
        end as shift
    from starts
),

periods as (
    select
        days.*,
        {{ days_between('days.period_start', 'days.period_end') }} + 1 as days_in_period,
        {{ days_between('days.period_start', 'days.kpi_date') }} + 1 as days_elapsed,
        cast(days.period_start - days.shift as date) as last_year_start,
        cast(days.period_end - days.shift as date) as last_year_end,
        cast(days.kpi_date - days.shift as date) as last_year_day,
        -- the profile: the same days 52 weeks earlier, so weekdays line up
        cast(days.period_start - interval '364 day' as date) as profile_start,
        cast(days.period_end - interval '364 day' as date) as profile_end,
        cast(days.kpi_date - interval '364 day' as date) as profile_day
    from days
),

additive_to_date as (
    select
        periods.kpi_date,
        periods.kpi_id,
        count(*) as days_with_rows,
        count(so_far.value) as days_with_value,
        sum(cast(so_far.numerator as decimal(38, 9))) as numerator,
        sum(cast(so_far.denominator as decimal(38, 9))) as denominator
    from periods
    inner join daily as so_far
        on
            periods.kpi_id = so_far.kpi_id
            and so_far.kpi_date between periods.period_start and periods.kpi_date
    group by periods.kpi_date, periods.kpi_id
),

{%- set distinct_kpis = recounted_kpis() %}
{%- for kpi in distinct_kpis %}

-- {{ kpi.id }} counts distinct entities: recounted over each period's days so far
windows__{{ kpi.id }} as (
    select
        kpi_date,
        period_start as first_day,
        kpi_date as last_day
    from periods
    where kpi_id = '{{ kpi.id }}'
),

counted_days__{{ kpi.id }} as (
    select kpi_date from daily
    where kpi_id = '{{ kpi.id }}' and numerator is not null
),
{%- for term in kpi.numerator + kpi.denominator %}

recount__{{ kpi.id }}__{{ term[1] }} as (
    {{ metric_over_windows(term[1], [], 'windows__' ~ kpi.id, ['kpi_date'], 'counted_days__' ~ kpi.id) }}
),
{%- endfor %}

recounted__{{ kpi.id }} as (
    {{ kpi_components(kpi, 'windows__' ~ kpi.id, ['kpi_date'], 'recount__' ~ kpi.id ~ '__') }}
),
{%- endfor %}

{%- if distinct_kpis %}

recounted as (
    {%- for kpi in distinct_kpis %}
    {{ 'union all' if not loop.first }}
    select * from recounted__{{ kpi.id }}
    {%- endfor %}
),
{%- endif %}

components_so_far as (
    select
        additive_to_date.kpi_date,
        additive_to_date.kpi_id,
        additive_to_date.days_with_rows = additive_to_date.days_with_value as is_complete,
        {%- if distinct_kpis %}
        coalesce(recounted.numerator, additive_to_date.numerator) as numerator,
        coalesce(recounted.denominator, additive_to_date.denominator) as denominator,
        recounted.kpi_id is not null as is_recounted
        {%- else %}
        additive_to_date.numerator,
        additive_to_date.denominator,
        false as is_recounted
        {%- endif %}
    from additive_to_date
    {%- if distinct_kpis %}
    left join recounted  -- noqa: ST11
        on
            additive_to_date.kpi_date = recounted.kpi_date
            and additive_to_date.kpi_id = recounted.kpi_id
    {%- endif %}
),

last_year as (
    -- last year's same period: its days up to the same day, and all of it
    select
        periods.kpi_date,
        periods.kpi_id,
        count(year_before.numerator) as days_with_value,
        sum(case when year_before.kpi_date <= periods.profile_day then year_before.numerator end)
            as numerator_to_date,
        sum(year_before.numerator) as numerator_total,
        sum(case when year_before.kpi_date <= periods.profile_day then year_before.denominator end)
            as denominator_to_date,
        sum(year_before.denominator) as denominator_total
    from periods
    inner join daily as year_before
        on
            periods.kpi_id = year_before.kpi_id
            and year_before.kpi_date between periods.profile_start and periods.profile_end
    group by periods.kpi_date, periods.kpi_id
),

last_year_period as (
    select
        period_grain,
        period_start,
        kpi_id,
        value
    from {{ ref('fct_kpi_period') }}
    where dimension = 'all'
),

day_targets as (
    {{ targets_in_force('periods') }}
),

elapsed_targets as (
    -- a plain sum's absolute targets of the period's days so far (null unless every one has)
    select
        periods.kpi_date,
        periods.kpi_id,
        case
            when count(day_targets.target_value) = count(*) then sum(day_targets.target_value)
        end as target_so_far
    from periods
    inner join periods as so_far
        on
            periods.kpi_id = so_far.kpi_id
            and so_far.kpi_date between periods.period_start and periods.kpi_date
    left join day_targets
        on
            so_far.kpi_id = day_targets.kpi_id
            and so_far.kpi_date = day_targets.kpi_date
    group by periods.kpi_date, periods.kpi_id
),

paced as (
    select
        periods.kpi_date,
        periods.kpi_id,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.days_in_period,
        periods.days_elapsed,
        catalogue.is_ratio,
        catalogue.value_scale,
        catalogue.direction,
        components_so_far.is_recounted,
        case
            when components_so_far.is_complete
                then {{ kpi_value('components_so_far.numerator', 'components_so_far.denominator') }}
        end as period_to_date_value,
        -- the share of the period's total each component took by this day last year
        case
            when last_year.days_with_value = periods.days_in_period and last_year.numerator_total > 0
                then cast(last_year.numerator_to_date as double precision) / cast(last_year.numerator_total as double precision)
            else cast(periods.days_elapsed as double precision) / periods.days_in_period
        end as numerator_share,
        case
            when last_year.days_with_value = periods.days_in_period and last_year.denominator_total > 0
                then cast(last_year.denominator_to_date as double precision) / cast(last_year.denominator_total as double precision)
            else cast(periods.days_elapsed as double precision) / periods.days_in_period
        end as denominator_share,
        case when components_so_far.is_complete then components_so_far.numerator end as numerator,
        case when components_so_far.is_complete then components_so_far.denominator end as denominator,
        last_year_period.value as last_year_value,
        day_targets.effective_from as target_from,
        day_targets.target_kind,
        day_targets.target_value,
        day_targets.target_change_on_last_year,
        day_targets.at_risk_tolerance,
        elapsed_targets.target_so_far
    from periods
    inner join catalogue on periods.kpi_id = catalogue.kpi_id
    inner join components_so_far
        on periods.kpi_date = components_so_far.kpi_date and periods.kpi_id = components_so_far.kpi_id
    left join last_year
        on periods.kpi_date = last_year.kpi_date and periods.kpi_id = last_year.kpi_id
    left join last_year_period
        on
            periods.period_grain = last_year_period.period_grain
            and periods.last_year_start = last_year_period.period_start
            and periods.kpi_id = last_year_period.kpi_id
    left join day_targets
        on periods.kpi_date = day_targets.kpi_date and periods.kpi_id = day_targets.kpi_id
    left join elapsed_targets
        on periods.kpi_date = elapsed_targets.kpi_date and periods.kpi_id = elapsed_targets.kpi_id
),

projected as (
    select
        paced.*,
        case
            -- a ratio (and a distinct count) holds its rate: its value to date
            when paced.is_recounted or paced.is_ratio then paced.period_to_date_value
            else cast(paced.numerator as double precision) / nullif(paced.numerator_share, 0)
        end as projected_value,
        case
            when paced.target_kind = 'relative_to_last_year'
                then paced.last_year_value * (1 + paced.target_change_on_last_year)
            when paced.is_ratio then paced.target_value
            else paced.target_so_far + (paced.days_in_period - paced.days_elapsed) * paced.target_value
        end as period_target
    from paced
),

finals as (
    -- each complete earlier period's final value, to see how far projections landed
    select
        period_grain,
        period_start,
        kpi_id,
        value
    from {{ ref('fct_kpi_period') }}
    where
        dimension = 'all'
        and value is not null
        and days_covered = {{ days_between('period_start', 'period_end') }} + 1
),

misses as (
    select
        projected.kpi_date,
        projected.kpi_id,
        count(finals.value / earlier.projected_value) as periods_seen,
        percentile_cont(0.1) within group (order by finals.value / earlier.projected_value - 1)
            as low_miss,
        percentile_cont(0.9) within group (order by finals.value / earlier.projected_value - 1)
            as high_miss
    from projected
    inner join projected as earlier
        on
            projected.kpi_id = earlier.kpi_id
            and projected.days_elapsed = earlier.days_elapsed
            and projected.period_start > earlier.period_start
            and earlier.projected_value != 0
    inner join finals
        on
            earlier.kpi_id = finals.kpi_id
            and earlier.period_grain = finals.period_grain
            and earlier.period_start = finals.period_start
    group by projected.kpi_date, projected.kpi_id
)

select
    projected.kpi_date,
    projected.kpi_id,
    projected.period_grain,
    projected.period_start,
    projected.period_end,
    cast(projected.days_elapsed as integer) as days_elapsed,
    cast(projected.days_in_period as integer) as days_in_period,
    projected.period_to_date_value,
    case
        when projected.is_ratio or projected.target_kind = 'relative_to_last_year'
            then projected.period_target
        else projected.period_target * projected.numerator_share
    end as target_to_date,
    projected.period_target,
    projected.projected_value,
    case
        when misses.periods_seen >= 3
            then least(
                projected.projected_value * (1 + misses.low_miss),
                projected.projected_value * (1 + misses.high_miss)
            )
    end as projected_low,
    case
        when misses.periods_seen >= 3
            then greatest(
                projected.projected_value * (1 + misses.low_miss),
                projected.projected_value * (1 + misses.high_miss)
            )
    end as projected_high,
    {{ kpi_status('projected.projected_value', 'projected.period_target', 'projected.direction', 'projected.at_risk_tolerance') }}
        as projected_status
from projected
left join misses
    on projected.kpi_date = misses.kpi_date and projected.kpi_id = misses.kpi_id
