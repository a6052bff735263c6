"""`kpi validate` and `kpi list`: check the KPI catalogue, show it with the latest status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from kpi_pipeline.cli.common import console, fail, read_settings, say_waiting, styled_status


def _catalogue_path(path: Path | None) -> Path:
    return path if path is not None else read_settings().kpi_catalogue_path


def _load(path: Path):
    from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue_with_metrics

    try:
        return load_catalogue_with_metrics(path)
    except CatalogueError as err:
        raise fail(str(err), "fix the field named above; docs/kpis.md lists every field") from err


def refuse_an_invalid_catalogue(path: Path) -> None:
    """What `kpi validate` refuses, refused before a run starts (exit 2, the line named)."""
    from kpi_pipeline.kpis.catalogue import CatalogueError
    from kpi_pipeline.kpis.model_columns import refuse_unknown_columns

    try:
        refuse_unknown_columns(path)
    except CatalogueError as err:
        raise fail(str(err), "fix the field named above; docs/kpis.md lists every field") from err


def validate(
    path: Path = typer.Option(None, "--path", help="Catalogue file (default: KPI_CATALOGUE)."),
    write_seed: bool = typer.Option(
        False,
        "--write-seed",
        help="Also write what follows from the catalogue (dbt's seeds and catalogue macro, "
        "the MetricFlow metrics, the facts' GX suite); the pipeline does it itself when it "
        "loads.",
    ),
) -> None:
    """Check the KPI catalogue: every KPI SMART, every formula made of defined metrics,
    every metric on a declared semantic model, every breakdown declared by its model,
    every dbt model and column it names declared by the dbt project.

    Example: kpi validate --path kpis.yml --write-seed
    """
    from kpi_pipeline.kpis.catalogue import CatalogueError, load_full_catalogue
    from kpi_pipeline.kpis.derive import stale, sync
    from kpi_pipeline.kpis.model_columns import refuse_unknown_columns

    catalogue_path = _catalogue_path(path)
    try:
        catalogue = load_full_catalogue(catalogue_path)
        refuse_unknown_columns(catalogue_path, catalogue)
        if write_seed:
            for written in sync(catalogue_path):
                console.print(f"wrote {written}")
        elif behind := stale(catalogue_path):
            raise fail(
                f"{', '.join(str(p) for p in behind)} do(es) not match {catalogue_path}",
                "run `kpi validate --write-seed` (or any `kpi run`) so they follow the catalogue",
                code=1,
            )
    except CatalogueError as err:
        raise fail(str(err), "fix the field named above; docs/kpis.md lists every field") from err
    console.print(
        f"{catalogue_path}: {len(catalogue.kpis)} KPIs, {len(catalogue.metrics)} metrics on "
        f"{len(catalogue.models)} semantic models, all valid"
    )


def latest_values(
    warehouse: Path | str, on_wait: Callable[[str], None] | None = None
) -> dict[str, tuple[dt.date, float | None, str]]:
    """Per KPI: its latest day in the facts, the overall value and its status that day
    (from fct_kpi_attainment, where the status rule lives); empty without facts. On Spark
    through the readers' read-only connection (`readonly_query.read_only_connection`,
    telling `on_wait` while a run writes), none when its warehouse is not built, Spark
    cannot be used or the wait runs out."""
    from kpi_pipeline.warehouse import WAREHOUSE_ERRORS, connect, is_postgres_url
    from kpi_pipeline.warehouse.spark import is_spark_location

    if is_spark_location(str(warehouse)):
        return _latest_values_on_spark(str(warehouse), on_wait)
    if not is_postgres_url(str(warehouse)) and not Path(warehouse).is_file():
        return {}
    try:
        with connect(warehouse, read_only=True) as con:
            rows = con.execute(LATEST_VALUES).fetchall()
    except WAREHOUSE_ERRORS:
        return {}
    return {kpi_id: (day, value, status) for kpi_id, day, value, status in rows}


LATEST_VALUES = """
    with latest as (
        select kpi_id, max(period_start) as kpi_date
        from marts.fct_kpi_attainment where period_grain = 'day' group by kpi_id
    )
    select latest.kpi_id, latest.kpi_date, day.value, day.status
    from latest
    join marts.fct_kpi_attainment as day
        on day.kpi_id = latest.kpi_id and day.period_start = latest.kpi_date
        and day.period_grain = 'day'
"""


def _latest_values_on_spark(
    location: str, on_wait: Callable[[str], None] | None
) -> dict[str, tuple[dt.date, float | None, str]]:
    from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    try:
        with read_only_connection(location, on_wait=on_wait) as con:
            rows = con.execute(LATEST_VALUES).fetchall()
    except (QueryError, WarehouseBusyError):
        return {}
    return {kpi_id: (day, value, status) for kpi_id, day, value, status in rows}


# columns left out, in this order, when the terminal is too narrow for every one whole
OPTIONAL_COLUMNS = ("cadence", "unit", "owner")


def _longest_word(values: list[str]) -> int:
    return max((len(word) for value in values for word in value.split()), default=1)


def _table(title: str, cells: dict[str, list[str]], shown: list[str]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAVY)  # no side borders: more room for words
    for column in shown:
        table.add_column(
            column,
            min_width=_column_width(column, cells[column]),
            justify="right" if column == "value" else "left",
            # a column of single words is never squeezed (Rich would cut its words)
            no_wrap=not any(" " in value for value in cells[column]),
        )
    rows = len(next(iter(cells.values())))
    for i in range(rows):
        row = [cells[c][i] for c in shown]
        if "status" in shown:
            row[shown.index("status")] = styled_status(cells["status"][i])
        table.add_row(*row)
    return table


def _column_width(column: str, values: list[str]) -> int:
    return max(_longest_word(values), len(column))


def _words_whole(table: Table, cells: dict[str, list[str]], shown: list[str], width: int) -> bool:
    """Rendered in `width` characters, every word of every shown cell reads whole."""
    import io

    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table)
    text = set(out.getvalue().split())  # a word Rich cut or cropped is not found whole
    return all(word in text for c in shown for value in cells[c] for word in value.split())


def fitting_table(title: str, cells: dict[str, list[str]], width: int) -> Table:
    """The table in `width` characters with no word broken across lines: the optional
    columns (`OPTIONAL_COLUMNS`) are left out, in that order, until every word of the
    kept columns reads whole."""
    shown = list(cells)
    table = _table(title, cells, shown)
    for column in OPTIONAL_COLUMNS:
        if _words_whole(table, cells, shown, width):
            break
        shown.remove(column)
        table = _table(title, cells, shown)
    return table


def catalogue_table(kpis: dict, facts: dict, width: int = 200) -> Table:
    """One row per KPI: family, unit, target, cadence, owner; with facts, the value of the
    KPI's latest day and its status against the target. Columns that would not fit
    `width` whole are left out (cadence, then unit, then owner); words are never broken."""
    latest = max((day for day, _, _ in facts.values()), default=None)
    title = "KPI catalogue" + (f" (values of {latest})" if latest else "")
    cells: dict[str, list[str]] = {
        "KPI": [k.id for k in kpis.values()],
        "family": [k.family.replace("_", " ") for k in kpis.values()],
        "unit": [k.unit for k in kpis.values()],
        "target": [k.target.describe() for k in kpis.values()],
        "cadence": [k.review_cadence for k in kpis.values()],
        "owner": [k.owner for k in kpis.values()],
    }
    if facts:
        values, statuses = [], []
        for kpi in kpis.values():
            _, value, status = facts.get(kpi.id, (None, None, None))
            values.append("-" if value is None else f"{value:,.4g}")
            statuses.append(status or "")
        cells |= {"value": values, "status": statuses}
    return fitting_table(title, cells, width)


def list_kpis(
    path: Path = typer.Option(None, "--path", help="Catalogue file (default: KPI_CATALOGUE)."),
) -> None:
    """Show the KPI catalogue: family, unit, target, review cadence, owner; with each KPI's
    latest value and status when the warehouse holds KPI facts (formulas: docs/kpis.md).

    Example: kpi list
    """
    from kpi_pipeline.kpis.availability import availability

    metrics, kpis = _load(_catalogue_path(path))
    settings = read_settings()
    facts = latest_values(settings.warehouse_location, on_wait=say_waiting)
    console.print(catalogue_table(kpis, facts, console.width))
    computed = availability(kpis, metrics, settings.deployment)
    for kpi_id in computed.missing:
        console.print(f"[dim]not computed:[/] {kpi_id}: {computed.reason(kpi_id)}")
    if computed.missing:
        console.print(f"[dim]sources of this deployment: {settings.deployment.origin}[/]")
