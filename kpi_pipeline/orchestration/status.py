"""What `kpi status` reports: recent runs, the state of each recent day, the last published
snapshot and the checks that failed; read from the Dagster instance and the snapshot folder."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, RunsFilter

from kpi_pipeline.jobs import DAILY_JOB
from kpi_pipeline.orchestration.run_liveness import IN_PROGRESS, process_state

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RunRow:
    run_id: str
    status: str  # Dagster's run status: QUEUED, STARTED, SUCCESS, FAILURE, CANCELED, ...
    first_day: dt.date | None
    last_day: dt.date | None
    started: dt.datetime | None
    ended: dt.datetime | None
    # of a run in progress: alive | gone | unknown (run_liveness.py); empty once it ended
    process: str = ""

    @property
    def days_text(self) -> str:
        """`2025-03-01`, `2025-03-01 .. 2025-03-31`, or `-` for a run without days."""
        if self.first_day is None:
            return "-"
        if self.first_day == self.last_day:
            return str(self.first_day)
        return f"{self.first_day} .. {self.last_day}"

    def covers(self, day: dt.date) -> bool:
        return self.first_day is not None and self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    state: str  # published | failed | running | queued | missing
    run_id: str | None = None


@dataclass(frozen=True)
class CheckRow:
    run_id: str
    check: str
    severity: str
    description: str


@dataclass
class Status:
    runs: list[RunRow]
    days: list[DayRow]
    last_snapshot: tuple[dt.date, Path] | None
    failing_checks: list[CheckRow] = field(default_factory=list)


def days_of_run(tags: dict[str, str]) -> tuple[dt.date | None, dt.date | None]:
    """The days a run of the daily job builds: one partition, or a range."""
    if PARTITION_TAG in tags:
        day = dt.date.fromisoformat(tags[PARTITION_TAG])
        return day, day
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return dt.date.fromisoformat(tags[RANGE_START_TAG]), dt.date.fromisoformat(
            tags[RANGE_END_TAG]
        )
    return None, None


def published_days(snapshot_dir: Path) -> dict[dt.date, Path]:
    """Day folders of the snapshot directory (hidden staging folders are not snapshots)."""
    if not snapshot_dir.is_dir():
        return {}
    return {
        dt.date.fromisoformat(p.name): p
        for p in snapshot_dir.iterdir()
        if p.is_dir() and _DAY.match(p.name)
    }


RUN_STATE = {"FAILURE": "failed", "CANCELED": "failed", "STARTED": "running"}


def day_states(
    days: Iterable[dt.date], published: set[dt.date], runs: list[RunRow]
) -> list[DayRow]:
    """Each day's state: published when its snapshot exists, else what its latest run did
    (`runs` newest first), else missing."""
    rows = []
    for day in days:
        latest = next((r for r in runs if r.covers(day)), None)
        if day in published:
            rows.append(DayRow(day, "published", latest.run_id if latest else None))
        elif latest is None or latest.status == "SUCCESS":
            rows.append(DayRow(day, "missing", latest.run_id if latest else None))
        else:
            state = RUN_STATE.get(
                latest.status, "queued" if "QUEUED" in latest.status else latest.status.lower()
            )
            rows.append(DayRow(day, state, latest.run_id))
    return rows


def _time(timestamp: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC) if timestamp else None


def recent_runs(instance: DagsterInstance | None, limit: int = 200) -> list[RunRow]:
    """Runs of the daily job, newest first; none without an instance (a deployment where
    nothing has run yet: `cli.common.existing_instance`)."""
    if instance is None:
        return []
    rows = []
    for record in instance.get_run_records(RunsFilter(job_name=DAILY_JOB), limit=limit):
        run = record.dagster_run
        first, last = days_of_run(dict(run.tags))
        rows.append(
            RunRow(
                run.run_id,
                run.status.value,
                first,
                last,
                _time(record.start_time),
                _time(record.end_time),
                process_state(run.tags) if run.status in IN_PROGRESS else "",
            )
        )
    return rows


def failing_checks(instance: DagsterInstance, run_ids: Iterable[str]) -> list[CheckRow]:
    # a failed dbt test has no description of its own: its count is said
    from kpi_pipeline.quality.dbt_failures import describe

    rows = []
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            rows.append(
                CheckRow(
                    run_id,
                    f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                    evaluation.severity.value,
                    describe(evaluation) or "",
                )
            )
    return rows


def collect_status(
    instance: DagsterInstance | None, snapshot_dir: Path, first_day: dt.date, last_day: dt.date
) -> Status:
    runs = recent_runs(instance)
    published = published_days(snapshot_dir)
    days = [first_day + dt.timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    states = day_states(days, set(published), runs)
    latest_runs = list(dict.fromkeys(r.run_id for r in states if r.run_id and r.state != "missing"))
    last = max(published) if published else None
    return Status(
        runs=runs,
        days=states,
        last_snapshot=(last, published[last]) if last else None,
        failing_checks=failing_checks(instance, latest_runs),
    )
