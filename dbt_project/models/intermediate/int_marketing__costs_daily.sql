{{ config(materialized='view') }}

-- Marketing costs outside the ad platforms (the marketing_costs seed: a daily amount per
-- cost item over a validity range), one row per cost item and day of the time spine.
select
    cost_items.cost_item || '|' || cast(spine.date_day as {{ sql_type('varchar') }}) as cost_key,
    cost_items.cost_item,
    spine.date_day as cost_date,
    cost_items.daily_amount,
    upper(cost_items.currency) as currency,
    upper(cost_items.currency) = '{{ var("reporting_currency") }}' as is_reporting_currency
from {{ ref('marketing_costs') }} as cost_items
inner join {{ ref('metricflow_time_spine') }} as spine
    on spine.date_day between cost_items.valid_from and cost_items.valid_to
