"""Anomalies against the trailing median, thresholds from quality.yml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kpi_pipeline.quality.anomalies import anomaly_outcomes, compare_days
from kpi_pipeline.quality.config import (
    QualityConfigError,
    load_quality_config,
    parse_quality_config,
)

DAY = dt.date(2025, 4, 1)


def history(value: float, days: int = 28) -> dict[dt.date, float | None]:
    return {DAY - dt.timedelta(days=i): value for i in range(1, days + 1)}


def failing(series, figure_thresholds, days=(DAY,), min_history=7, min_baseline=0):
    comparisons = compare_days(series, list(days), 28, min_history, min_baseline)
    return {
        o.severity: o.unexpected_count
        for o in anomaly_outcomes("figure", comparisons, figure_thresholds)
        if not o.success
    }


def value_rule(kpi: str):
    return next(v for v in load_quality_config().values if v.kpi == kpi).thresholds


def test_sessions_falling_to_a_third_is_an_error() -> None:
    sessions = value_rule("session_conversion_rate")
    assert failing({**history(3000), DAY: 1000}, sessions) == {"error": 1}
    assert failing({**history(3000), DAY: 1400}, sessions) == {"warn": 1}  # below a half
    assert failing({**history(3000), DAY: 2400}, sessions) == {}


def test_spend_tenfold_is_an_error_and_its_evidence_names_day_and_median() -> None:
    spend = value_rule("cost_per_acquisition")
    series = {**history(500), DAY: 5000}
    assert failing(series, spend) == {"error": 1}
    error = next(
        o
        for o in anomaly_outcomes("spend", compare_days(series, [DAY], 28, 7, 0), spend)
        if o.severity == "error"
    )
    assert error.unexpected_sample == [
        {"day": "2025-04-01", "value": 5000, "trailing_median": 500, "ratio": 10.0}
    ]


def test_short_history_or_tiny_baseline_is_skipped_not_failed() -> None:
    sessions = value_rule("session_conversion_rate")
    assert failing({**history(3000, days=3), DAY: 10}, sessions) == {}
    volume = load_quality_config().volume_default
    assert failing({**history(5), DAY: 0}, volume, min_baseline=20) == {}
    assert failing({**history(100), DAY: 0}, volume, min_baseline=20) == {"error": 1}


def test_the_median_ignores_a_single_outlier_in_the_history() -> None:
    series = {**history(100), DAY - dt.timedelta(days=3): 100000, DAY: 100}
    assert failing(series, value_rule("net_revenue")) == {}


def test_the_configuration_names_the_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "quality.yml"
    with pytest.raises(QualityConfigError, match=r"cross_checks.sessions_equal_staging.*fatal"):
        parse_quality_config({"cross_checks": {"sessions_equal_staging": "fatal"}}, path)
    # a cross-check is a dbt test: a name without one (a typo) is refused, not ignored
    with pytest.raises(QualityConfigError, match=r"dbt_project/tests/session_equal_staging.sql"):
        parse_quality_config({"cross_checks": {"session_equal_staging": "warn"}}, path)
    with pytest.raises(QualityConfigError, match=r"anomalies.values\[0\].measure"):
        parse_quality_config({"anomalies": {"values": [{"kpi": "x", "measure": "avg"}]}}, path)
    with pytest.raises(QualityConfigError, match="warn: thresholds must be numbers"):
        parse_quality_config(
            {"anomalies": {"volume": {"default": {"warn": {"below": "low"}}}}}, path
        )
    override = parse_quality_config(
        {
            "anomalies": {
                "volume": {
                    "default": {"warn": {"below": 0.4}, "error": {"below": 0.1}},
                    "tables": {"ads_spend": {"warn": {"below": 0.9}}},
                }
            }
        },
        path,
    )
    assert override.volume_thresholds("ads_spend").warn.below == 0.9
    assert override.volume_thresholds("ads_spend").error.below == 0.1  # inherited
    assert override.volume_thresholds("orders").warn.below == 0.4


def test_the_cross_checks_severities_and_tolerance_reach_dbt_as_one_var() -> None:
    from kpi_pipeline.partitions import dbt_deployment_vars

    raw = {"cross_checks": {"sessions_equal_staging": "warn", "net_revenue_tolerance": 0.02}}
    parsed = parse_quality_config(raw, Path("quality.yml"))
    assert parsed.dbt_vars() == {
        "cross_checks": {"sessions_equal_staging": "warn", "net_revenue_tolerance": 0.02}
    }
    shipped = dbt_deployment_vars("Europe/Paris", "EUR")
    assert shipped["cross_checks"] == load_quality_config().dbt_vars()["cross_checks"]
    assert (shipped["timezone"], shipped["reporting_currency"]) == ("Europe/Paris", "EUR")
