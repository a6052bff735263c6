-- noqa: disable=ST06
-- (columns in the catalogue's order, the contract's)
-- The KPI catalogue (kpis.yml, through the kpi_catalogue seed) as a dimension table.
select
    kpi_id,
    kpi_name,
    family,
    description,
    objective,
    numerator_formula,
    nullif(denominator_formula, '') as denominator_formula,
    value_scale,
    is_ratio,
    unit,
    direction,
    coalesce(dimensions, '') as dimensions,
    owner,
    review_cadence,
    target_kind,
    target_value,
    target_change_on_last_year,
    at_risk_tolerance,
    maturity_lag_days
from {{ ref('kpi_catalogue') }}
