"""`kpi run` and `kpi backfill`: build days through the Dagster job, in-process, with a
progress bar per stage and a final table of the days published or blocked."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kpi_pipeline.cli.catalogue import refuse_an_invalid_catalogue
from kpi_pipeline.cli.common import (
    VERBOSE,
    console,
    err_console,
    fail,
    load_settings,
    open_instance,
    parse_day,
    parse_range,
    say_waiting,
)
from kpi_pipeline.exit_codes import ExitCode

POLL_SECONDS = 0.5


def watch_progress(
    stop: threading.Event,
    request_id: str,
    progress: Progress,
    tasks: dict[str, int],
    dagster_home: Path,
) -> None:
    """Until `stop`, move each stage's bar to the number of its steps finished so far."""
    from kpi_pipeline.orchestration.dagster_private import open_instance_at
    from kpi_pipeline.orchestration.progress import find_run, finished_steps

    with open_instance_at(dagster_home) as instance:
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


def publish_state(snapshot_dir, day: dt.date, run_id: str) -> str:
    """`published` when this run wrote the day's latest version, `unchanged` when an earlier
    run did (the data was the same), `not published` when the day has no snapshot."""
    from kpi_pipeline.publish.snapshot import DamagedSnapshotError, latest_folder, read_manifest

    latest = latest_folder(snapshot_dir / day.isoformat())
    if latest is None:
        return "not published"
    try:
        return "published" if read_manifest(latest).get("run_id") == run_id else "unchanged"
    except DamagedSnapshotError:
        return "unchanged"


def day_results(first: dt.date, last: dt.date, report, snapshot_dir) -> list[tuple[dt.date, str]]:
    """Each day of the run: published, unchanged, not published, blocked (by the gate) or
    failed."""
    results = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if report.success or report.delivery_failed:
            results.append((day, publish_state(snapshot_dir, day, report.run_id)))
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
        style = {"published": "green", "unchanged": "dim", "blocked": "red", "failed": "red"}
        table.add_row(
            span,
            str((end - start).days + 1),
            f"[{style.get(result, 'yellow')}]{result}[/]",
            where if result in {"published", "unchanged"} else "unchanged",
        )
    return table


def refuse_days_outside_partitions(settings, first: dt.date, last: dt.date) -> None:
    """Days the job has no partition for are refused before anything starts."""
    from kpi_pipeline.partitions import partition_range

    start, end = partition_range(settings)
    if first < start:
        raise fail(
            f"{first} is before the first day of this deployment's history, {start}",
            "history starts at the earliest dt= folder of the landing zone; set "
            "KPI_PARTITIONS_START=YYYY-MM-DD to start earlier",
        )
    if last > end:
        raise fail(
            f"{last} has not ended yet in {settings.timezone}: the last day that can be "
            f"built is {end}",
            f"build days from {start} to {end}; a day is built once it is over",
        )


def run_range(first: dt.date, last: dt.date) -> int:
    """Run the job over `first..last` holding the writer lock; the exit code says what
    happened (README: Exit codes)."""
    from kpi_pipeline.warehouse.lock import WarehouseBusyError, hold

    settings = load_settings()
    command = f"kpi run {first}" if first == last else f"kpi backfill {first} .. {last}"
    refuse_days_outside_partitions(settings, first, last)
    refuse_an_invalid_catalogue(settings.kpi_catalogue_path)  # before dbt trips on a typo
    try:
        with hold(settings.lock_file, command=command, on_wait=say_waiting):
            return _run_locked(settings, first, last)
    except WarehouseBusyError as err:
        raise fail(
            str(err),
            "try again later, or raise KPI_LOCK_TIMEOUT (seconds); kpi runs lists the runs",
            code=ExitCode.BUSY,
        ) from err


def _run_locked(settings, first: dt.date, last: dt.date) -> int:
    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.jobs import DAILY_JOB
    from kpi_pipeline.orchestration.progress import REQUEST_TAG, STAGES, steps_per_stage
    from kpi_pipeline.orchestration.run_liveness import process_tags, recover_stale_runs
    from kpi_pipeline.runner import run_days
    from kpi_pipeline.warehouse import unreachable, wait_until_free

    with open_instance(settings.dagster_home) as instance:
        for notice in recover_stale_runs(instance):
            err_console.print(f"[yellow]notice:[/] {escape(notice)}")
    # an analyst's own DuckDB session, say
    wait_until_free(settings.warehouse_location, on_wait=say_waiting)
    if problem := unreachable(settings.warehouse_location):
        raise fail(
            problem,
            "nothing was run and the published snapshots are unchanged: start the "
            "warehouse or correct KPI_WAREHOUSE, then run the same command again",
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
    with (
        open_instance(settings.dagster_home) as instance,
        Progress(*columns, console=console) as progress,
    ):
        tasks = {s: progress.add_task(s, total=totals[s]) for s in STAGES if totals[s]}
        stop = threading.Event()
        watcher = threading.Thread(
            target=watch_progress,
            args=(stop, request_id, progress, tasks, settings.dagster_home),
            daemon=True,
        )
        watcher.start()
        try:
            report = run_days(
                defs,
                first,
                last,
                instance=instance,
                quiet=not VERBOSE["on"],
                extra_tags={REQUEST_TAG: request_id, **process_tags()},
            )
        finally:
            stop.set()
            watcher.join()
    results = day_results(first, last, report, settings.snapshot_dir)
    console.print(days_table(results, settings.snapshot_dir))
    if report.success:
        counts = {r: sum(1 for _, state in results if state == r) for _, r in results}
        summary = ", ".join(f"{n} {state}" for state, n in counts.items())
        days = str(first) if first == last else f"{first} .. {last}"
        console.print(f"[green]done[/] {days}: {summary}")
        for warning in report.warned_checks:
            console.print(f"[yellow]warning:[/] {escape(warning)}")
        console.print(f"snapshots: {settings.snapshot_dir}")
        return ExitCode.OK
    label = "published, not delivered" if report.delivery_failed else "not published"
    err_console.print(f"[bold red]{label}:[/] {escape(report.reason())}")
    err_console.print(f"[dim]run id {report.run_id}; details: kpi status, or make dev (the UI)[/]")
    if report.failure_report:
        err_console.print(f"failure report: {report.failure_report}")
    return report.exit_code


def run(date: str = typer.Option(..., "--date", help="The day to build, YYYY-MM-DD.")) -> None:
    """Build one day end to end (ingest, dbt, gate, publish) in-process.

    Exits 0 when the day was published (or already was), 1 when the quality gate blocked
    it, 2 on an error, 3 when the warehouse stayed busy for KPI_LOCK_TIMEOUT seconds, 4 when
    it was published but its report could not be sent.

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

    Exits 0 when every day was published, 1 when the quality gate blocked the range; 2, 3
    and 4 as for kpi run (error, busy, published but not delivered).

    Example:
      kpi backfill --start 2025-01-01 --end 2025-03-31
    """
    first, last = parse_range(start, end)
    raise typer.Exit(run_range(first, last))
