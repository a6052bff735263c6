"""`kpi spark status` and `kpi spark stop`: the deployment's Spark server (`KPI_WAREHOUSE=spark`,
or `spark://HOST:PORT`: the same server running its work on a standalone cluster). The first
command that connects starts it and it keeps running, like a database server, so the next
command does not wait for a JVM; these two say whether it runs and stop it (e.g. before a
machine is shut down, or to free its memory). On an `sc://` endpoint or a `thrift://` Spark
Thrift Server the deployment does not own, `status` says whether it answers and `stop`
refuses: it is stopped where it runs."""

from __future__ import annotations

import typer

from kpi_pipeline.cli.common import console, fail, load_settings

spark = typer.Typer(
    help="The deployment's Spark server (KPI_WAREHOUSE=spark, spark://, sc://, thrift://)."
)


def _spark_settings():
    from kpi_pipeline.warehouse.spark import SparkPaths, is_spark_location, spark_dir_of

    settings = load_settings()
    if not is_spark_location(settings.warehouse_location):
        raise fail(
            "this deployment's warehouse is not Spark (KPI_WAREHOUSE is not spark)",
            "set KPI_WAREHOUSE=spark for a deployment on a local Spark",
        )
    return SparkPaths(spark_dir_of(settings.warehouse_location)), settings.spark_endpoint


@spark.command()
def status() -> None:
    """Whether the deployment's Spark server runs: its process, port, cluster and log; on
    an sc:// endpoint or thrift:// server the deployment does not own, whether it answers.
    Changes nothing.

    Examples:
      KPI_WAREHOUSE=spark kpi spark status
    """
    from kpi_pipeline.warehouse.spark import (
        LOCAL_MASTER,
        endpoint_address,
        port_open,
        reachable,
        recorded_pid,
    )
    from kpi_pipeline.warehouse.spark_thrift import thrift_address

    paths, endpoint = _spark_settings()
    if not endpoint.owned:
        address = (thrift_address if endpoint.thrift else endpoint_address)(endpoint.remote)
        answers = "answers" if reachable(*address) else "does not answer"
        console.print(
            f"this deployment uses the {endpoint.kind} {endpoint.shown} "
            f"(KPI_WAREHOUSE), which it does not start or stop: it {answers}"
        )
        return
    pid = recorded_pid(paths)
    if pid is None:
        console.print(f"no Spark server runs for {paths.root} (the next command starts one)")
        return
    listening = "listening" if port_open(endpoint.port) else "not listening"
    console.print(f"the Spark server runs: process {pid}, port {endpoint.port} ({listening})")
    if endpoint.master != LOCAL_MASTER:
        console.print(f"its work runs on the cluster {endpoint.master}")
    console.print(f"its log: {paths.server_log}")


@spark.command()
def stop() -> None:
    """Stop the deployment's Spark server (the next command that needs it starts it again,
    about 10 s). Run it when no run is in progress: a run's statements would fail. Refused
    on an sc:// endpoint or a thrift:// server: the deployment does not own it.

    Examples:
      KPI_WAREHOUSE=spark kpi spark stop
    """
    from kpi_pipeline.warehouse.spark import recorded_pid, stop_recorded_server

    paths, endpoint = _spark_settings()
    if not endpoint.owned:
        raise fail(
            f"the {endpoint.kind} {endpoint.shown} (KPI_WAREHOUSE) is not this "
            "deployment's server: it does not start or stop it",
            "stop it where it runs (its cluster's or service's own tools); kpi spark stop "
            "stops the server of KPI_WAREHOUSE=spark or spark://HOST:PORT",
        )
    pid = recorded_pid(paths)
    if not stop_recorded_server(paths):
        console.print(f"no Spark server runs for {paths.root}: nothing to stop")
        return
    console.print(f"stopped the Spark server (process {pid})")
