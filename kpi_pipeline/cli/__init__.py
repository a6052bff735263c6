"""`kpi`: the command line of the KPI pipeline. This module only assembles the commands;
each lives in the module named after what it does."""

from __future__ import annotations

import sys
import warnings

import typer
from rich.markup import escape

from kpi_pipeline.cli.bench import bench
from kpi_pipeline.cli.catalogue import list_kpis, validate
from kpi_pipeline.cli.common import VERBOSE, err_console
from kpi_pipeline.cli.demo import demo
from kpi_pipeline.cli.explain import explain
from kpi_pipeline.cli.inspect import inspect
from kpi_pipeline.cli.metrics import metrics
from kpi_pipeline.cli.ops import query, status
from kpi_pipeline.cli.pace import pace
from kpi_pipeline.cli.pipeline import backfill, run
from kpi_pipeline.cli.pull import pull
from kpi_pipeline.cli.quarantine import quarantine
from kpi_pipeline.cli.runs import runs
from kpi_pipeline.cli.sample import sample
from kpi_pipeline.cli.show import show
from kpi_pipeline.cli.snapshots import snapshots
from kpi_pipeline.cli.spark_server import spark
from kpi_pipeline.exit_codes import ExitCode

app = typer.Typer(
    help="KPI pipeline: landing-zone extracts -> dbt KPI facts -> quality gate -> daily snapshots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for command in (demo, sample, pull, run, backfill, status, show, explain, pace, query):
    app.command()(command)
app.command()(quarantine)
app.command()(inspect)
app.command()(validate)
app.command(name="list")(list_kpis)
# everything after `kpi metrics` is MetricFlow's (`mf`) own command line
app.command(
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
    },
    options_metavar="MF_COMMAND [MF_ARGS]...",
)(metrics)
app.add_typer(snapshots, name="snapshots")
app.add_typer(runs, name="runs")
app.add_typer(spark, name="spark")
app.command()(bench)


@app.callback()
def options(
    verbose: bool = typer.Option(
        False, "--verbose", help="Show tracebacks and Dagster's own log of a run."
    ),
) -> None:
    """KPI pipeline: landing-zone extracts -> dbt KPI facts -> quality gate -> snapshots."""
    VERBOSE["on"] = verbose


# pyspark 4.3 (the optional spark extra, imported by GX too when installed) warns on import
# that it does not fully support pandas 3; the pipeline's Spark paths are tested with it
# (docs/warehouses.md#spark), and the warning would be the first line of every command's output
PYSPARK_PANDAS_WARNING = "PySpark does not yet fully support pandas"


def main() -> None:
    warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_WARNING, category=FutureWarning)
    try:
        app()
    except Exception as err:  # one readable line, not a traceback (unless --verbose)
        if VERBOSE["on"]:
            err_console.print_exception()
        err_console.print(f"[bold red]error:[/] {escape(str(err))}")
        sys.exit(ExitCode.ERROR)
