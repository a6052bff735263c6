"""Whether a run's ingest steps ran at once, each in a process of its own, as
`KPI_INGEST_PARALLELISM` > 1 asks: read from the run's Dagster event log (the PostgreSQL
and Spark runs: tests/test_postgres_warehouse.py, tests/test_spark_pipeline.py)."""

from __future__ import annotations

import os


def step_windows(instance, run_id: str) -> dict[str, tuple[float, float, int]]:
    """Each step of a run that succeeded: (its process's first event, its success, the pid),
    from the run's event log. The window starts when the step's process says it started
    (STEP_WORKER_STARTED): a small step's own STEP_START..STEP_SUCCESS lasts well under a
    second, while its process spends seconds loading the definitions first."""
    from dagster import DagsterEventType

    started, ended, pids = {}, {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_WORKER_STARTED:
            started[entry.step_key] = entry.timestamp
            pids[entry.step_key] = int(event.event_specific_data.metadata["pid"].value)
        elif event.event_type == DagsterEventType.STEP_START:
            started.setdefault(entry.step_key, entry.timestamp)
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            ended[entry.step_key] = entry.timestamp
    return {k: (started[k], ended[k], pids.get(k, 0)) for k in ended if k in started}


def overlapping_pairs(windows: dict[str, tuple[float, float, int]]) -> list[tuple[str, str]]:
    keys = sorted(windows)
    return [
        (a, b)
        for i, a in enumerate(keys)
        for b in keys[i + 1 :]
        if windows[a][0] < windows[b][1] and windows[b][0] < windows[a][1]
    ]


def assert_ingest_ran_in_parallel(deployment, run_id: str) -> None:
    """At least two ingest steps of the run were executing at once, each in a process of
    its own (not the test's)."""
    from kpi_pipeline.orchestration.dagster_private import open_instance_at
    from kpi_pipeline.orchestration.progress import stage_of

    with open_instance_at(deployment.root / "dagster_home") as instance:
        windows = step_windows(instance, run_id)
    ingest = {k: w for k, w in windows.items() if stage_of(k) == "ingest"}
    assert len(ingest) >= 2, sorted(windows)
    pids = {pid for _, _, pid in ingest.values()}
    assert os.getpid() not in pids and 0 not in pids, ingest
    assert len(pids) == len(ingest), "one process per step"
    assert overlapping_pairs(ingest), f"no two ingest steps overlapped: {ingest}"
