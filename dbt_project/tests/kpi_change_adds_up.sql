-- The contributions of fct_kpi_change add up to the change they explain, per day,
-- comparison, KPI and breakdown (within float rounding): an explanation that loses a part
-- is wrong. Failing rows: the groups whose parts miss the change.
{{ config(severity='warn') }}

select
    kpi_date,
    compared_with,
    kpi_id,
    dimension,
    max(change) as observed_change,
    sum(contribution) as explained
from {{ ref('fct_kpi_change') }}
group by kpi_date, compared_with, kpi_id, dimension
having
    abs(sum(contribution) - max(change))
    > 1e-9 * greatest(1, abs(max(value_to)), abs(max(value_from)))
