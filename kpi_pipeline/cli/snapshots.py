"""`kpi snapshots list` and `kpi snapshots show DAY`: what was published, in which versions."""

from __future__ import annotations

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from kpi_pipeline.cli.common import console, err_console, fail, load_settings, parse_day

snapshots = typer.Typer(
    help="Published KPI snapshots: every day, its versions and which one is latest.",
    no_args_is_help=True,
)


@snapshots.command("list")
def list_snapshots() -> None:
    """Every published day with its versions, the latest one and its warnings.

    Example: kpi snapshots list
    """
    from kpi_pipeline.publish.snapshot import (
        DamagedSnapshotError,
        latest_folder,
        read_manifest,
        version_folders,
    )

    settings = load_settings()
    days = (
        sorted(p for p in settings.snapshot_dir.glob("????-??-??") if p.is_dir())
        if settings.snapshot_dir.exists()
        else []
    )
    if not days:
        raise fail(
            f"no snapshot in {settings.snapshot_dir}",
            "publish one first: kpi run --date YYYY-MM-DD (or make demo)",
            code=1,
        )
    table = Table(title=f"snapshots in {settings.snapshot_dir}")
    for column in ("day", "versions", "latest", "published at", "warnings"):
        table.add_column(column)
    for day in days:
        latest = latest_folder(day)
        try:
            manifest = read_manifest(latest) if latest else {}
        except DamagedSnapshotError as err:
            err_console.print(f"[bold red]damaged:[/] {escape(str(err))}")
            manifest = {"published_at": "damaged"}
        table.add_row(
            day.name,
            str(len(version_folders(day))),
            latest.name if latest else "-",
            str(manifest.get("published_at", "-")),
            str(len(manifest.get("warnings", []))),
        )
    console.print(table)


@snapshots.command("show")
def show_snapshot(
    day: str = typer.Argument(..., help="The day, YYYY-MM-DD."),
    version: int = typer.Option(None, help="A version number; the latest when omitted."),
) -> None:
    """A day's KPIs, its manifest's summary and where its report is.

    Example: kpi snapshots show 2025-03-01 --version 1
    """
    from kpi_pipeline.cli.demo import kpi_table
    from kpi_pipeline.kpis.catalogue import load_catalogue
    from kpi_pipeline.publish.snapshot import (
        KPIS_PARQUET,
        MANIFEST,
        REPORT,
        DamagedSnapshotError,
        latest_folder,
        read_manifest,
    )

    settings = load_settings()
    when = parse_day(day, "DAY")
    day_folder = settings.snapshot_dir / when.isoformat()
    folder = day_folder / f"v{version}" if version else latest_folder(day_folder)
    if folder is None or not (folder / MANIFEST).exists():
        raise fail(
            f"no snapshot{f' version {version}' if version else ''} of {when} in "
            f"{settings.snapshot_dir}",
            "list what exists: kpi snapshots list",
            code=1,
        )
    try:
        manifest = read_manifest(folder)
    except DamagedSnapshotError as err:
        raise fail(str(err), "kpi snapshots list shows the other versions") from err
    names = {k.id: k.name for k in load_catalogue(settings.kpi_catalogue_path).values()}
    console.print(kpi_table(pl.read_parquet(folder / KPIS_PARQUET), names))
    console.print(
        f"version {manifest['version']} of {when}, published {manifest['published_at']} "
        f"by run {manifest.get('run_id')}, {manifest['rows']} rows, "
        f"checksum {manifest['data_checksum'][:12]}"
    )
    for warning in manifest.get("warnings", []):
        console.print(
            f"[yellow]warning:[/] {warning['asset']}:{warning['check']} "
            f"({warning.get('description')})"
        )
    console.print(f"folder: {folder}")
    console.print(f"report: {folder / REPORT}")
