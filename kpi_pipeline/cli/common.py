"""What every `kpi` command shares: consoles, readable errors, date parsing, settings."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
VERBOSE = {"on": False}  # `kpi --verbose ...`: tracebacks and Dagster's log of a run
err_console = Console(stderr=True)
STATUS_STYLE = {
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
    "no_target": "dim",
}


BUSY_HINT = "try again when the run has finished (kpi runs), or raise KPI_LOCK_TIMEOUT (seconds)"


def say_waiting(message: str) -> None:
    """What a command waits for (the warehouse lock), once, on stderr."""
    err_console.print(f"[yellow]{escape(message)}[/]")


def styled_status(status: str | None) -> str:
    """A KPI status in its colour (Rich markup); empty for none."""
    style = STATUS_STYLE.get(status or "")
    return f"[{style}]{status}[/]" if style else status or ""


def fail(message: str, hint: str, code: int = 2) -> typer.Exit:
    """One readable line and a hint; raise the returned `Exit`."""
    err_console.print(f"[bold red]error:[/] {escape(message)}\n[dim]hint: {escape(hint)}[/]")
    return typer.Exit(code)


def parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise fail(f"{option} '{text}' is not a date", "use YYYY-MM-DD, e.g. 2025-03-01") from err


def parse_range(start: str, end: str) -> tuple[dt.date, dt.date]:
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise fail("--end is before --start", "swap the two dates")
    return first, last


@contextmanager
def open_instance(home: Path) -> Iterator:
    """The Dagster instance of `home` (the settings' `dagster_home`: DAGSTER_HOME or
    `$KPI_DATA_DIR/dagster_home`), or one clear error when its storage is damaged."""
    import sqlalchemy.exc

    from kpi_pipeline.orchestration.dagster_private import open_instance_at

    try:
        with open_instance_at(home) as instance:
            instance.get_runs_count()  # a damaged store fails here, not mid-run
            yield instance
    except (sqlite3.DatabaseError, sqlalchemy.exc.DatabaseError) as err:
        first_line = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise fail(
            f"Dagster's run history in {home} is damaged ({first_line})",
            "it holds only run history, not data: move its history/ folder aside (e.g. "
            f"mv {home}/history {home}/history.damaged) and run again; the "
            "warehouse and the snapshots are not affected",
        ) from err


@contextmanager
def existing_instance(home: Path) -> Iterator:
    """`open_instance(home)` for a command that only reads, or None where the deployment
    has no Dagster home yet: nothing has run there, and opening an instance would create
    its storage."""
    if not home.is_dir():
        yield None
        return
    with open_instance(home) as instance:
        yield instance


def read_settings():
    """The deployment's settings, creating nothing: for the commands that only read, so
    that one run where there is no deployment says what is missing and leaves no folder
    behind. This process's environment is left as it is."""
    from kpi_pipeline.settings import Settings

    return Settings.from_env()


def load_settings():
    """The settings of a command that builds or changes the deployment: `read_settings`
    with the deployment's folders and Dagster instance created (telemetry off)."""
    from kpi_pipeline.settings import prepare_deployment

    settings = read_settings()
    prepare_deployment(settings)
    return settings


def named_kpi(settings, text: str):
    """The catalogue's KPI named by `text` (its id or display name, any case); a bad
    catalogue or an unknown name ends the command with what to do ("did you mean")."""
    from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue
    from kpi_pipeline.kpis.show import find_kpi

    try:
        catalogue = load_catalogue(settings.kpi_catalogue_path)
    except CatalogueError as err:
        raise fail(str(err), "fix kpis.yml; kpi validate checks it") from err
    kpi, close = find_kpi(catalogue, text)
    if kpi is None:
        raise fail(
            f"no KPI '{text}' in {settings.kpi_catalogue_path}",
            (f"did you mean {' or '.join(close)}? " if close else "") + "kpi list shows the ids",
        )
    return kpi
