"""`kpi metrics`: MetricFlow's `mf` on this deployment's warehouse, from any directory."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import typer

from kpi_pipeline.cli.common import BUSY_HINT, fail, load_settings, say_waiting

MF_EXECUTABLE = str(Path(sys.executable).parent / "mf")


def mf_env(settings) -> dict[str, str]:
    """`mf`'s environment: the dbt project and its profiles (mf would look in the current
    directory) and the deployment's warehouse (`Settings.dbt_env`)."""
    from kpi_pipeline.settings import DBT_PROJECT_DIR

    return {
        **os.environ,
        **settings.dbt_env(),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }


def metrics(ctx: typer.Context) -> None:
    """MetricFlow (`mf`) on the configured warehouse (KPI_WAREHOUSE): the arguments are
    mf's. The semantic manifest is brought up to date with kpis.yml first; on DuckDB, mf
    waits for a run writing the warehouse (it opens the file as dbt does).

    Examples:
      kpi metrics list metrics
      kpi metrics query --metrics user_conversion_rate --group-by metric_time__month
      kpi metrics query --metrics session_conversion_rate_by_channel \\
        --group-by metric_time__week,kpi_fact__dimension_value --csv weeks.csv
    """
    from kpi_pipeline.exit_codes import ExitCode
    from kpi_pipeline.kpis.catalogue import CatalogueError
    from kpi_pipeline.kpis.derive import sync
    from kpi_pipeline.transform.manifest import ensure_manifest
    from kpi_pipeline.transform.project import DBT_EXECUTABLE, dbt_project
    from kpi_pipeline.warehouse.lock import WarehouseBusyError, hold

    if not ctx.args:
        raise fail("no mf command given", "e.g. kpi metrics query --metrics net_revenue ...")
    settings = load_settings()
    try:
        sync(settings.kpi_catalogue_path)
    except CatalogueError as err:
        raise fail(str(err), "fix kpis.yml (kpi validate names the line)") from err
    ensure_manifest(dbt_project, DBT_EXECUTABLE, settings.dbt_env())
    writer_lock = (
        hold(settings.lock_file, command="kpi metrics", on_wait=say_waiting)
        if settings.warehouse_backend == "duckdb"
        else contextlib.nullcontext()
    )
    try:
        with writer_lock:
            done = subprocess.run([MF_EXECUTABLE, *ctx.args], env=mf_env(settings), check=False)
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    if done.returncode:
        raise typer.Exit(ExitCode.ERROR)
