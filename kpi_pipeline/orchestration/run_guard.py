"""What every run of the daily job does first, whoever launched it (`kpi run`, the schedule,
the sensor, the UI): take the writer lock, record the process executing it, and mark failed
the runs whose process is gone (killed or crashed before they could say so).

A run whose steps run in processes of their own (`KPI_INGEST_PARALLELISM` > 1,
`orchestration/parallel_ingest.py`) takes the lock in the run's process, for the whole run
(`guard_orchestration`); its step processes then find the lock held by their run
(`held_by_run`) and take nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from dagster import InitResourceContext

from kpi_pipeline.orchestration.run_liveness import (
    ALIVE,
    PID_TAG,
    process_state,
    process_tags,
    recover_stale_runs,
)
from kpi_pipeline.warehouse.lock import held_by_a_writer, hold, read_holder


def guard_run(lock_file: Path, context: InitResourceContext) -> ExitStack:
    """Hold the writer lock until the returned stack is closed (waiting up to
    `KPI_LOCK_TIMEOUT`, then failing the run as busy); tag the run with its process. In a
    step process of a run whose own process holds the lock: nothing to hold."""
    stack = ExitStack()
    run = context.run
    if _step_of_guarded_run(lock_file, context):
        return stack
    stack.enter_context(
        hold(
            lock_file,
            command=f"run {run.run_id[:8]} of {run.job_name}",
            on_wait=context.log.warning if context.log else None,
        )
    )
    try:
        _tag_and_recover(run, context.instance, context.log.warning if context.log else None)
    except BaseException:
        stack.close()
        raise
    return stack


@contextmanager
def guard_orchestration(lock_file: Path, run, instance) -> Iterator[None]:
    """The writer lock held by the process executing `run` (the one that starts its step
    processes) from its first step to its last; the run tagged with that process."""
    with hold(lock_file, command=f"run {run.run_id[:8]} of {run.job_name}"):
        _tag_and_recover(run, instance, None)
        yield


def _tag_and_recover(run, instance, warn) -> None:
    if PID_TAG not in run.tags:  # `kpi run` tags its runs itself, before they start
        instance.add_run_tags(run.run_id, process_tags())
    for notice in recover_stale_runs(instance):
        if warn:
            warn(notice)


def _step_of_guarded_run(lock_file: Path, context: InitResourceContext) -> bool:
    run = context.instance.get_run_by_id(context.run.run_id) if context.instance else None
    return run is not None and held_by_run(lock_file, run.tags)


def held_by_run(lock_file: Path, run_tags: Mapping[str, str], pid: int | None = None) -> bool:
    """Whether the writer lock is held, for a run tagged `run_tags`, by that run's process,
    alive, and not this one (`pid`, default this process): then this process is one of the
    run's step processes."""
    if PID_TAG not in run_tags or process_state(run_tags) != ALIVE:
        return False
    holder = read_holder(lock_file)
    run_pid = int(run_tags[PID_TAG])
    if holder is None or holder.pid != run_pid or run_pid == (pid or os.getpid()):
        return False
    return held_by_a_writer(lock_file)
