"""`kpi run` and `kpi backfill`: build days through the Dagster job, in-process."""

from __future__ import annotations

import datetime as dt

import typer

from kpi_pipeline.cli.common import console, err_console, load_settings, parse_day, parse_range


def run_range(first: dt.date, last: dt.date) -> int:
    """Run the job over `first..last`; 0 when published, 1 when the gate blocked it."""
    settings = load_settings()
    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.runner import run_days

    with console.status(f"running the pipeline for {first} .. {last}"):
        report = run_days(build_definitions(settings), first, last)
    if report.success:
        days = "" if first == last else f" .. {last} ({(last - first).days + 1} days)"
        console.print(f"[green]published[/] {first}{days}")
        for warning in report.warned_checks:
            console.print(f"[yellow]warning:[/] {warning}")
        console.print(f"snapshots: {settings.snapshot_dir}")
        return 0
    err_console.print(f"[bold red]not published:[/] {report.reason()}")
    err_console.print(f"[dim]run id {report.run_id}; details: make dev (the Dagster UI)[/]")
    if report.failure_report:
        err_console.print(f"failure report: {report.failure_report}")
    return 1


def run(date: str = typer.Option(..., "--date", help="The day to build, YYYY-MM-DD.")) -> None:
    """Build one day end to end (ingest, dbt, gate, publish) in-process.

    Exits 0 when the day was published, 1 when the quality gate blocked it.
    Example: kpi run --date 2025-03-01
    """
    day = parse_day(date, "--date")
    raise typer.Exit(run_range(day, day))


def backfill(
    start: str = typer.Option(..., help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last day (inclusive), YYYY-MM-DD."),
) -> None:
    """Build a range of days as one Dagster run (one dbt invocation over the range).

    Example: kpi backfill --start 2025-01-01 --end 2025-03-31
    """
    first, last = parse_range(start, end)
    raise typer.Exit(run_range(first, last))
