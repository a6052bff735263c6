"""`kpi runs` and `kpi runs mark-failed RUN_ID`: the daily job's runs with the state of the
process behind each one still in progress, and the rare manual way out."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from kpi_pipeline.cli.common import (
    console,
    existing_instance,
    fail,
    load_settings,
    open_instance,
    read_settings,
)

runs = typer.Typer(
    help="Runs of the daily job: list them (kpi runs), or mark a dead one failed.",
)
PROCESS_NOTE = {
    "alive": "[cyan]running[/]",
    "gone": "[red]process gone[/] (the next kpi run marks it failed)",
    "unknown": "[yellow]not known here[/] (started elsewhere, or before it was recorded)",
}


@runs.callback(invoke_without_command=True)
def list_runs(
    ctx: typer.Context,
    limit: int = typer.Option(20, min=1, help="How many recent runs to list."),
) -> None:
    """The latest runs of the daily job, newest first (ids shortened to 8 characters, which
    `mark-failed` accepts); for a run in progress, whether its
    process is still alive. Changes nothing.

    Examples:
      kpi runs
      kpi runs --limit 5
      kpi runs mark-failed 1a2b3c4d
    """
    if ctx.invoked_subcommand:
        return
    from kpi_pipeline.orchestration.status import recent_runs

    settings = read_settings()
    with existing_instance(settings.dagster_home) as instance:
        rows = recent_runs(instance, limit=limit)
    if not rows:
        console.print("no runs yet (kpi run --date D, or make dev)")
        return
    table = Table(title="Runs of daily_kpis")
    for column in ("run", "status", "days", "started (UTC)", "process"):
        table.add_column(column)
    for row in rows:
        started = row.started.strftime("%Y-%m-%d %H:%M") if row.started else ""
        process = PROCESS_NOTE.get(row.process, "")
        table.add_row(row.run_id[:8], row.status, row.days_text, started, process)
    console.print(table)


@runs.command("mark-failed")
def mark_failed(
    run_id: str = typer.Argument(..., help="The run's id, or its first 8 characters."),
) -> None:
    """Mark a run that Dagster still holds as in progress failed, when its process is known
    to be gone but could not be checked from here (started on another host, say). A run
    whose process is alive on this host is refused: stop it first.

    Example: kpi runs mark-failed 1a2b3c4d
    """
    from dagster import RunsFilter

    from kpi_pipeline.orchestration.run_liveness import (
        ALIVE,
        IN_PROGRESS,
        mark_failed,
        process_state,
    )

    settings = load_settings()
    with open_instance(settings.dagster_home) as instance:
        matches = [
            r.dagster_run
            for r in instance.get_run_records(RunsFilter(statuses=IN_PROGRESS))
            if r.dagster_run.run_id.startswith(run_id)
        ]
        if len(matches) != 1:
            found = "no run in progress" if not matches else f"{len(matches)} runs in progress"
            raise fail(f"{found} matches '{run_id}'", "kpi runs lists the runs and their ids")
        run = matches[0]
        if process_state(run.tags) == ALIVE:
            raise fail(
                f"run {run.run_id[:8]} is still running (pid {run.tags.get('kpi/pid')})",
                "let it finish, or stop it (kill the process, or cancel it in the Dagster UI)",
            )
        mark_failed(instance, run.run_id, f"run {run.run_id[:8]} marked failed by hand")
    console.print(f"run {escape(run.run_id)} marked failed; kpi run can start")
