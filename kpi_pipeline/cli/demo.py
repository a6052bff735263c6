"""`kpi demo`: sample extracts for the last 90 days, a backfill, dbt's docs, and yesterday's
KPIs."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from kpi_pipeline.cli.common import (
    BUSY_HINT,
    console,
    fail,
    load_settings,
    say_waiting,
    styled_status,
)
from kpi_pipeline.cli.pipeline import run_range

DEMO_DAYS = 90
DEMO_SCALE = float(os.environ.get("KPI_DEMO_SCALE", "0.5"))


def kpi_table(
    snapshot: pl.DataFrame, names: dict[str, str], provisional: frozenset[str] = frozenset()
) -> Table:
    """The overall row of each KPI: value, target and a coloured status; a KPI whose data
    matures late (`provisional`: its day is not complete yet) is marked, never given a
    status as if final."""
    table = Table(title=f"KPIs of {snapshot['date'][0]}")
    for column in ("KPI", "family", "value", "target", "status"):
        table.add_column(column, justify="right" if column in {"value", "target"} else "left")
    for row in snapshot.filter(pl.col("dimension") == "all").iter_rows(named=True):
        value = "-" if row["value"] is None else f"{row['value']:,.4g}"
        table.add_row(
            names.get(row["kpi_id"], row["kpi_id"]),
            row["family"],
            value,
            "-" if row["target"] is None else f"{row['target']:,.4g}",
            "provisional" if row["kpi_id"] in provisional else styled_status(row["status"]),
        )
    if provisional & set(snapshot["kpi_id"].to_list()):
        table.caption = (
            "provisional: its data is still arriving (maturity_lag_days); the report gives "
            "its latest complete day"
        )
    return table


def write_dbt_docs(settings) -> Path:
    """dbt's docs of the warehouse just built, where `make docs` puts them
    (`<data>/dbt_docs/`), holding the writer lock as the docs job does (dbt opens the file)."""
    from kpi_pipeline.exit_codes import ExitCode
    from kpi_pipeline.orchestration.dbt_docs import DocsError, generate_dbt_docs
    from kpi_pipeline.warehouse.lock import WarehouseBusyError, hold

    try:
        with (
            hold(settings.lock_file, command="kpi demo (dbt docs)", on_wait=say_waiting),
            console.status("generating dbt docs"),
        ):
            return generate_dbt_docs(settings)
    except DocsError as err:
        raise fail(str(err), "the KPIs are published; retry the docs with make docs") from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err


def demo(
    scale: float = typer.Option(DEMO_SCALE, help="Sample volume (1 = ~5,000 sessions/day)."),
    days: int = typer.Option(DEMO_DAYS, help="How many days of history to generate."),
) -> None:
    """Generate sample extracts for the last 90 days, backfill them through Dagster, write
    dbt's docs (<data>/dbt_docs/) and show the latest complete day's KPIs."""
    from kpi_pipeline.kpis.catalogue import load_catalogue
    from kpi_pipeline.sample import generate_sample

    settings = load_settings()
    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    with console.status(f"generating sample extracts {first} .. {last} (scale {scale})"):
        generate_sample(first, last, settings.landing_dir, scale=scale)
    console.print(f"sample extracts: {settings.landing_dir}")
    code = run_range(first, last)
    if code:
        raise typer.Exit(code)
    docs = write_dbt_docs(settings)
    folder = settings.snapshot_dir / last.isoformat() / "latest"
    catalogue = load_catalogue(settings.kpi_catalogue_path)
    names = {k.id: k.name for k in catalogue.values()}
    late = frozenset(k.id for k in catalogue.values() if k.maturity_lag_days > 0)
    console.print(kpi_table(pl.read_parquet(folder / "kpis.parquet"), names, late))
    console.print(f"snapshot of {last}: {folder.resolve()}")
    console.print(f"report of {last}: {(folder / 'report.html').resolve()}")
    console.print(f"dbt docs (models, columns, tests): {(docs / 'static_index.html').resolve()}")
    console.print("explore the runs and checks: make dev  (then open http://localhost:3000)")
