"""`kpi validate` and `kpi list`: check the KPI catalogue, show it with the latest status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from kpi_pipeline.cli.common import console, fail, styled_status
from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings

SEED_PATH = DBT_PROJECT_DIR / "seeds" / "kpi_catalogue.csv"
METRICS_PATH = DBT_PROJECT_DIR / "models" / "marts" / "semantic" / "_kpi_metrics.yml"


def _catalogue_path(path: Path | None) -> Path:
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
        False,
        "--write-seed",
        help="Also write dbt's kpi_catalogue seed (dim_kpi) and the MetricFlow KPI metrics.",
    ),
) -> None:
    """Check the KPI catalogue: every KPI SMART, every formula made of defined metrics.

    Example: kpi validate --path kpis.yml --write-seed
    """
    from kpi_pipeline.kpis.seed import seed_csv
    from kpi_pipeline.kpis.semantic import semantic_yaml

    catalogue_path = _catalogue_path(path)
    metrics, kpis = _load(catalogue_path)
    generated = {SEED_PATH: seed_csv(kpis), METRICS_PATH: semantic_yaml(kpis)}
    for target, text in generated.items():
        if write_seed:
            target.write_text(text)
            console.print(f"wrote {target}")
        elif not target.is_file() or target.read_text() != text:
            raise fail(
                f"{target} does not match {catalogue_path}",
                "run `kpi validate --write-seed` so dim_kpi and the metrics follow the catalogue",
                code=1,
            )
    console.print(f"{catalogue_path}: {len(kpis)} KPIs, {len(metrics)} metrics, all valid")


def latest_values(warehouse: Path | str) -> dict[str, tuple[dt.date, float | None, float | None]]:
    """Per KPI: its latest day in the facts, the overall value and the value of the same
    day a year earlier (for targets relative to last year); empty without facts."""
    from kpi_pipeline.warehouse import WAREHOUSE_ERRORS, connect, is_postgres_url

    if not is_postgres_url(str(warehouse)) and not Path(warehouse).is_file():
        return {}
    try:
        with connect(warehouse, read_only=True) as con:
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
                    and last_year.kpi_date = cast(latest.kpi_date - interval '1 year' as date)
                """
            ).fetchall()
    except WAREHOUSE_ERRORS:
        return {}
    return {kpi_id: (day, value, last_year) for kpi_id, day, value, last_year in rows}


def catalogue_table(kpis: dict, facts: dict) -> Table:
    """One row per KPI: family, unit, target, cadence, owner; with facts, the value of the
    KPI's latest day and its status against the target."""
    from kpi_pipeline.kpis.status import kpi_status, relative_target

    latest = max((day for day, _, _ in facts.values()), default=None)
    title = "KPI catalogue" + (f" (values of {latest})" if latest else "")
    table = Table(title=title)
    # ids are what users type: never shortened; the other cells may wrap
    table.add_column("KPI", no_wrap=True, min_width=max((len(k) for k in kpis), default=3))
    for column in ("family", "unit", "target", "cadence", "owner"):
        table.add_column(column, overflow="fold")
    if facts:
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("status", no_wrap=True, min_width=9)
    for kpi in kpis.values():
        cells = [
            kpi.id,
            kpi.family,
            kpi.unit,
            kpi.target.describe(),
            kpi.review_cadence,
            kpi.owner,
        ]
        if facts:
            _, value, last_year = facts.get(kpi.id, (None, None, None))
            status = kpi_status(value, kpi, relative_target(last_year, kpi))
            cells += [
                "-" if value is None else f"{value:,.4g}",
                styled_status(status),
            ]
        table.add_row(*cells)
    return table


def list_kpis(
    path: Path = typer.Option(None, "--path", help="Catalogue file (default: KPI_CATALOGUE)."),
) -> None:
    """Show the KPI catalogue: family, unit, target, review cadence, owner; with each KPI's
    latest value and status when the warehouse holds KPI facts (formulas: docs/kpis.md).

    Example: kpi list
    """
    _, kpis = _load(_catalogue_path(path))
    console.print(catalogue_table(kpis, latest_values(Settings.from_env().warehouse_location)))
