"""KPI_WAREHOUSE=spark: a local Spark whose metastore, tables and log live under the data
directory; dbt's processes are handed the `spark` output and the local server's address; the
warehouse package's connection is Spark's, never a DuckDB file (no JVM in these tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings, prepare_deployment
from kpi_pipeline.warehouse import connect, wait_until_free
from kpi_pipeline.warehouse.spark import (
    CLUSTER_SHUFFLE_PARTITIONS,
    SERVER_LOG_CONFIG,
    SESSION_CONF,
    SparkPaths,
    endpoint_address,
    server_command,
    server_conf,
    spark_dir_of,
)
from kpi_pipeline.warehouse.spark_thrift import session_configuration


def spark_settings(tmp_path: Path, **more: str) -> Settings:
    return Settings.from_env(
        {"KPI_DATA_DIR": str(tmp_path / "data"), "KPI_WAREHOUSE": "spark", **more}
    )


def test_spark_selects_a_local_spark_under_the_data_directory(tmp_path) -> None:
    settings = spark_settings(tmp_path)
    data = (tmp_path / "data").absolute()
    assert settings.warehouse_backend == "spark"
    assert settings.warehouse_location == f"spark:{data / 'spark'}"
    assert spark_dir_of(settings.warehouse_location) == data / "spark"
    paths = settings.spark_paths
    assert paths.warehouse_dir == data / "spark" / "warehouse"
    assert paths.metastore_dir == data / "spark" / "metastore_db"
    # dbt's target and the pipeline's other local files stay in the data folder
    assert settings.dbt_target_dir == data / "dbt_target"
    assert settings.spark_port == 15002


def test_the_server_keeps_everything_under_its_folder_never_the_working_directory(
    tmp_path,
) -> None:
    paths = SparkPaths(tmp_path / "spark")
    conf = server_conf(paths, 15123)
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "spark" / "warehouse")
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        f"jdbc:derby:;databaseName={tmp_path / 'spark' / 'metastore_db'};create=true"
    )
    # derby.log and the JVM's temporary files (Hive's per-session folders, Spark Connect's
    # artifacts) in the deployment's folder, not the system's /tmp; the log at warnings
    assert conf["spark.driver.extraJavaOptions"] == (
        f"-Dderby.system.home={tmp_path / 'spark'} -Djava.io.tmpdir={tmp_path / 'spark' / 'tmp'}"
        f" -Dlog4j.configurationFile={SERVER_LOG_CONFIG}"
    )
    assert '<Root level="${env:KPI_SPARK_LOG_LEVEL:-warn}">' in SERVER_LOG_CONFIG.read_text()
    assert conf["spark.master"] == "local[*]"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    # an `insert overwrite` of one day replaces that day's partition, not the whole table
    assert conf["spark.sql.sources.partitionOverwriteMode"] == "dynamic"
    # as dbt-spark sets it on its own sessions
    assert conf["spark.sql.ansi.enabled"] == "false"
    # under adaptive execution Spark 4.3 now and then fails a stage's every task
    # (docs/warehouses.md#known-problems)
    assert conf["spark.sql.adaptive.enabled"] == "false"
    # one task per core a shuffle, hash joins where Spark deems a side small
    # (docs/warehouses.md#server-settings-measured)
    assert conf["spark.sql.shuffle.partitions"] == str(len(os.sched_getaffinity(0)))
    assert conf["spark.sql.join.preferSortMergeJoin"] == "false"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    command = server_command(Path("/opt/pyspark"), conf)
    assert command[:3] == [
        "/opt/pyspark/bin/spark-submit",
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
    ]
    assert "spark.connect.grpc.binding.port=15123" in command


def test_dbt_is_handed_the_spark_target_and_the_environment_is_left_alone(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KPI_WAREHOUSE", "spark")
    monkeypatch.setenv("KPI_SPARK_PORT", "15123")
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    before = dict(os.environ)

    settings = Settings.from_env()
    prepare_deployment(settings)
    env = settings.dbt_env()

    assert dict(os.environ) == before
    assert env["KPI_DBT_TARGET"] == "spark"
    assert env["SPARK_REMOTE"] == "sc://127.0.0.1:15123"
    assert env["DO_NOT_TRACK"] == "1"
    assert "PGPASSWORD" not in env
    # nothing of Spark's is created before a server starts
    assert not (tmp_path / "data" / "spark").exists()


@pytest.mark.parametrize("port", ["80", "http", "70000", ""])
def test_a_port_that_is_not_one_is_refused(tmp_path, port) -> None:
    with pytest.raises(ValueError, match=r"KPI_SPARK_PORT=.* is not a port"):
        spark_settings(tmp_path, KPI_SPARK_PORT=port)


def test_the_profile_has_a_spark_output_in_session_mode() -> None:
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    spark = profile["kpi_pipeline"]["outputs"]["spark"]
    assert (spark["type"], spark["method"]) == ("spark", "session")
    assert "env_var('KPI_DBT_TARGET'" in profile["kpi_pipeline"]["target"]  # dbt_env's choice


def test_a_spark_location_is_never_a_duckdb_file(tmp_path, monkeypatch) -> None:
    """connect on Spark goes to the deployment's server; with the port held by a stranger it
    is refused in words, and no DuckDB file named after the location appears."""
    import socket

    from kpi_pipeline.warehouse.spark import SparkUnavailableError

    monkeypatch.chdir(tmp_path)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        location = spark_settings(tmp_path, KPI_SPARK_PORT=port).warehouse_location
        monkeypatch.setenv("KPI_SPARK_PORT", port)
        wait_until_free(location)  # nothing to wait for: no DuckDB file is opened
        refused = pytest.raises(SparkUnavailableError, match="not this deployment's Spark")
        with refused, connect(location):
            pass
    assert list(tmp_path.iterdir()) == []  # no DuckDB file named after the location


def test_the_settings_and_the_warehouse_package_do_not_need_pyspark(tmp_path: Path) -> None:
    """`make demo` (DuckDB) does not install the spark extra: nothing it imports may. (Its
    data folder in `tmp_path`: building the definitions creates it.)"""
    import subprocess
    import sys

    code = (
        "import sys, kpi_pipeline.settings, kpi_pipeline.warehouse, kpi_pipeline.definitions; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "KPI_DATA_DIR": str(tmp_path / "data")},
    ).stdout
    assert shown.strip() == "[]"


def test_kpi_spark_status_and_stop_without_a_server(cli_env, monkeypatch) -> None:
    """Without a running server both say so and change nothing (no server is started);
    on a deployment that is not on Spark they refuse in words, exit code 2."""
    from typer.testing import CliRunner

    from kpi_pipeline.cli import app

    runner = CliRunner()
    monkeypatch.setenv("KPI_WAREHOUSE", "spark")
    for command in ("status", "stop"):
        done = runner.invoke(app, ["spark", command])
        assert done.exit_code == 0, done.output
        assert "no Spark server runs for" in done.output
    assert not (cli_env / "spark").exists()
    monkeypatch.delenv("KPI_WAREHOUSE")
    refused = runner.invoke(app, ["spark", "stop"])
    assert refused.exit_code == 2
    assert "this deployment's warehouse is not Spark" in refused.output


# --- a Spark cluster: spark://MASTER, sc://ENDPOINT --------------------------------------


def test_a_standalone_master_runs_the_deployments_own_server_on_the_cluster(tmp_path) -> None:
    """spark://HOST:PORT: the deployment still starts its own server (the driver, on
    KPI_SPARK_PORT), with the cluster as its master; the tables' files in
    KPI_SPARK_WAREHOUSE_DIR (default: under the data folder, as for local Spark)."""
    master = "spark://spark-master.internal:7077"
    settings = spark_settings(tmp_path, KPI_WAREHOUSE=master, KPI_SPARK_PORT="15123")
    data = (tmp_path / "data").absolute()
    endpoint = settings.spark_endpoint
    assert settings.warehouse_backend == "spark"
    assert settings.warehouse_location == f"spark:{data / 'spark'}"
    assert (endpoint.owned, endpoint.master, endpoint.port) == (True, master, 15123)
    assert endpoint.tables == str(data / "spark" / "warehouse")
    assert settings.dbt_env()["SPARK_REMOTE"] == "sc://127.0.0.1:15123"
    shared = spark_settings(
        tmp_path, KPI_WAREHOUSE=master, KPI_SPARK_WAREHOUSE_DIR="s3a://kpi-bucket/tables"
    )
    assert shared.spark_endpoint.tables == "s3a://kpi-bucket/tables"
    paths = SparkPaths(data / "spark")
    conf = server_conf(paths, 15123, master=master, tables="s3a://kpi-bucket/tables")
    assert conf["spark.master"] == master
    assert conf["spark.sql.warehouse.dir"] == "s3a://kpi-bucket/tables"
    # the executors' cores are not known to the driver's machine
    assert conf["spark.sql.shuffle.partitions"] == str(CLUSTER_SHUFFLE_PARTITIONS)
    # the metastore stays the driver's, under the data folder
    assert str(paths.metastore_dir) in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]


def test_a_connect_endpoint_is_used_never_owned_and_its_token_goes_to_dbt_only(tmp_path) -> None:
    url = "sc://spark.example:443/;use_ssl=true;token=s3cret;x-databricks-cluster-id=0123"
    settings = spark_settings(tmp_path, KPI_WAREHOUSE=url)
    endpoint = settings.spark_endpoint
    assert not endpoint.owned and endpoint.port == 0
    assert endpoint.shown == "sc://spark.example:443"
    assert endpoint_address(url) == ("spark.example", 443)
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.warehouse_location
    env = settings.dbt_env()
    assert env["SPARK_REMOTE"] == url  # dbt's process connects with it
    assert "s3cret" not in env["KPI_WAREHOUSE"]
    assert spark_settings(tmp_path, KPI_WAREHOUSE="sc://h").spark_endpoint.shown == "sc://h:15002"


def test_a_tables_folder_for_an_endpoint_not_owned_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="whose server decides where tables live"):
        spark_settings(
            tmp_path, KPI_WAREHOUSE="sc://h:15002", KPI_SPARK_WAREHOUSE_DIR="/mnt/shared"
        )


def test_dbts_session_gets_the_pipelines_session_settings() -> None:
    """An endpoint the deployment does not own gets them on every session: the pipeline's
    (`spark.SESSION_CONF`) and dbt's (the profile's server_side_parameters) alike, and they
    are the deployment's own server's defaults."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    spark = profile["kpi_pipeline"]["outputs"]["spark"]
    assert spark["server_side_parameters"] == SESSION_CONF
    # a Thrift Server applies a session setting named `set:hiveconf:<key>` only
    thrift = profile["kpi_pipeline"]["outputs"]["spark_thrift"]
    assert thrift["method"] == "thrift"
    assert thrift["server_side_parameters"] == session_configuration(SESSION_CONF)
    assert set(thrift["server_side_parameters"]) == {f"set:hiveconf:{key}" for key in SESSION_CONF}
    conf = server_conf(SparkPaths(Path("/d/spark")), 15002)
    assert SESSION_CONF.items() <= conf.items()


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("sc://127.0.0.1:1/;token=s3cret", "the Spark Connect endpoint sc://127.0.0.1:1"),
        ("thrift://127.0.0.1:1", "the Spark Thrift Server thrift://127.0.0.1:1"),
    ],
)
def test_kpi_spark_stop_refuses_an_endpoint_it_does_not_own(
    cli_env, monkeypatch, value, named
) -> None:
    """Even with a record of a server of the deployment's own in its folder (the deployment
    used spark:// before), stop refuses an sc:// endpoint in words and touches nothing;
    status names the endpoint, never its token (nothing listens: it does not answer)."""
    from typer.testing import CliRunner

    from kpi_pipeline.cli import app

    record = cli_env / "spark" / "server.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"pid": 1, "port": 15002}')  # pid 1: never to be signalled
    monkeypatch.setenv("KPI_WAREHOUSE", value)
    runner = CliRunner()
    refused = runner.invoke(app, ["spark", "stop"])
    assert refused.exit_code == 2
    said = " ".join(refused.output.split())
    assert f"{named} (KPI_WAREHOUSE) is not this" in said
    assert record.read_text() == '{"pid": 1, "port": 15002}'
    status = runner.invoke(app, ["spark", "status"])
    assert status.exit_code == 0
    shown = " ".join(status.output.split())
    assert f"uses {named} (KPI_WAREHOUSE)" in shown and "does not answer" in shown
    assert "s3cret" not in refused.output + status.output
