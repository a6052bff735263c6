-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
{{ config(replaced_by_key('kpi_date')) }}

-- Where each KPI is heading, per day: its value for the period to date (the week,
-- month or quarter its review cadence names; a daily cadence reviews the month), the
-- target to date and for the whole period, and the projected end-of-period value with an
-- 80 % interval and a projected status.
-- - Period to date: the components of the period's days so far summed, then divided;
--   distinct counts recounted over those days (macros/kpi_facts.sql). A day of the period
--   without a value leaves the period to date without one (never a partial sum).
-- - Projection: the days still to come, each at this KPI's recent level times its
--   weekday's factor. The level is the mean of the last 28 days (four of each weekday);
--   the factors are each weekday's mean over the last 56 days (eight of each) divided by
--   the mean of those 56 days. A plain sum adds the days to come to its value to date; a
--   ratio adds denominators to come (paced the same way) at the numerator-per-denominator
--   rate of the last 28 days. A distinct-count KPI is projected as its value to date
--   (counts do not add up). Without 56 complete days before the day, the projection is
--   naive linear pacing (a sum scaled to the period's days, a ratio as it is to date).
--   Measured against naive pacing over two years of sample data: docs/kpis.md#backtest.
-- - Targets: a plain sum's period target is the sum of its days' targets, the days to
--   come at the target in force today; to date, it is pro-rated by the share of last
--   year's same period (52 weeks earlier for weeks) taken by the same day, where last year
--   covers the whole period, else by days elapsed. A ratio's targets are the one in force
--   today; a relative target is last year's period value times (1 + change).
-- - Interval (80 %): projected value +- 1.2816 standard deviations of what is still to
--   come, from the last 56 days' spread: a sum's days around their weekday's mean (the
--   days to come, and the level's own error over 28 days); a ratio's numerators around the
--   56 days' rate, per unit of denominator. None for a distinct count or a naive pacing.
-- - Projected status: the status rule (macros/kpi_status.sql) applied to the projection
--   against the period target.
-- Incremental: a run recomputes the rows of every day from its window's first day on (to
-- the last day of fct_kpi_daily) and replaces them; earlier days' rows stay. A day's row
-- reads only days up to it (its period to date, its last 56 days, last year's period), so
-- the days before the window cannot change, but every later one can: a restated or
-- backfilled day moves the pace of the days after it (their period to date, their 56
-- days, the same period a year on). A daily run's window is the newest days, so it
-- recomputes just those. A target edited in place, or a catalogue change, reaches the
-- days before the window only with `--full-refresh` (targets change by a new entry:
-- docs/kpis.md#changing-a-target).
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
    {%- if is_incremental() %}
    -- the days recomputed: the window's and every later one (their history is read whole)
    where daily.kpi_date >= {{ window_start() }}
    {%- endif %}
),

days as (
    select
        starts.*,
        -- a grain here is a week, a month or a quarter
        cast(
            {{ period_after('starts.period_start', 'starts.period_grain') }}
            - interval '1 day' as date
        ) as period_end
    from starts
),

periods as (
    select
        days.*,
        {{ days_between('days.period_start', 'days.period_end') }} + 1 as days_in_period,
        {{ days_between('days.period_start', 'days.kpi_date') }} + 1 as days_elapsed,
        {{ days_between('days.kpi_date', 'days.period_end') }} as days_to_come,
        {{ last_year_day('days.period_start', 'days.period_grain') }} as last_year_start,
        {{ last_year_day('days.period_end', 'days.period_grain') }} as last_year_end,
        {{ last_year_day('days.kpi_date', 'days.period_grain') }} as last_year_day,
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
        sum(year_before.numerator) as numerator_total
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
    -- every day's target: a recomputed day's period to date may start before the window
    {{ targets_in_force('daily') }}
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
    inner join daily as so_far
        on
            periods.kpi_id = so_far.kpi_id
            and so_far.kpi_date between periods.period_start and periods.kpi_date
    left join day_targets
        on
            so_far.kpi_id = day_targets.kpi_id
            and so_far.kpi_date = day_targets.kpi_date
    group by periods.kpi_date, periods.kpi_id
),

past_days as (
    -- the 56 days up to each day, the day included
    select
        periods.kpi_date,
        periods.kpi_id,
        periods.days_to_come,
        {{ iso_weekday('periods.kpi_date') }} as today_weekday,
        {{ iso_weekday('past.kpi_date') }} as day_of_week,
        {{ days_between('past.kpi_date', 'periods.kpi_date') }} < 28 as is_recent,
        cast(past.numerator as {{ sql_type('double precision') }}) as numerator,
        cast(past.denominator as {{ sql_type('double precision') }}) as denominator
    from periods
    inner join daily as past
        on
            periods.kpi_id = past.kpi_id
            and past.kpi_date between cast(periods.kpi_date - interval '55 day' as date) and periods.kpi_date
),

history as (
    -- complete when all 56 days are there with their components
    select
        kpi_date,
        kpi_id,
        count(numerator) = 56 and count(denominator) in (0, 56) as is_complete,
        avg(numerator) as numerator_mean,
        avg(denominator) as denominator_mean,
        avg(case when is_recent then numerator end) as recent_numerator_mean,
        avg(case when is_recent then denominator end) as recent_denominator_mean,
        sum(case when is_recent then numerator end) as recent_numerator,
        sum(case when is_recent then denominator end) as recent_denominator,
        sum(numerator) / nullif(sum(denominator), 0) as rate
    from past_days
    group by kpi_date, kpi_id
),

weekdays as (
    -- each weekday's mean over the 56 days, and how many of the days to come fall on it
    select
        past_days.kpi_date,
        past_days.kpi_id,
        past_days.day_of_week,
        avg(past_days.numerator) as numerator_mean,
        avg(past_days.denominator) as denominator_mean,
        -- days to come on this weekday: one per whole week, plus one if it comes first
        -- in the part week (counted from tomorrow's weekday)
        floor(cast(min(past_days.days_to_come) as {{ sql_type('double precision') }}) / 7)
        + case
            when (cast(past_days.day_of_week - min(past_days.today_weekday) + 6 as integer) % 7) < min(past_days.days_to_come) % 7
                then 1
            else 0
        end as days_to_come
    from past_days
    group by past_days.kpi_date, past_days.kpi_id, past_days.day_of_week
),

spread as (
    -- the 56 days' squared deviations: a sum's days from their weekday's mean (relative),
    -- a ratio's numerators from the 56 days' rate (per unit of denominator)
    select
        past_days.kpi_date,
        past_days.kpi_id,
        sum(
            case
                when weekdays.numerator_mean != 0
                    then (past_days.numerator / weekdays.numerator_mean - 1) * (past_days.numerator / weekdays.numerator_mean - 1)
                else 0
            end
        ) / 49 as relative_variance,
        sum(
            case
                when past_days.denominator > 0
                    then (past_days.numerator - history.rate * past_days.denominator) * (past_days.numerator - history.rate * past_days.denominator) / past_days.denominator
            end
        ) / nullif(count(case when past_days.denominator > 0 then 1 end) - 1, 0) as numerator_per_denominator_variance
    from past_days
    inner join weekdays
        on
            past_days.kpi_date = weekdays.kpi_date
            and past_days.kpi_id = weekdays.kpi_id
            and past_days.day_of_week = weekdays.day_of_week
    inner join history
        on past_days.kpi_date = history.kpi_date and past_days.kpi_id = history.kpi_id
    group by past_days.kpi_date, past_days.kpi_id
),

to_come as (
    -- the days to come at the recent level times their weekday's factor
    select
        weekdays.kpi_date,
        weekdays.kpi_id,
        sum(weekdays.days_to_come * weekdays.numerator_mean) / nullif(max(history.numerator_mean), 0)
            as numerator_weight,
        sum(weekdays.days_to_come * weekdays.numerator_mean * weekdays.numerator_mean)
        / nullif(max(history.numerator_mean) * max(history.numerator_mean), 0) as numerator_weight_squared,
        sum(weekdays.days_to_come * weekdays.denominator_mean) / nullif(max(history.denominator_mean), 0)
            as denominator_weight
    from weekdays
    inner join history
        on weekdays.kpi_date = history.kpi_date and weekdays.kpi_id = history.kpi_id
    group by weekdays.kpi_date, weekdays.kpi_id
),

recent as (
    select
        history.kpi_date,
        history.kpi_id,
        history.recent_denominator,
        spread.numerator_per_denominator_variance,
        history.recent_numerator_mean * to_come.numerator_weight as numerator_to_come,
        history.recent_denominator_mean * to_come.denominator_weight as denominator_to_come,
        history.recent_numerator / nullif(history.recent_denominator, 0) as recent_rate,
        -- the days to come, and the recent level's own error (its mean over 28 days)
        abs(history.recent_numerator_mean) * sqrt(
            spread.relative_variance
            * (to_come.numerator_weight_squared + to_come.numerator_weight * to_come.numerator_weight / 28)
        ) as numerator_to_come_sd
    from history
    inner join to_come
        on history.kpi_date = to_come.kpi_date and history.kpi_id = to_come.kpi_id
    inner join spread
        on history.kpi_date = spread.kpi_date and history.kpi_id = spread.kpi_id
    where history.is_complete
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
        periods.days_to_come,
        catalogue.is_ratio,
        catalogue.value_scale,
        catalogue.direction,
        components_so_far.is_recounted,
        case
            when components_so_far.is_complete
                then {{ kpi_value('components_so_far.numerator', 'components_so_far.denominator') }}
        end as period_to_date_value,
        -- the share of the period's total its numerator took by this day last year
        case
            when last_year.days_with_value = periods.days_in_period and last_year.numerator_total > 0
                then cast(last_year.numerator_to_date as {{ sql_type('double precision') }}) / cast(last_year.numerator_total as {{ sql_type('double precision') }})
            else cast(periods.days_elapsed as {{ sql_type('double precision') }}) / periods.days_in_period
        end as numerator_share,
        case when components_so_far.is_complete then components_so_far.numerator end as numerator,
        case when components_so_far.is_complete then components_so_far.denominator end as denominator,
        last_year_period.value as last_year_value,
        day_targets.effective_from as target_from,
        day_targets.target_kind,
        day_targets.target_value,
        day_targets.target_change_on_last_year,
        day_targets.at_risk_tolerance,
        elapsed_targets.target_so_far,
        recent.numerator_to_come,
        recent.denominator_to_come,
        recent.recent_rate,
        recent.numerator_to_come_sd,
        recent.numerator_per_denominator_variance,
        recent.recent_denominator
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
    left join recent
        on periods.kpi_date = recent.kpi_date and periods.kpi_id = recent.kpi_id
),

projected as (
    select
        paced.*,
        case
            when paced.is_recounted then null
            when paced.is_ratio
                then {{ kpi_value('paced.numerator + paced.recent_rate * paced.denominator_to_come', 'paced.denominator + paced.denominator_to_come', 'paced') }}
            else paced.numerator + paced.numerator_to_come
        end as paced_value,
        case
            when paced.is_recounted then null
            when paced.is_ratio
                then abs(paced.value_scale) * sqrt(
                    paced.numerator_per_denominator_variance
                    * (paced.denominator_to_come + paced.denominator_to_come * paced.denominator_to_come / nullif(paced.recent_denominator, 0))
                ) / nullif(paced.denominator + paced.denominator_to_come, 0)
            else paced.numerator_to_come_sd
        end as projected_sd,
        case
            when paced.target_kind = 'relative_to_last_year'
                then paced.last_year_value * (1 + paced.target_change_on_last_year)
            when paced.is_ratio then paced.target_value
            else paced.target_so_far + paced.days_to_come * paced.target_value
        end as period_target
    from paced
),

projections as (
    select
        projected.*,
        case
            when projected.paced_value is not null then projected.paced_value
            -- naive linear pacing (a ratio, and a distinct count, hold their value to date)
            when projected.is_recounted or projected.is_ratio then projected.period_to_date_value
            else cast(projected.numerator as {{ sql_type('double precision') }}) * projected.days_in_period / projected.days_elapsed
        end as projected_value
    from projected
)

select
    projections.kpi_date,
    projections.kpi_id,
    projections.period_grain,
    projections.period_start,
    projections.period_end,
    cast(projections.days_elapsed as integer) as days_elapsed,
    cast(projections.days_in_period as integer) as days_in_period,
    projections.period_to_date_value,
    case
        when projections.is_ratio or projections.target_kind = 'relative_to_last_year'
            then projections.period_target
        else projections.period_target * projections.numerator_share
    end as target_to_date,
    projections.period_target,
    projections.projected_value,
    projections.projected_value - 1.2816 * projections.projected_sd as projected_low,
    projections.projected_value + 1.2816 * projections.projected_sd as projected_high,
    {{ kpi_status('projections.projected_value', 'projections.period_target', 'projections.direction', 'projections.at_risk_tolerance') }}
        as projected_status
from projections
