"""What every run of the daily job does first, whoever launched it (`kpi run`, the schedule,
the sensor, the UI): take the writer lock, record the process executing it, and mark failed
the runs whose process is gone (killed or crashed before they could say so)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from dagster import InitResourceContext

from kpi_pipeline.orchestration.run_liveness import PID_TAG, process_tags, recover_stale_runs
from kpi_pipeline.warehouse.lock import hold


def guard_run(lock_file: Path, context: InitResourceContext) -> ExitStack:
    """Hold the writer lock until the returned stack is closed (waiting up to
    `KPI_LOCK_TIMEOUT`, then failing the run as busy); tag the run with its process."""
    stack = ExitStack()
    run = context.run
    stack.enter_context(
        hold(
            lock_file,
            command=f"run {run.run_id[:8]} of {run.job_name}",
            on_wait=context.log.warning if context.log else None,
        )
    )
    try:
        if PID_TAG not in run.tags:  # `kpi run` tags its runs itself, before they start
            context.instance.add_run_tags(run.run_id, process_tags())
        for notice in recover_stale_runs(context.instance):
            if context.log:
                context.log.warning(notice)
    except BaseException:
        stack.close()
        raise
    return stack
