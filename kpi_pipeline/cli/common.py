"""What every `kpi` command shares: consoles, readable errors, date parsing, settings."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)
STATUS_STYLE = {
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
    "no_target": "dim",
}


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


def load_settings():
    """The deployment's settings, with its folders created and telemetry off."""
    from kpi_pipeline.settings import Settings, prepare_environment

    settings = Settings.from_env()
    prepare_environment(settings)
    return settings
