-- sqlfluff:exclude_rules:LT02,LT05
-- (the SQL below is laid out by Jinja loops over the catalogue; its layout rules are
-- checked on the hand-written models)
-- Each KPI's overall value per day and per period against the targets of its days, and
-- its status: the one place the status rule lives (macros/kpi_status.sql); the snapshots,
-- `kpi show` and `kpi list` read it from here. The previous-year value is recomputed from
-- last year's daily components over the same days (shifted by a year, by 52 weeks for
-- weeks so weekdays line up), never from an average of daily values; a target relative
-- to last year is that value times (1 + change). Targets are effective-dated (the
-- kpi_targets seed): a day is held against the target in force on it, so a changed target
-- never rewrites the days before it. The target of a plain sum (net revenue, organic
-- traffic) given as an absolute value is per day, so a period's target is the sum of its
-- days' targets; a ratio's, and a relative one, is the one in force on the period's last
-- day. A KPI with a distinct count is recounted over last year's window from its semantic
-- model (macros/kpi_facts.sql).
with daily as (
    select * from {{ ref('fct_kpi_daily') }}
    where dimension = 'all'
),

periods as (
    select
        period_grain,
        period_start,
        period_end,
        days_covered,
        kpi_id,
        value
    from {{ ref('fct_kpi_period') }}
    where dimension = 'all'
    union all
    select
        'day' as period_grain,
        kpi_date as period_start,
        kpi_date as period_end,
        1 as days_covered,
        kpi_id,
        value
    from daily
),

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

day_targets as (
    -- the target in force on each day the facts hold
    {{ targets_in_force('daily') }}
),

covered as (
    -- the days of each period the facts hold, shifted to last year
    select
        periods.period_grain,
        periods.period_start,
        periods.kpi_id,
        min(daily.kpi_date) as first_day,
        max(daily.kpi_date) as last_day
    from periods
    inner join daily
        on
            periods.kpi_id = daily.kpi_id
            and daily.kpi_date between periods.period_start and periods.period_end
    group by periods.period_grain, periods.period_start, periods.kpi_id
),

last_year_window as (
    select
        period_grain,
        period_start,
        kpi_id,
        {{ last_year_day('first_day', 'period_grain') }} as first_day,
        {{ last_year_day('last_day', 'period_grain') }} as last_day
    from covered
),

last_year_additive as (
    select
        last_year_window.period_grain,
        last_year_window.period_start,
        last_year_window.kpi_id,
        count(daily.kpi_date) as days_covered,
        sum(cast(daily.numerator as decimal(38, 9))) as numerator,
        sum(cast(daily.denominator as decimal(38, 9))) as denominator
    from last_year_window
    left join daily
        on
            last_year_window.kpi_id = daily.kpi_id
            and daily.kpi_date between last_year_window.first_day and last_year_window.last_day
    group by last_year_window.period_grain, last_year_window.period_start, last_year_window.kpi_id
),

{%- set distinct_kpis = recounted_kpis() %}
{%- for kpi in distinct_kpis %}

-- {{ kpi.id }} counts distinct entities: recounted over last year's window
last_year_days__{{ kpi.id }} as (
    select kpi_date from daily
    where kpi_id = '{{ kpi.id }}' and numerator is not null
),

last_year_windows__{{ kpi.id }} as (
    select
        period_grain,
        period_start,
        first_day,
        last_day,
        'all' as dimension,
        'all' as dimension_value
    from last_year_window
    where kpi_id = '{{ kpi.id }}' and period_grain != 'day'  -- a day's own count is exact
),
{%- for term in kpi.numerator + kpi.denominator %}

last_year__{{ kpi.id }}__{{ term[1] }} as (
    {{ metric_over_windows(term[1], [], 'last_year_windows__' ~ kpi.id, ['period_grain', 'period_start'], 'last_year_days__' ~ kpi.id) }}
),
{%- endfor %}
{%- endfor %}

last_year_recounted as (
    {{ period_components(distinct_kpis, 'last_year_windows__', 'last_year__') }}
),

last_year as (
    select
        last_year_additive.period_grain,
        last_year_additive.period_start,
        last_year_additive.kpi_id,
        -- only a fully covered last-year window is comparable
        last_year_additive.days_covered
        = {{ days_between('last_year_window.first_day', 'last_year_window.last_day') }} + 1 as is_complete,
        case
            when last_year_recounted.kpi_id is not null then last_year_recounted.numerator
            else last_year_additive.numerator
        end as numerator,
        case
            when last_year_recounted.kpi_id is not null then last_year_recounted.denominator
            else last_year_additive.denominator
        end as denominator
    from last_year_additive
    inner join last_year_window
        on
            last_year_additive.period_grain = last_year_window.period_grain
            and last_year_additive.period_start = last_year_window.period_start
            and last_year_additive.kpi_id = last_year_window.kpi_id
    left join last_year_recounted
        on
            last_year_additive.period_grain = last_year_recounted.period_grain
            and last_year_additive.period_start = last_year_recounted.period_start
            and last_year_additive.kpi_id = last_year_recounted.kpi_id
),

period_targets as (
    -- per period: the days' absolute targets summed (null unless every day with facts has
    -- one), and whether more than one target was in force over those days
    select
        periods.period_grain,
        periods.period_start,
        periods.kpi_id,
        case
            when count(day_targets.target_value) = count(*) then sum(day_targets.target_value)
        end as summed_target,
        count(distinct coalesce(day_targets.effective_from, date '0001-01-01')) > 1
            as target_changed
    from periods
    inner join daily
        on
            periods.kpi_id = daily.kpi_id
            and daily.kpi_date between periods.period_start and periods.period_end
    left join day_targets
        on
            daily.kpi_id = day_targets.kpi_id
            and daily.kpi_date = day_targets.kpi_date
    group by periods.period_grain, periods.period_start, periods.kpi_id
),

valued as (
    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.days_covered,
        periods.kpi_id,
        periods.value,
        catalogue.direction,
        catalogue.is_ratio,
        case
            when last_year.is_complete
                then {{ kpi_value('last_year.numerator', 'last_year.denominator') }}
        end as previous_year_value,
        -- the target in force on the period's last day with facts
        in_force.effective_from as target_from,
        in_force.target_kind,
        in_force.target_value,
        in_force.target_change_on_last_year,
        in_force.at_risk_tolerance,
        period_targets.summed_target,
        coalesce(period_targets.target_changed, false) as target_changed
    from periods
    inner join catalogue on periods.kpi_id = catalogue.kpi_id
    inner join covered
        on
            periods.period_grain = covered.period_grain
            and periods.period_start = covered.period_start
            and periods.kpi_id = covered.kpi_id
    left join day_targets as in_force
        on
            covered.kpi_id = in_force.kpi_id
            and covered.last_day = in_force.kpi_date
    left join period_targets
        on
            periods.period_grain = period_targets.period_grain
            and periods.period_start = period_targets.period_start
            and periods.kpi_id = period_targets.kpi_id
    left join last_year
        on
            periods.period_grain = last_year.period_grain
            and periods.period_start = last_year.period_start
            and periods.kpi_id = last_year.kpi_id
),

targeted as (
    select
        *,
        case
            when target_kind = 'relative_to_last_year'
                then previous_year_value * (1 + target_change_on_last_year)
            when is_ratio then target_value
            else summed_target
        end as target  -- noqa: RF04
    from valued
)

select
    period_grain,
    period_start,
    period_end,
    days_covered,
    kpi_id,
    value,
    target,
    previous_year_value,
    value - previous_year_value as change,  -- noqa: RF04
    {{ safe_divide('value - previous_year_value', 'abs(previous_year_value)') }} as change_ratio,
    {{ kpi_status('value', 'target', 'direction', 'at_risk_tolerance') }} as status,
    target_from,
    target_changed
from targeted
