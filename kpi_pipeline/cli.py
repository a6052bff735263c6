"""`kpi`: the command line of the KPI pipeline."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="KPI pipeline: landing-zone extracts -> dbt KPI facts -> quality gate -> daily snapshots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DEMO_DAYS = 90
DEMO_SCALE = float(os.environ.get("KPI_DEMO_SCALE", "0.5"))
STATUS_STYLE = {"on_track": "green", "at_risk": "yellow", "off_track": "red", "no_data": "dim"}


def _fail(message: str, hint: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}\n[dim]hint: {hint}[/]")
    return typer.Exit(code)


def _parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise _fail(f"{option} '{text}' is not a date", "use YYYY-MM-DD, e.g. 2025-03-01") from err


def _settings():
    from kpi_pipeline.settings import Settings, prepare_environment

    settings = Settings.from_env()
    prepare_environment(settings)
    return settings


@app.command()
def sample(
    start: str = typer.Option(..., help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last day (inclusive), YYYY-MM-DD."),
    out: Path = typer.Option(None, help="Landing zone to write (default: KPI_LANDING_DIR)."),
    scale: float = typer.Option(
        1.0, help="Volume multiplier: 1 = ~5,000 sessions, 100 orders/day."
    ),
    seed: int = typer.Option(42, help="Random seed; the same seed writes the same files."),
) -> None:
    """Write realistic sample extracts into the landing zone.

    Example: kpi sample --start 2025-01-01 --end 2025-03-31 --out data/landing --scale 0.5
    """
    from kpi_pipeline.sample import generate_sample

    first, last = _parse_day(start, "--start"), _parse_day(end, "--end")
    if last < first:
        raise _fail("--end is before --start", "swap the two dates")
    target = out or _settings().landing_dir
    summary = generate_sample(first, last, target, scale=scale, seed=seed)
    console.print(f"wrote sample extracts for {first} .. {last} to {target}")
    console.print(summary)


def _run(first: dt.date, last: dt.date) -> int:
    settings = _settings()
    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.runner import run_days

    with console.status(f"running the pipeline for {first} .. {last}"):
        report = run_days(build_definitions(settings), first, last)
    if report.success:
        days = "" if first == last else f" ({(last - first).days + 1} days)"
        console.print(f"[green]published[/] {first}{'' if first == last else f' .. {last}'}{days}")
        for warning in report.warned_checks:
            console.print(f"[yellow]warning:[/] {warning}")
        console.print(f"snapshots: {settings.snapshot_dir}")
        return 0
    err_console.print(f"[bold red]not published:[/] {report.reason()}")
    err_console.print(f"[dim]run id {report.run_id}; details: dagster dev -w workspace.yaml[/]")
    return 1


@app.command()
def run(date: str = typer.Option(..., "--date", help="The day to build, YYYY-MM-DD.")) -> None:
    """Build one day end to end (ingest, dbt, gate, publish) in-process.

    Exits 0 when the day was published, 1 when the quality gate blocked it.
    Example: kpi run --date 2025-03-01
    """
    day = _parse_day(date, "--date")
    raise typer.Exit(_run(day, day))


@app.command()
def backfill(
    start: str = typer.Option(..., help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last day (inclusive), YYYY-MM-DD."),
) -> None:
    """Build a range of days as one Dagster run (one dbt invocation over the range).

    Example: kpi backfill --start 2025-01-01 --end 2025-03-31
    """
    first, last = _parse_day(start, "--start"), _parse_day(end, "--end")
    if last < first:
        raise _fail("--end is before --start", "swap the two dates")
    raise typer.Exit(_run(first, last))


def kpi_table(snapshot: pl.DataFrame, names: dict[str, str]) -> Table:
    table = Table(title=f"KPIs of {snapshot['date'][0]}")
    for column in ("KPI", "family", "value", "target", "status"):
        table.add_column(column, justify="right" if column in {"value", "target"} else "left")
    for row in snapshot.filter(pl.col("dimension") == "all").iter_rows(named=True):
        value = "-" if row["value"] is None else f"{row['value']:,.4g}"
        status = row["status"] or ""
        table.add_row(
            names.get(row["kpi_id"], row["kpi_id"]),
            row["family"],
            value,
            f"{row['target']:,.4g}",
            f"[{STATUS_STYLE.get(status, '')}]{status}[/]",
        )
    return table


@app.command()
def demo(
    scale: float = typer.Option(DEMO_SCALE, help="Sample volume (1 = ~5,000 sessions/day)."),
    days: int = typer.Option(DEMO_DAYS, help="How many days of history to generate."),
) -> None:
    """Generate sample extracts for the last 90 days, backfill them through Dagster, and show
    the latest complete day's KPIs."""
    from kpi_pipeline.kpis.catalogue import load_catalogue
    from kpi_pipeline.sample import generate_sample

    settings = _settings()
    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    with console.status(f"generating sample extracts {first} .. {last} (scale {scale})"):
        generate_sample(first, last, settings.landing_dir, scale=scale)
    console.print(f"sample extracts: {settings.landing_dir}")
    code = _run(first, last)
    if code:
        raise typer.Exit(code)
    folder = settings.snapshot_dir / last.isoformat()
    names = {k.id: k.name for k in load_catalogue(settings.kpi_catalogue_path).values()}
    console.print(kpi_table(pl.read_parquet(folder / "kpis.parquet"), names))
    console.print(f"snapshot of {last}: {folder}")
    console.print("explore the runs and checks: make dev  (then open http://localhost:3000)")


def main() -> None:
    try:
        app()
    except Exception as err:  # one readable line, not a traceback
        err_console.print(f"[bold red]error:[/] {err}")
        sys.exit(2)
