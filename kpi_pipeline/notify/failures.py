"""When a run fails: write a failure report (which checks, which rows) and notify the data
engineers (never the stakeholders). Used by the run-failure sensor and by in-process runs."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)

from kpi_pipeline.ingest.excerpt import excerpt
from kpi_pipeline.notify.channels import NotificationError, deliver
from kpi_pipeline.notify.messages import failure_message
from kpi_pipeline.notify.settings import NotifySettings
from kpi_pipeline.quality.dbt_failures import FailedTest, check_key, describe, failed_dbt_tests
from kpi_pipeline.settings import Settings

FAILURE_REPORT = "failure.json"
FAILURE_TEXT = "failure.md"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# What a report quotes that may come from a delivered file (a step's error, a check's
# observed value and failing sample) is an excerpt: bounded, control characters escaped.
ERROR_CHARS = 2000
SAMPLE_CHARS = 500


def failures_dir(settings: Settings) -> Path:
    """`<data>/failures/`: one folder per failed run, beside the warehouse."""
    return settings.artefacts_dir / "failures"


def _metadata_value(entry: Any) -> Any:
    return getattr(entry, "value", getattr(entry, "data", getattr(entry, "text", str(entry))))


def run_partitions(run: DagsterRun) -> str:
    tags = run.tags or {}
    if RANGE_START_TAG in tags:
        return f"{tags[RANGE_START_TAG]} .. {tags[RANGE_END_TAG]}"
    return tags.get("dagster/partition", "")


def dbt_test_failures(test: FailedTest | None) -> list[dict[str, Any]]:
    """A failed dbt test's evidence in the shape of a failed expectation's."""
    if test is None:
        return []
    return [
        {
            "expectation": test.check,
            "column": None,
            "observed": test.words,
            "expected": "no failing row",
            "unexpected_count": test.count,
            "sample": [json.dumps(row, default=str) for row in test.rows],
        }
    ]


def failure_summary(
    instance: DagsterInstance, run: DagsterRun, warehouse: str | Path | None = None
) -> dict[str, Any]:
    """The failed checks with their evidence (failing rows' count and sample) and the
    failed steps of a run, from Dagster's event log; a failed dbt test's rows are read
    from the warehouse dbt kept them in (`quality/dbt_failures.py`)."""
    evaluations = [
        entry.dagster_event.event_specific_data
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    failed_tests = failed_dbt_tests(evaluations, location=warehouse)
    failed_checks = []
    for evaluation in evaluations:
        if evaluation.passed:
            continue
        metadata = {k: _metadata_value(v) for k, v in (evaluation.metadata or {}).items()}
        failed_checks.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "severity": evaluation.severity.value,
                "description": describe(evaluation, failed_tests),
                "failures": metadata.get("failures")
                or dbt_test_failures(failed_tests.get(check_key(evaluation))),
            }
        )
    failed_steps = []
    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE):
        error = entry.dagster_event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        failed_steps.append(
            {
                "step": entry.dagster_event.step_key,
                "error": _first_line(error.message) if error else "",
            }
        )
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "partitions": run_partitions(run),
        "written_at": dt.datetime.now(dt.UTC).isoformat(),
        "failed_checks": sorted(failed_checks, key=lambda c: (c["asset"], c["check"])),
        "failed_steps": failed_steps,
    }


def _first_line(message: str) -> str:
    return excerpt((message.strip().splitlines() or [""])[0], ERROR_CHARS)


def failure_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# Run {summary['run_id']} failed",
        "",
        f"job `{summary['job']}`, days {summary['partitions'] or '-'}; nothing was published.",
        "",
    ]
    for check in summary["failed_checks"]:
        lines += [
            f"## check `{check['asset']}:{check['check']}` ({check['severity']})",
            "",
            str(check["description"] or ""),
            "",
        ]
        for failure in check["failures"] or []:
            lines.append(
                f"- `{failure.get('expectation')}` on `{failure.get('column') or ''}`: "
                f"observed {excerpt(str(failure.get('observed')), SAMPLE_CHARS)}, "
                f"expected {failure.get('expected')}, "
                f"{failure.get('unexpected_count') or 0} failing row(s), "
                f"sample {excerpt(str(failure.get('sample')), SAMPLE_CHARS)}"
            )
        lines.append("")
    if summary.get("gx_data_docs"):
        lines += [f"Great Expectations Data Docs: {summary['gx_data_docs']}", ""]
    if summary["failed_steps"]:
        lines += ["## failed steps", ""]
        lines += [f"- `{s['step']}`: {s['error']}" for s in summary["failed_steps"]]
    return "\n".join(lines) + "\n"


def write_failure_report(folder: Path, summary: dict[str, Any]) -> Path:
    """`<failures>/<run_id>/failure.json` and `failure.md`; returns the JSON's path."""
    target = folder / summary["run_id"]
    target.mkdir(parents=True, exist_ok=True)
    (target / FAILURE_REPORT).write_text(json.dumps(summary, indent=2, default=str))
    (target / FAILURE_TEXT).write_text(failure_markdown(summary))
    return target / FAILURE_REPORT


def handle_failed_run(
    instance: DagsterInstance,
    run: DagsterRun,
    settings: Settings,
    notify: NotifySettings | None = None,
) -> tuple[Path, list[str]]:
    """Write the failure report and notify the data engineers; returns the report's path and
    the channels used (none when no engineer address is configured)."""
    from kpi_pipeline.quality.suites import build_data_docs

    summary = failure_summary(instance, run, settings.warehouse_location)
    docs = build_data_docs(settings.artefacts_dir, run_name=run.run_id)
    summary["gx_data_docs"] = str(docs) if docs.exists() else None
    path = write_failure_report(failures_dir(settings), summary)
    notify = notify or NotifySettings.from_env()
    if not notify.engineers.configured:
        return path, []
    return path, deliver(notify.engineers, notify.smtp, failure_message(summary, path))


def build_failure_sensor(settings: Settings) -> SensorDefinition:
    @run_failure_sensor(
        name="notify_engineers_on_run_failure",
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "A failed run (a blocking check or a step): writes the failure report to "
            "`<data>/failures/<run_id>/` and notifies the data engineers "
            "(KPI_ALERT_EMAIL_TO / KPI_ALERT_WEBHOOK_URL)."
        ),
    )
    def _sensor(context: RunFailureSensorContext) -> None:
        path, used = handle_failed_run(context.instance, context.dagster_run, settings)
        context.log.info("failure report %s; notified: %s", path, ", ".join(used) or "nobody")

    return _sensor


__all__ = ["NotificationError", "build_failure_sensor", "handle_failed_run"]
