"""`kpi spark status` and `kpi spark stop`: the deployment's local Spark server
(`KPI_WAREHOUSE=spark`). The first command that connects starts it and it keeps running,
like a database server, so the next command does not wait for a JVM; these two say whether
it runs and stop it (e.g. before a machine is shut down, or to free its memory)."""

from __future__ import annotations

import typer

from kpi_pipeline.cli.common import console, fail, load_settings

spark = typer.Typer(help="The deployment's local Spark server (KPI_WAREHOUSE=spark).")


def _spark_paths():
    from kpi_pipeline.warehouse.spark import SparkPaths, is_spark_location, spark_dir_of

    settings = load_settings()
    if not is_spark_location(settings.warehouse_location):
        raise fail(
            "this deployment's warehouse is not Spark (KPI_WAREHOUSE is not spark)",
            "set KPI_WAREHOUSE=spark for a deployment on a local Spark",
        )
    return SparkPaths(spark_dir_of(settings.warehouse_location)), settings.spark_port


@spark.command()
def status() -> None:
    """Whether the deployment's Spark server runs: its process, port and log. Changes
    nothing.

    Examples:
      KPI_WAREHOUSE=spark kpi spark status
    """
    from kpi_pipeline.warehouse.spark import port_open, recorded_pid

    paths, port = _spark_paths()
    pid = recorded_pid(paths)
    if pid is None:
        console.print(f"no Spark server runs for {paths.root} (the next command starts one)")
        return
    listening = "listening" if port_open(port) else "not listening"
    console.print(f"the Spark server runs: process {pid}, port {port} ({listening})")
    console.print(f"its log: {paths.server_log}")


@spark.command()
def stop() -> None:
    """Stop the deployment's Spark server (the next command that needs it starts it again,
    about 10 s). Run it when no run is in progress: a run's statements would fail.

    Examples:
      KPI_WAREHOUSE=spark kpi spark stop
    """
    from kpi_pipeline.warehouse.spark import recorded_pid, stop_recorded_server

    paths, _ = _spark_paths()
    pid = recorded_pid(paths)
    if not stop_recorded_server(paths):
        console.print(f"no Spark server runs for {paths.root}: nothing to stop")
        return
    console.print(f"stopped the Spark server (process {pid})")
