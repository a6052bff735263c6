"""Runs whose process is gone: recorded at start (pid, host, process start time), found
again before any new run, and marked failed so they neither block Dagster's run queue nor
show as running for good.

A run killed with kill -9 cannot report its own end: Dagster keeps it STARTED. Each run
records the process executing it as run tags; a run still "in progress" whose process no
longer exists on this host (or whose pid now belongs to another process) is stale.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

import psutil
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

PID_TAG = "kpi/pid"
HOST_TAG = "kpi/host"
PROCESS_START_TAG = "kpi/process_started"
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
ALIVE, GONE, UNKNOWN = "alive", "gone", "unknown"


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that name the process executing a run (default: this one)."""
    process = psutil.Process(pid)
    return {
        PID_TAG: str(process.pid),
        HOST_TAG: socket.gethostname(),
        PROCESS_START_TAG: f"{process.create_time():.2f}",
    }


def process_state(tags: Mapping[str, str], host: str | None = None) -> str:
    """`alive`, `gone`, or `unknown` (no process recorded, or one on another host)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != (host or socket.gethostname()):
        return UNKNOWN
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        started = f"{process.create_time():.2f}"
        zombie = process.status() == psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError):
        return GONE
    recorded = tags.get(PROCESS_START_TAG)
    return GONE if zombie or (recorded and recorded != started) else ALIVE


@dataclass(frozen=True)
class ActiveRun:
    run_id: str
    job_name: str
    status: str
    process: str  # alive | gone | unknown
    tags: Mapping[str, str]


def active_runs(instance: DagsterInstance) -> list[ActiveRun]:
    """Runs that Dagster holds as in progress, with the state of their process."""
    records = instance.get_run_records(RunsFilter(statuses=IN_PROGRESS))
    return [
        ActiveRun(
            r.dagster_run.run_id,
            r.dagster_run.job_name,
            r.dagster_run.status.value,
            process_state(r.dagster_run.tags),
            r.dagster_run.tags,
        )
        for r in records
    ]


def mark_failed(instance: DagsterInstance, run_id: str, reason: str) -> bool:
    """Mark an in-progress run failed with `reason`; False when it is not in progress."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.status not in IN_PROGRESS:
        return False
    instance.report_run_failed(run, message=reason)
    return True


def recover_stale_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed every in-progress run whose process is gone; the notices, one a run."""
    notices = []
    for run in active_runs(instance):
        if run.process != GONE:
            continue
        reason = (
            f"run {run.run_id[:8]} stopped without finishing (its process, pid "
            f"{run.tags[PID_TAG]}, is gone: killed or crashed); marked failed"
        )
        if mark_failed(instance, run.run_id, reason):
            notices.append(reason)
    return notices
