"""Run the daily job in-process for one day or a range, and say plainly what happened."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterInstance, Definitions

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.jobs import DAILY_JOB
from kpi_pipeline.quality.dbt_failures import describe, failed_dbt_tests
from kpi_pipeline.scoped_env import scoped_environ

IN_PROCESS = "in_process"  # the name of Dagster's in-process executor
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The command line prints its own summary of a run (days, failed checks and steps in plain
# words); Dagster's console logger would add each failure's stack trace. Everything is
# still in the run's event log (kpi status, the Dagster UI).
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# A run over more days than this records one "materialization planned" event per asset, with
# the run's days, instead of one per asset and day: a year's backfill otherwise writes some
# 14,000 events into Dagster's event log before its first step (docs/benchmarks.md). Dagster
# then cannot show those days as in progress or failed in its UI; this run's report and the
# failure report still name them (docs/operations.md).
LONG_RUN_DAYS = 31
PLANNED_EVENTS_AS_SUBSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# error classes that make a failed step "busy" or "delivery failed", not an error
BUSY_ERRORS = {"WarehouseBusyError"}
DELIVERY_ERRORS = {"DeliveryError"}


@dataclass
class RunReport:
    """What a run did: published, or why it was blocked."""

    run_id: str
    first_day: dt.date
    last_day: dt.date
    success: bool
    failed_checks: list[str] = field(default_factory=list)
    warned_checks: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    failure_report: Path | None = None
    notified: list[str] = field(default_factory=list)
    # per failed step (or the run), the class names along its error's chain of causes
    error_classes: list[set[str]] = field(default_factory=list)

    @property
    def blocked_by_gate(self) -> bool:
        return not self.success and bool(self.failed_checks)

    @property
    def busy(self) -> bool:
        return not self.success and any(c & BUSY_ERRORS for c in self.error_classes)

    @property
    def delivery_failed(self) -> bool:
        """Published, but the report did not reach the stakeholders."""
        return (
            not self.success
            and not self.failed_checks
            and bool(self.error_classes)
            and all(c & DELIVERY_ERRORS for c in self.error_classes)
        )

    @property
    def exit_code(self) -> ExitCode:
        if self.success:
            return ExitCode.OK
        if self.blocked_by_gate:
            return ExitCode.BLOCKED
        if self.busy:
            return ExitCode.BUSY
        if self.delivery_failed:
            return ExitCode.DELIVERY_FAILED
        return ExitCode.ERROR

    def reason(self) -> str:
        if self.success:
            return "published"
        if self.failed_checks:
            return "blocked by the quality gate: " + "; ".join(self.failed_checks)
        if self.delivery_failed:
            return "published, but the report was not delivered: " + "; ".join(self.failed_steps)
        return "failed: " + "; ".join(self.failed_steps or ["see the run in Dagster"])


def error_chain_classes(error) -> set[str]:
    """The class names of an error and of its causes."""
    names = set()
    while error is not None:
        names.add(getattr(error, "cls_name", "") or "")
        error = error.cause
    return names


# what Dagster's retry policy wraps a step's last error in once its retries are spent
RETRIES_SPENT = "RetryRequestedFromPolicy"


def root_cause(error) -> str:
    """The first line of the outermost error that is not Dagster's wrapper: the pipeline's
    own words (which name what to do), not the library error it was raised from. A step
    that failed after its retries is said by its last error ("... (after 3 retries)"), not
    by Dagster's "Exceeded max_retries of 3"."""
    retries = None
    while error is not None and error.cause is not None and _is_wrapper(error):
        if error.cls_name == RETRIES_SPENT:
            retries = re.search(r"\d+", error.message or "")
        error = error.cause
    words = error.message.strip().splitlines()[0] if error else ""
    if retries is not None:
        words += f" (after {retries.group()} retries)"
    return words


def _is_wrapper(error) -> bool:
    name = getattr(error, "cls_name", "") or ""
    return name.startswith("Dagster") or name == RETRIES_SPENT


def notify_failure(instance: DagsterInstance, run) -> tuple[Path, list[str]]:
    """Failure report and data engineers' notice of a failed in-process run."""
    from kpi_pipeline.notify.channels import NotificationError
    from kpi_pipeline.notify.failures import (
        failure_summary,
        failures_dir,
        handle_failed_run,
        write_failure_report,
    )
    from kpi_pipeline.settings import Settings

    settings = Settings.from_env()
    try:
        return handle_failed_run(instance, run, settings)
    except NotificationError as err:
        summary = failure_summary(instance, run, settings.warehouse_location)
        path = write_failure_report(failures_dir(settings), summary)
        return path, [f"notification failed: {err}"]


def run_environment(first_day: dt.date, last_day: dt.date) -> dict[str, str]:
    """Dagster settings of a run over [first_day, last_day] that are read from the
    environment: one planned event per asset for a long run (LONG_RUN_DAYS)."""
    long_run = (last_day - first_day).days + 1 > LONG_RUN_DAYS
    return {PLANNED_EVENTS_AS_SUBSET: "true"} if long_run else {}


def _execute(job, first_day: dt.date, last_day: dt.date, instance, tags, quiet: bool):
    """The run, in this process (`in_process` executor), or with its steps in processes of
    their own (`KPI_INGEST_PARALLELISM` > 1: `orchestration/parallel_ingest.py`)."""
    run_config = QUIET_LOGS if quiet else None
    partition = first_day.isoformat() if first_day == last_day else None
    if job.executor_def.name == IN_PROCESS:
        return job.execute_in_process(
            partition_key=partition,
            tags=tags,
            instance=instance,
            raise_on_error=False,
            run_config=run_config,
        )
    from dagster import execute_job

    from kpi_pipeline.orchestration.parallel_ingest import (
        FORKSERVER,
        needs_persistent_instance,
        reconstructable_daily_job,
    )

    needs_persistent_instance(instance)
    FORKSERVER.claim(os.environ)
    return execute_job(
        reconstructable_daily_job(os.environ),
        instance=instance,
        tags=tags | ({PARTITION_TAG: partition} if partition else {}),
        run_config=run_config,
        raise_on_error=False,
    )


def run_days(
    defs: Definitions,
    first_day: dt.date,
    last_day: dt.date,
    instance: DagsterInstance | None = None,
    quiet: bool = True,
    extra_tags: dict[str, str] | None = None,
) -> RunReport:
    """One Dagster run of the daily job over [first_day, last_day]: a single day, or a
    backfill range run once per asset (ingest per day, one dbt invocation, one gate)."""
    job = defs.resolve_job_def(DAILY_JOB)
    tags = (
        {RANGE_START_TAG: first_day.isoformat(), RANGE_END_TAG: last_day.isoformat()}
        if first_day != last_day
        else {}
    ) | (extra_tags or {})
    owned = instance is None
    instance = instance or DagsterInstance.get()
    try:
        with scoped_environ(run_environment(first_day, last_day)):
            result = _execute(job, first_day, last_day, instance, tags, quiet)
        # no daemon runs sensors in-process: report and notify as the failure sensor would
        failure = None if result.success else notify_failure(instance, result.dagster_run)
    finally:
        if owned:
            instance.dispose()
    report = RunReport(result.run_id, first_day, last_day, result.success)
    report.failure_report, report.notified = failure or (None, [])
    evaluations = result.get_asset_check_evaluations()
    # a failed dbt test (a cross-check, say) is said from the failing rows dbt kept
    warehouse = (getattr(defs, "resources", None) or {}).get("warehouse")
    failed_tests = failed_dbt_tests(evaluations, location=getattr(warehouse, "path", None))
    for evaluation in evaluations:
        if evaluation.passed:
            continue
        description = describe(evaluation, failed_tests)
        label = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}" + (
            f" ({description})" if description else ""
        )
        if evaluation.severity == AssetCheckSeverity.ERROR:
            report.failed_checks.append(label)
        else:
            report.warned_checks.append(label)
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            report.failed_steps.append(f"{event.step_key}: {root_cause(error)}")
            report.error_classes.append(error_chain_classes(error))
    run_failures = [e for e in result.all_events if e.is_run_failure]
    if not report.failed_steps and run_failures:  # e.g. no writer lock at the run's start
        error = getattr(run_failures[-1].event_specific_data, "error", None)
        if error is not None:
            report.failed_steps.append(f"run: {root_cause(error)}")
            report.error_classes.append(error_chain_classes(error))
    return report
