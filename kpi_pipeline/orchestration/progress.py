"""Progress of a running job by stage, read from the Dagster instance's event log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from dagster import DagsterEventType, DagsterInstance, RunsFilter

from kpi_pipeline.orchestration.freshness import FRESHNESS_CHECK

STAGES = ("ingest", "transform", "quality", "publish")
REQUEST_TAG = "kpi/request"
DONE_EVENTS = {
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_SKIPPED,
}


def stage_of(step_key: str) -> str:
    """The stage a step of the daily job belongs to (checks are the quality stage)."""
    if "_gx_" in step_key or step_key.endswith(f"_{FRESHNESS_CHECK}"):
        return "quality"
    if step_key.startswith("raw__"):
        return "ingest"
    if step_key == "kpi_snapshot":
        return "publish"
    return "transform"


def steps_per_stage(step_keys: Iterable[str]) -> Counter:
    return Counter(stage_of(k) for k in step_keys)


def find_run(instance: DagsterInstance, request_id: str) -> str | None:
    records = instance.get_run_records(RunsFilter(tags={REQUEST_TAG: request_id}), limit=1)
    return records[0].dagster_run.run_id if records else None


def finished_steps(instance: DagsterInstance, run_id: str) -> Counter:
    """How many steps of each stage have finished (succeeded, failed or were skipped)."""
    done = {
        entry.step_key for entry in instance.all_logs(run_id, of_type=DONE_EVENTS) if entry.step_key
    }
    return steps_per_stage(done)
