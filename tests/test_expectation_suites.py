"""The stored GX suite of the KPI facts catches what it claims to, row condition included."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kpi_pipeline.quality.suites import validate_frame

KPI_IDS = ["session_conversion_rate", "nps", "net_revenue"]
DAY = dt.date(2025, 3, 3)


def facts(*rows: tuple[str, float | None, float | None, float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "kpi_date": DAY,
                "kpi_id": kpi_id,
                "dimension": "all",
                "dimension_value": "all",
                "numerator": numerator,
                "denominator": denominator,
                "value": value,
            }
            for kpi_id, numerator, denominator, value in rows
        ]
    )


def failed(frame: pd.DataFrame) -> list[tuple[str, str | None]]:
    outcome = validate_frame("fct_kpi_daily", frame, {"kpi_ids": KPI_IDS})
    return [(o.expectation, o.column) for o in outcome.errors]


def test_valid_facts_pass() -> None:
    frame = facts(
        ("session_conversion_rate", 3, 150, 0.02),
        ("nps", 40, 100, 40.0),  # 40 is fine for NPS, not for a rate
        ("net_revenue", 1234.5, None, 1234.5),
    )
    assert failed(frame) == []


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (("session_conversion_rate", 3, 2, 1.5), ("expect_column_values_to_be_between", "value")),
        (("nps", 150, 1, 150.0), ("expect_column_values_to_be_between", "value")),
        (("net_revenue", -5.0, None, -5.0), ("expect_column_values_to_be_between", "value")),
        (("churn", 1, 2, 0.5), ("expect_column_values_to_be_in_set", "kpi_id")),
        (("nps", 1, -1, -100.0), ("expect_column_values_to_be_between", "denominator")),
    ],
)
def test_each_broken_rule_is_an_error(row, expected) -> None:
    assert failed(facts(row)) == [expected]


def test_duplicate_kpi_rows_are_an_error() -> None:
    frame = facts(("nps", 1, 2, 50.0), ("nps", 1, 2, 50.0))
    assert failed(frame) == [("expect_compound_columns_to_be_unique", None)]


@pytest.mark.parametrize(
    ("kpi_id", "bad_value", "good_value"),
    [
        ("user_conversion_rate", 1.2, 1.0),
        ("lead_to_customer_rate", -0.1, 0.0),
        ("deal_win_rate", 1.5, 0.5),
        ("return_on_ad_spend", -0.5, 0.0),
        ("marketing_roi", -1.5, -1.0),  # revenue >= 0, so ROI >= -1
        ("average_order_value", -3.0, 42.0),
    ],
)
def test_range_rules_of_the_new_kpis(kpi_id: str, bad_value: float, good_value: float) -> None:
    ids = {"kpi_ids": [kpi_id]}
    bad = validate_frame("fct_kpi_daily", facts((kpi_id, 1, 1, bad_value)), ids)
    good = validate_frame("fct_kpi_daily", facts((kpi_id, 1, 1, good_value)), ids)
    assert [(o.expectation, o.column) for o in bad.errors] == [
        ("expect_column_values_to_be_between", "value")
    ]
    assert good.errors == []
