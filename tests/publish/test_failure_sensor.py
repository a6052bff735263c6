"""The run-failure sensor writes the failure report and notifies the data engineers."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    MetadataValue,
    asset,
    asset_check,
    build_run_status_sensor_context,
    define_asset_job,
)

from kpi_pipeline.notify.failures import build_failure_sensor
from kpi_pipeline.settings import Settings


@asset
def numbers() -> None:
    return None


@asset_check(asset=numbers, blocking=True)
def numbers_in_range() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description="score: 1 failing row(s)",
        metadata={
            "failures": MetadataValue.json(
                [
                    {
                        "expectation": "between",
                        "column": "score",
                        "unexpected_count": 1,
                        "sample": ["11"],
                        "observed": None,
                        "expected": "0..10",
                    }
                ]
            )
        },
    )


@asset(deps=[numbers])
def published() -> None:
    raise AssertionError("never runs: the blocking check failed")


def test_a_failed_run_gets_a_failure_report_and_the_engineers_a_message(
    tmp_path: Path, webhook, monkeypatch
) -> None:
    monkeypatch.setenv("KPI_ALERT_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("KPI_REPORT_EMAIL_TO", "stakeholders@example.invalid")  # not used
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path)})
    sensor = build_failure_sensor(settings)
    job = define_asset_job("gate")
    defs = Definitions(
        assets=[numbers, published], asset_checks=[numbers_in_range], jobs=[job], sensors=[sensor]
    )
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("gate").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not result.success
        (failure,) = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=failure.dagster_event,
        ).for_run_failure()
        sensor(context)
    report = json.loads((tmp_path / "failures" / result.run_id / "failure.json").read_text())
    assert [c["check"] for c in report["failed_checks"]] == ["numbers_in_range"]
    assert report["failed_checks"][0]["failures"][0]["sample"] == ["11"]
    markdown = (tmp_path / "failures" / result.run_id / "failure.md").read_text()
    assert "sample ['11']" in markdown
    assert len(webhook.received) == 1
    assert "numbers:numbers_in_range" in webhook.received[0]["json"]["text"]
