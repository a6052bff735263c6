"""Failed expectations are said in the user's words (issue 19: no `observed null`)."""

from __future__ import annotations

import json

from kpi_pipeline.quality.suites import ExpectationOutcome
from kpi_pipeline.quality.wording import plain_words


def failed(kind: str, column: str, kwargs: dict, sample: list, count: int) -> ExpectationOutcome:
    return ExpectationOutcome(kind, column, "error", False, None, json.dumps(kwargs), count, sample)


def test_a_foreign_currency_says_which_setting_to_change() -> None:
    said = plain_words(
        failed(
            "expect_column_values_to_be_in_set",
            "currency",
            {"value_set": ["USD"]},
            ["EUR", "EUR"],
            2,
        ),
        "raw_ads_spend",
    )
    assert said == (
        "ads/spend.csv (raw.ads_spend) has currency EUR but the reporting currency is USD: "
        "set KPI_REPORTING_CURRENCY=EUR or convert the file"
    )
    assert "observed" not in said and "expect_" not in said


def test_ranges_sets_nulls_and_timestamps_name_table_column_and_values() -> None:
    score = plain_words(
        failed(
            "expect_column_values_to_be_between",
            "score",
            {"min_value": 0, "max_value": 10},
            [11],
            1,
        ),
        "raw_nps_responses",
    )
    lag = plain_words(
        failed(
            "expect_column_values_to_be_between",
            "_lag_days__placed_at",
            {"min_value": -1, "max_value": 90},
            [-2],
            3,
        ),
        "raw_orders",
    )
    status = plain_words(
        failed(
            "expect_column_values_to_be_in_set",
            "status",
            {"value_set": ["placed", "fulfilled"]},
            ["lost"],
            1,
        ),
        "raw_orders",
    )
    assert score == (
        "1 row(s) of nps/responses.csv (raw.nps_responses) have score outside the range 0 to 10, "
        "e.g. 11"
    )
    assert lag.startswith(
        "3 row(s) of orders/orders.csv (raw.orders) have a placed_at outside the extract day's"
    )
    assert "KPI_TIMEZONE" in lag
    assert (
        status
        == "1 row(s) of orders/orders.csv (raw.orders) have status not in (placed, fulfilled), "
        "e.g. lost"
    )


def test_a_failed_dbt_test_is_said_from_its_rows_or_its_count() -> None:
    import datetime as dt

    from dagster import AssetCheckEvaluation, AssetCheckSeverity, AssetKey

    from kpi_pipeline.quality.dbt_failures import describe
    from kpi_pipeline.quality.wording import dbt_test_words

    rows = [{"kpi_date": dt.date(2025, 3, 3), "facts": 40.010000001, "orders": 40.0}] * 4
    template = "{kpi_date}: {facts} against {orders}"
    assert dbt_test_words("t", 4, rows, template) == (
        "2025-03-03: 40.01 against 40; 2025-03-03: 40.01 against 40; "
        "2025-03-03: 40.01 against 40; and 1 more"
    )
    # without a wording of its own: the columns, and which test
    assert dbt_test_words("t", 1, [{"day": dt.date(2025, 3, 3), "n": None}]) == (
        "day 2025-03-03, n no value (dbt test t)"
    )
    # a dbt test whose rows were not kept: its count, never an empty description
    evaluation = AssetCheckEvaluation(
        asset_key=AssetKey(["marts", "fct_kpi_daily"]),
        check_name="unique_combination_fct_kpi_daily",
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        metadata={"unique_id": "test.kpi_pipeline.x", "dagster_dbt/failed_row_count": 2},
    )
    assert describe(evaluation) == "dbt test unique_combination_fct_kpi_daily: 2 failing row(s)"


def test_a_kpi_outside_its_derived_range_is_named_with_its_range() -> None:
    """The facts' suite is derived from kpis.yml (kpis/fact_expectations.py): a failed KPI
    range names the KPI and its bounds as a person writes them, not GX's row condition."""
    import datetime as dt

    import pandas as pd

    from kpi_pipeline.quality.suites import validate_frame

    rows = [
        ("session_conversion_rate", 1.7),
        ("net_revenue", -3.5),
        ("nps", 40.0),
    ]
    frame = pd.DataFrame(
        [
            {
                "kpi_date": dt.date(2026, 3, 1),
                "kpi_id": kpi_id,
                "dimension": "all",
                "dimension_value": "all",
                "numerator": 1.0,
                "denominator": 1.0,
                "value": value,
            }
            for kpi_id, value in rows
        ]
    )
    outcome = validate_frame("fct_kpi_daily", frame, {"kpi_ids": [k for k, _ in rows]})
    assert sorted(plain_words(o, "fct_kpi_daily") for o in outcome.errors) == [
        "1 row(s) of marts.fct_kpi_daily for KPI net_revenue have value below 0, e.g. -3.5",
        "1 row(s) of marts.fct_kpi_daily for KPI session_conversion_rate have value outside "
        "the range 0 to 1, e.g. 1.7",
    ]
