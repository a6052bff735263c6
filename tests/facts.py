"""One overall KPI fact row, as `marts.fct_kpi_daily` holds it, for publish tests."""

from __future__ import annotations

import datetime as dt

import polars as pl


def overall_fact(
    day: dt.date, kpi_id: str, numerator: float, denominator: float | None = None
) -> pl.DataFrame:
    """A plain sum (no denominator: value = numerator) or a ratio (value = num / den)."""
    value = numerator if denominator is None else numerator / denominator
    return pl.DataFrame(
        {
            "kpi_date": [day],
            "kpi_id": [kpi_id],
            "dimension": ["all"],
            "dimension_value": ["all"],
            "numerator": [numerator],
            "denominator": [denominator],
            "value": [value],
        },
        schema_overrides={"denominator": pl.Float64},
    )
