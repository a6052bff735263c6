"""`kpi snapshots list`, `kpi snapshots show DAY` and `kpi snapshots diff DAY` (also spelt
`kpi snapshots --diff DAY`): what was published, in which versions, and what a later version
restated and why."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from kpi_pipeline.cli.common import console, err_console, fail, parse_day, read_settings
from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.publish.registry import LEDGER_COLUMNS

snapshots = typer.Typer(
    help="Published KPI snapshots: every day, its versions and which one is latest.",
    no_args_is_help=True,
    invoke_without_command=True,  # `kpi snapshots --diff DAY`, the spelling
)

FORMATS = ("table", "csv", "json")
# the columns of `diff --format csv|json`: the ledger's (publish.kpi_restatements)
DIFF_COLUMNS = LEDGER_COLUMNS[:-1]  # without recorded_at


@snapshots.callback()
def snapshots_options(
    ctx: typer.Context,
    diff: str = typer.Option(
        None, "--diff", metavar="DAY", help="Same as `kpi snapshots diff DAY`."
    ),
    from_version: int = typer.Option(None, "--from", help="With --diff: the older version."),
    to_version: int = typer.Option(None, "--to", help="With --diff: the newer version."),
    fmt: str = typer.Option("table", "--format", help="With --diff: table, csv or json."),
) -> None:
    """Published KPI snapshots: every day, its versions and which one is latest."""
    if ctx.invoked_subcommand is not None:
        if diff is not None:
            raise fail("--diff goes without a command", "kpi snapshots --diff DAY")
        return
    if diff is None:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    diff_snapshots(diff, from_version, to_version, fmt)


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

    settings = read_settings()
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

    settings = read_settings()
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


def _versions_to_compare(
    day_folder: Path, day: str, from_version: int | None, to_version: int | None
) -> tuple[int, int]:
    """The two versions `diff` compares: by default the latest and the one before it."""
    from kpi_pipeline.publish.snapshot import version_folders

    versions = sorted(version_folders(day_folder))
    if not versions:
        raise fail(
            f"no snapshot of {day} in {day_folder.parent}",
            "list what exists: kpi snapshots list",
            code=ExitCode.BLOCKED,
        )
    if len(versions) == 1:
        raise fail(
            f"{day} has one version only (v{versions[0]}): nothing to compare",
            "a day gets a second version when it is published again with changed data",
            code=ExitCode.BLOCKED,
        )
    for number, option in ((from_version, "--from"), (to_version, "--to")):
        if number is not None and number not in versions:
            raise fail(
                f"{day} has no version {number} ({option})",
                f"its versions: {', '.join(f'v{v}' for v in versions)}",
                code=ExitCode.BLOCKED,
            )
    newer = to_version if to_version is not None else versions[-1]
    older = from_version
    if older is None:
        earlier = [v for v in versions if v < newer]
        if not earlier:
            raise fail(f"v{newer} is the first version of {day}", "pick --to 2 or later")
        older = earlier[-1]
    if older >= newer:
        raise fail(
            f"--from v{older} is not before --to v{newer}", "compare an older with a newer version"
        )
    return older, newer


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    return (
        f"'{value}"
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        else value
    )


def _causes_text(causes: list[str]) -> str:
    return "; ".join(causes)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.2f}"


@snapshots.command("diff")
def diff_snapshots(
    day: str = typer.Argument(..., help="The day, YYYY-MM-DD."),
    from_version: int = typer.Option(
        None, "--from", help="The older version; default: the one before --to."
    ),
    to_version: int = typer.Option(None, "--to", help="The newer version; default: the latest."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """The KPI rows whose value, target or status differ between two versions of a day,
    and why (a re-sent or late source file, a changed definition or target in kpis.yml).
    Exits 1 when the day has no snapshot or one version only.

    Examples:
      kpi snapshots diff 2025-03-03                  # the latest version against the one before
      kpi snapshots diff 2025-03-03 --from 1 --to 3 --format csv
      kpi snapshots --diff 2025-03-03
    """
    from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue
    from kpi_pipeline.publish.restatements import changes_since, ledger_rows
    from kpi_pipeline.publish.snapshot import KPIS_PARQUET, DamagedSnapshotError, read_manifest

    if fmt not in FORMATS:
        raise fail(f"--format '{fmt}' is not known", "use --format table, csv or json")
    settings = read_settings()
    when = parse_day(day, "DAY")
    day_folder = settings.snapshot_dir / when.isoformat()
    older, newer = _versions_to_compare(day_folder, str(when), from_version, to_version)
    sides: list[tuple[pl.DataFrame, dict[str, Any]]] = []
    for number in (older, newer):
        folder = day_folder / f"v{number}"
        try:
            sides.append((pl.read_parquet(folder / KPIS_PARQUET), read_manifest(folder)))
        except DamagedSnapshotError as err:
            raise fail(str(err), "kpi snapshots list shows the other versions") from err
        except (OSError, pl.exceptions.PolarsError) as err:
            raise fail(
                f"{folder / KPIS_PARQUET} does not read ({type(err).__name__})",
                "restore the version folder from a backup",
            ) from err
    changes = changes_since(sides[0][0], sides[0][1], sides[1][0], sides[1][1])
    changes["since_version"] = older  # the older side, whatever its manifest says
    rows = [{"day": str(when), **r} for r in ledger_rows(changes, newer)]
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=DIFF_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: _cell(v) for k, v in {**r, "causes": _causes_text(r["causes"])}.items()}
            for r in rows
        )
        return
    if not rows:
        console.print(f"{when}: no KPI value, target or status changed from v{older} to v{newer}")
        return
    try:
        names = {k.id: k.name for k in load_catalogue(settings.kpi_catalogue_path).values()}
    except CatalogueError:
        names = {}
    table = Table(title=f"{when}: v{older} → v{newer}, {len(rows)} KPI rows changed")
    for column in ("KPI", "breakdown", "value", "target", "status", "causes"):
        table.add_column(column, overflow="fold")
    for r in rows:
        breakdown = "" if r["dimension"] == "all" else f"{r['dimension']}: {r['dimension_value']}"
        table.add_row(
            escape(names.get(r["kpi_id"], r["kpi_id"])),
            escape(breakdown),
            f"{_number(r['old_value'])} → {_number(r['new_value'])}",
            ""
            if r["old_target"] == r["new_target"]
            else f"{_number(r['old_target'])} → {_number(r['new_target'])}",
            escape(
                r["new_status"] or ""
                if r["old_status"] == r["new_status"]
                else f"{r['old_status'] or '-'} → {r['new_status'] or '-'}"
            ),
            escape(_causes_text(r["causes"])),
        )
    console.print(table)
