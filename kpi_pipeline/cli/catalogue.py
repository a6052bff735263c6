"""`kpi validate` and `kpi list`: check the KPI catalogue, show it with the latest status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from kpi_pipeline.cli.common import console, fail

SEED_PATH = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "kpi_catalogue.csv"
STATUS_STYLE = {
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
    "no_target": "dim",
}


def _catalogue_path(path: Path | None) -> Path:
    from kpi_pipeline.settings import Settings

    return path if path is not None else Settings.from_env().kpi_catalogue_path


def _load(path: Path):
    from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue_with_metrics

    try:
        return load_catalogue_with_metrics(path)
    except CatalogueError as err:
        raise fail(str(err), "fix the field named above; docs/kpis.md lists every field") from err


def validate(
    path: Path = typer.Option(None, "--path", help="Catalogue file (default: KPI_CATALOGUE)."),
    write_seed: bool = typer.Option(
        False, "--write-seed", help="Also write dbt's kpi_catalogue seed (behind dim_kpi)."
    ),
) -> None:
    """Check the KPI catalogue: every KPI SMART, every formula made of defined metrics.

    Example: kpi validate --path kpis.yml --write-seed
    """
    from kpi_pipeline.kpis.seed import seed_csv, seed_is_current

    catalogue_path = _catalogue_path(path)
    metrics, kpis = _load(catalogue_path)
    if write_seed:
        SEED_PATH.write_text(seed_csv(kpis))
        console.print(f"wrote {SEED_PATH}")
    elif not seed_is_current(kpis, SEED_PATH):
        raise fail(
            f"{SEED_PATH} does not match {catalogue_path}",
            "run `kpi validate --write-seed` so dim_kpi follows the catalogue",
            code=1,
        )
    console.print(f"{catalogue_path}: {len(kpis)} KPIs, {len(metrics)} metrics, all valid")


def latest_values(warehouse: Path) -> dict[str, tuple[dt.date, float | None, float | None]]:
    """Per KPI: its latest day in the facts, the overall value and the value of the same
    day a year earlier (for targets relative to last year); empty without facts."""
    import duckdb

    if not warehouse.is_file():
        return {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = con.execute(
            """
            with latest as (
                select kpi_id, max(kpi_date) as kpi_date
                from marts.fct_kpi_daily where dimension = 'all' group by kpi_id
            )
            select latest.kpi_id, latest.kpi_date, now.value, last_year.value
            from latest
            join marts.fct_kpi_daily as now
                on now.kpi_id = latest.kpi_id and now.kpi_date = latest.kpi_date
                and now.dimension = 'all'
            left join marts.fct_kpi_daily as last_year
                on last_year.kpi_id = latest.kpi_id and last_year.dimension = 'all'
                and last_year.kpi_date = cast(latest.kpi_date - interval 1 year as date)
            """
        ).fetchall()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return {kpi_id: (day, value, last_year) for kpi_id, day, value, last_year in rows}


def catalogue_table(kpis: dict, facts: dict) -> Table:
    from kpi_pipeline.kpis.status import kpi_status, relative_target

    table = Table(title="KPI catalogue")
    columns = ("id", "name", "family", "formula", "target", "owner", "cadence")
    for column in columns:
        table.add_column(column)
    if facts:
        for column in ("day", "value", "status"):
            table.add_column(column, justify="right" if column == "value" else "left")
    for kpi in kpis.values():
        formula = kpi.formula.numerator
        if kpi.formula.denominator:
            formula = f"({formula}) / ({kpi.formula.denominator})"
        if kpi.formula.scale != 1:
            formula = f"{kpi.formula.scale:g} * {formula}"
        cells = [
            kpi.id,
            kpi.name,
            kpi.family,
            formula,
            kpi.target.describe(),
            kpi.owner,
            kpi.review_cadence,
        ]
        if facts:
            day, value, last_year = facts.get(kpi.id, (None, None, None))
            status = kpi_status(value, kpi, relative_target(last_year, kpi))
            cells += [
                "" if day is None else day.isoformat(),
                "-" if value is None else f"{value:,.4g}",
                f"[{STATUS_STYLE.get(status, '')}]{status}[/]",
            ]
        table.add_row(*cells)
    return table


def list_kpis(
    path: Path = typer.Option(None, "--path", help="Catalogue file (default: KPI_CATALOGUE)."),
) -> None:
    """Show the KPI catalogue: family, formula, target, owner; with the latest day's value
    and status when the warehouse holds KPI facts.

    Example: kpi list
    """
    from kpi_pipeline.settings import Settings

    _, kpis = _load(_catalogue_path(path))
    console.print(catalogue_table(kpis, latest_values(Settings.from_env().warehouse_path)))
