"""A throwaway Spark standalone cluster for tests: one master and one worker, from the pyspark
wheel's own jars (`bin/spark-class`), on loopback ports, small (one core, 1 GB for
executors), and a Spark Connect server started on it as a stranger would (not recorded by any
deployment). Every JVM started here runs in a process group of its own and is stopped on
exit, also when the test fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from kpi_pipeline.warehouse.java_runtime import java_env
from kpi_pipeline.warehouse.spark import port_open, spark_home
from tests.ports import free_port

# the daemons' own heap (Spark's default is 1 GB each)
DAEMON_MEMORY = "256m"


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    webui_port: int
    worker_dir: Path  # the worker's work folder: <app id>/<executor id>/stderr

    def state(self) -> dict:
        """The master's JSON view: its workers, active and completed applications."""
        address = f"http://127.0.0.1:{self.webui_port}/json/"
        with urllib.request.urlopen(address, timeout=10) as answer:
            return json.load(answer)


def _env(root: Path) -> dict[str, str]:
    """The JVMs' environment; their Java as the deployment's server's (java_runtime)."""
    return {
        **java_env(os.environ, root / "java"),
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_PID_DIR": str(root),
    }


@contextmanager
def jvm(command: list[str], log: Path, env: Mapping[str, str]) -> Iterator[subprocess.Popen]:
    """A JVM (`spark-class` / `spark-submit`) in a process group of its own, stopped on exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(ready, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    """Poll `ready()` until it holds; fail with the log's end if the process ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{process.args[1:3]} did not become ready; its log ends:\n{tail}")
        time.sleep(0.2)


@contextmanager
def standalone_cluster(
    root: Path, cores: int = 1, memory: str = "1g"
) -> Iterator[StandaloneCluster]:
    """A master and one worker (`cores`, `memory` for executors) under `root`."""
    spark_class = str(spark_home() / "bin" / "spark-class")
    env = _env(root)
    port, webui, worker_port, worker_webui = (free_port() for _ in range(4))
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", webui, root / "work")
    master_command = [spark_class, "org.apache.spark.deploy.master.Master"]
    master_command += ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(webui)]
    worker_command = [spark_class, "org.apache.spark.deploy.worker.Worker", cluster.master_url]
    worker_command += ["--host", "127.0.0.1", "--port", str(worker_port)]
    worker_command += ["--webui-port", str(worker_webui), "--cores", str(cores)]
    worker_command += ["--memory", memory, "--work-dir", str(cluster.worker_dir)]
    with ExitStack() as stack:
        master_log = root / "master.log"
        master = stack.enter_context(jvm(master_command, master_log, env))
        wait_for(lambda: port_open(port) and port_open(webui), master, master_log)
        worker_log = root / "worker.log"
        worker = stack.enter_context(jvm(worker_command, worker_log, env))
        wait_for(lambda: _alive_workers(cluster) == 1, worker, worker_log)
        yield cluster


def _alive_workers(cluster: StandaloneCluster) -> int:
    try:
        return int(cluster.state().get("aliveworkers", 0))
    except OSError:
        return 0


@contextmanager
def stranger_connect_server(
    cluster: StandaloneCluster,
    port: int,
    metastore: Path,
    tables: Path,
    token: str,
    log: Path,
    conf: Mapping[str, str],
) -> Iterator[subprocess.Popen]:
    """A Spark Connect server on the cluster, as a cluster's owner would run one: its own
    command line and log, the Hive metastore `metastore` and tables' folder `tables`,
    clients authenticated by `token` (Spark's `SPARK_CONNECT_AUTHENTICATE_TOKEN`, so it is on
    no command line), recorded by no deployment. `conf`: more of its settings."""
    home = spark_home()
    settings = {
        "spark.master": cluster.master_url,
        "spark.app.name": "stranger-connect",
        "spark.driver.memory": "1g",
        "spark.ui.enabled": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(tables),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore};create=false"
        ),
        # its temporary files (Hive's folder per session) beside its log, not in /tmp
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={log.parent} -Djava.io.tmpdir={log.parent / 'tmp'}"
        ),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        **conf,
    }
    (log.parent / "tmp").mkdir(parents=True, exist_ok=True)
    command = [str(home / "bin" / "spark-submit"), "--class"]
    command += ["org.apache.spark.sql.connect.service.SparkConnectServer"]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    # spark-submit gives a Connect server SPARK_DAEMON_MEMORY, when set, over its driver memory
    env = {**_env(log.parent), "SPARK_CONNECT_AUTHENTICATE_TOKEN": token}
    env.pop("SPARK_DAEMON_MEMORY")
    with jvm(command, log, env) as process:
        wait_for(lambda: port_open(port), process, log)
        yield process


def replace_a_day_partition(con) -> list[tuple]:
    """On the pipeline's own Spark connection `con` (as ingest writes): a table partitioned
    by day `d` holding days `a` and `b`, then day `a` replaced the way a load replaces it
    (`replace_partition` + `append_frame`, written at `commit`); the table's rows after."""
    import polars as pl

    con.execute("create table default.kpi_probe (n int, d string) using parquet partitioned by (d)")
    con.execute("insert into default.kpi_probe values (1, 'a'), (2, 'b')")
    con.execute("begin transaction")
    con.replace_partition("default.kpi_probe", {"d": "a"})
    con.append_frame(
        "default.kpi_probe",
        pl.DataFrame({"n": [3], "d": ["a"]}, schema={"n": pl.Int32, "d": pl.String}),
    )
    con.execute("commit")
    return sorted(con.execute("select n, d from default.kpi_probe").fetchall())
