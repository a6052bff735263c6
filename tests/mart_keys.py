"""Each fact mart's key columns, for the tests that hold one warehouse's marts against
another's (PostgreSQL's and Spark's against DuckDB's): rows are matched by these, and
every other column is compared value by value."""

FACT_MART_KEYS = {
    "fct_kpi_daily": ["kpi_date", "kpi_id", "dimension", "dimension_value"],
    "fct_kpi_period": ["period_grain", "period_start", "kpi_id", "dimension", "dimension_value"],
    "fct_kpi_attainment": ["period_grain", "period_start", "kpi_id"],
    "fct_metric_daily": ["kpi_date", "metric_id"],
    "fct_kpi_pace": ["kpi_date", "kpi_id"],
    "fct_kpi_change": [
        "kpi_date",
        "compared_with",
        "kpi_id",
        "dimension",
        "dimension_value",
        "effect",
    ],
}
