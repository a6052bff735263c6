"""`kpi run` and `kpi backfill`: build days through the Dagster job, in-process, with a
progress bar per stage and a final table of the days published or blocked."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kpi_pipeline.cli.common import (
    console,
    err_console,
    fail,
    load_settings,
    parse_day,
    parse_range,
)

POLL_SECONDS = 0.5


def watch_progress(
    stop: threading.Event, request_id: str, progress: Progress, tasks: dict[str, int]
) -> None:
    """Until `stop`, move each stage's bar to the number of its steps finished so far."""
    from dagster import DagsterInstance

    from kpi_pipeline.orchestration.progress import find_run, finished_steps

    with DagsterInstance.get() as instance:
        run_id = None
        while True:
            stopping = stop.wait(POLL_SECONDS)
            run_id = run_id or find_run(instance, request_id)
            if run_id:
                done = finished_steps(instance, run_id)
                for stage, task in tasks.items():
                    progress.update(task, completed=done[stage])
            if stopping:
                return


def day_results(first: dt.date, last: dt.date, report, snapshot_dir) -> list[tuple[dt.date, str]]:
    """Each day of the run: published, not published, blocked (by the gate) or failed."""
    results = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if report.success:
            published = (snapshot_dir / day.isoformat()).is_dir()
            results.append((day, "published" if published else "not published"))
        else:
            results.append((day, "blocked" if report.blocked_by_gate else "failed"))
    return results


def days_table(results: list[tuple[dt.date, str]], snapshot_dir) -> Table:
    """One row per run of consecutive days with the same result (a 90-day backfill that
    published everything is one row)."""
    table = Table(title="Days published / blocked")
    for column in ("days", "count", "result", "snapshots"):
        table.add_column(column)
    groups: list[list] = []
    for day, result in results:
        if groups and groups[-1][2] == result and groups[-1][1] + dt.timedelta(days=1) == day:
            groups[-1][1] = day
        else:
            groups.append([day, day, result])
    for start, end, result in groups:
        span = str(start) if start == end else f"{start} .. {end}"
        where = str(snapshot_dir / start.isoformat()) if start == end else f"{snapshot_dir}/"
        style = {"published": "green", "blocked": "red", "failed": "red"}.get(result, "yellow")
        table.add_row(
            span,
            str((end - start).days + 1),
            f"[{style}]{result}[/]",
            where if result == "published" else "unchanged",
        )
    return table


def running_runs(instance) -> list[str]:
    """Runs of the daily job (or the docs job) in progress, e.g. launched by the daemon."""
    from dagster import DagsterRunStatus, RunsFilter

    active = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    return [r.dagster_run.run_id for r in instance.get_run_records(RunsFilter(statuses=active))]


def run_range(first: dt.date, last: dt.date) -> int:
    """Run the job over `first..last`; 0 when published, 1 when the gate blocked it."""
    settings = load_settings()
    from dagster import DagsterInstance

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.jobs import DAILY_JOB
    from kpi_pipeline.orchestration.progress import REQUEST_TAG, STAGES, steps_per_stage
    from kpi_pipeline.runner import run_days

    with DagsterInstance.get() as instance:
        busy = running_runs(instance)
    if busy:
        raise fail(
            f"run {busy[0][:8]} is writing the warehouse now; DuckDB takes one writer at a time",
            "wait until it finishes (kpi status), or stop it in the Dagster UI",
        )
    defs = build_definitions(settings)
    totals = steps_per_stage(defs.resolve_job_def(DAILY_JOB).graph.node_dict)
    request_id = uuid.uuid4().hex
    columns = (
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with DagsterInstance.get() as instance, Progress(*columns, console=console) as progress:
        tasks = {s: progress.add_task(s, total=totals[s]) for s in STAGES if totals[s]}
        stop = threading.Event()
        watcher = threading.Thread(
            target=watch_progress, args=(stop, request_id, progress, tasks), daemon=True
        )
        watcher.start()
        try:
            report = run_days(
                defs, first, last, instance=instance, extra_tags={REQUEST_TAG: request_id}
            )
        finally:
            stop.set()
            watcher.join()
    results = day_results(first, last, report, settings.snapshot_dir)
    console.print(days_table(results, settings.snapshot_dir))
    if report.success:
        days = "" if first == last else f" .. {last} ({(last - first).days + 1} days)"
        console.print(f"[green]published[/] {first}{days}")
        for warning in report.warned_checks:
            console.print(f"[yellow]warning:[/] {warning}")
        console.print(f"snapshots: {settings.snapshot_dir}")
        return 0
    err_console.print(f"[bold red]not published:[/] {report.reason()}")
    err_console.print(f"[dim]run id {report.run_id}; details: kpi status, or make dev (the UI)[/]")
    if report.failure_report:
        err_console.print(f"failure report: {report.failure_report}")
    return 1


def run(date: str = typer.Option(..., "--date", help="The day to build, YYYY-MM-DD.")) -> None:
    """Build one day end to end (ingest, dbt, gate, publish) in-process.

    Exits 0 when the day was published, 1 when the quality gate blocked it.

    Example:
      kpi run --date 2025-03-01
    """
    day = parse_day(date, "--date")
    raise typer.Exit(run_range(day, day))


def backfill(
    start: str = typer.Option(..., help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last day (inclusive), YYYY-MM-DD."),
) -> None:
    """Build a range of days as one Dagster run (one dbt invocation over the range), with a
    progress bar per stage and a final table of the days published or blocked.

    Exits 0 when every day was published, 1 when the quality gate blocked the range.

    Example:
      kpi backfill --start 2025-01-01 --end 2025-03-31
    """
    first, last = parse_range(start, end)
    raise typer.Exit(run_range(first, last))
