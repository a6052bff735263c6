"""A Spark cluster as the warehouse, for real, in one run: a standalone master and one worker
(the pyspark wheel's own jars, loopback ports), then

- `KPI_WAREHOUSE=spark://127.0.0.1:<port>`: `kpi run` of one sample day (the DuckDB run of
  the same landing files in-process meanwhile); the deployment's own
  Spark Connect server is the driver, its work runs on the worker's executor, the tables'
  files in `KPI_SPARK_WAREHOUSE_DIR`. The published day equals DuckDB's run of the same
  landing files (canonical CSV after the same rounding as tests/test_spark_pipeline.py) and
  the plain-Python oracle;
- `KPI_WAREHOUSE=sc://localhost:<port>/;token=...`: a Spark Connect server on the same
  cluster that the test starts as a stranger would (its own command line, recorded by no
  deployment, clients authenticated by a token) over the tables the run left. `kpi query`
  and `kpi show` read through it and print what they print on DuckDB; `kpi spark status`
  reports it, `kpi spark stop` refuses it and it keeps running; a wrong token is refused in
  words; the token is never shown.

Every JVM (master, worker, servers) is stopped at the module's end, also on failure."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import connect
from kpi_pipeline.warehouse.spark import SESSION_CONF, SparkPaths, stop_recorded_server
from tests.conftest import deploy
from tests.kpi_process import kpi_env, run_in_background, run_kpi
from tests.ports import free_port
from tests.published_csv import canonical_rows, latest
from tests.spark_cluster import replace_a_day_partition, standalone_cluster, stranger_connect_server
from tests.spark_extra import require_spark_extra
from tests.test_end_to_end import assert_matches_oracle

require_spark_extra()

DAY = dt.date(2025, 6, 2)
TOKEN = "kpi-test-token-7f3a"  # the stranger server's pre-shared token, never to be shown
APP = "kpi-pipeline"  # the deployment's server's application name (spark.server_conf)
BY_CHANNEL = "session_conversion_rate"  # a ratio with a channel breakdown
COUNT_SQL = "select count(*) as n, count(distinct kpi_id) as kpis from fct_kpi_daily"

pytestmark = pytest.mark.e2e


def readers(env: dict[str, str]) -> dict[str, object]:
    """What `kpi query` and `kpi show` print in `env`."""
    day = ["--from", str(DAY), "--to", str(DAY)]
    return {
        "query": run_kpi("query", COUNT_SQL, "--format", "csv", env=env),
        "show": run_kpi("show", BY_CHANNEL, "--by", "channel", *day, "--format", "json", env=env),
    }


def write_through(location: str, url: str) -> dict[str, object]:
    """Through the pipeline's own connection on the endpoint (as ingest writes): its session
    settings against the server's defaults, and one day partition of a partitioned table
    replaced the way a load replaces it (`replace_partition` + `append_frame`, written at
    `commit`). The stranger's server keeps Spark's default static partition overwrite,
    which would empty the other day too."""
    from pyspark.sql import SparkSession

    plain = SparkSession.builder.remote(url).create()  # a session with the server's defaults
    try:
        defaults = {key: plain.conf.get(key) for key in SESSION_CONF}
    finally:
        plain.stop()
    with connect(location) as con:
        settings = {key: con.session.conf.get(key) for key in SESSION_CONF}
        rows = replace_a_day_partition(con)
    return {"defaults": defaults, "settings": settings, "rows": rows}


def worker_logs(worker_dir: Path, app_id: str) -> list[Path]:
    """The executors' stderr logs the worker kept for application `app_id`."""
    return sorted((worker_dir / app_id).glob("*/stderr"))


def spark_deployment_env(mp: pytest.MonkeyPatch, root: Path, master: str, landing: Path) -> Path:
    """The cluster deployment's settings in this process's environment (what `kpi` gets);
    returns the tables' folder every executor reaches (`KPI_SPARK_WAREHOUSE_DIR`)."""
    shared = root / "shared" / "tables"
    for name, value in {
        "KPI_DATA_DIR": root / "spark",
        "KPI_LANDING_DIR": landing,
        "KPI_WAREHOUSE": master,
        "KPI_SNAPSHOT_DIR": root / "spark" / "snapshots",
        "DAGSTER_HOME": root / "spark" / "dagster_home",
        "KPI_PII_KEY": "test-key-not-a-secret",
        "KPI_SPARK_PORT": free_port(),
        "KPI_SPARK_WAREHOUSE_DIR": shared,
        "SPARK_LOCAL_IP": "127.0.0.1",  # the driver as the executors reach it
    }.items():
        mp.setenv(name, str(value))
    return shared


@pytest.fixture(scope="module")
def cluster_runs(tmp_path_factory):
    """The day on the cluster (`kpi run` in a process of its own) and, while it runs, on
    DuckDB in-process; then the stranger's endpoint. Every JVM stopped at the end."""
    root = tmp_path_factory.mktemp("spark_cluster")
    landing = root / "landing"
    generate_sample(DAY, DAY, landing, scale=0.03, seed=11)
    with standalone_cluster(root / "cluster") as cluster, pytest.MonkeyPatch.context() as mp:
        shared = spark_deployment_env(mp, root, cluster.master_url, landing)
        settings = Settings.from_env()
        paths = SparkPaths(settings.warehouse_path)
        try:
            with (
                run_in_background(root / "kpi_run", "run", "--date", DAY.isoformat()) as finished,
                pytest.MonkeyPatch.context() as on_duckdb_env,  # meanwhile, on DuckDB
            ):
                on_duckdb = deploy(root / "duckdb", on_duckdb_env, landing=landing)
                report = on_duckdb.run(DAY)
                assert report.success, report.reason()
                duckdb_readers = readers(kpi_env())
                run = finished()
            during_run = cluster.state()  # the deployment's server still runs (left running)
            owned_status = run_kpi("spark", "status", env=kpi_env())
            stopped = run_kpi("spark", "stop", env=kpi_env())
        finally:
            stop_recorded_server(paths)
        after_stop = cluster.state()
        # the cluster's own Connect server over the tables the run left, as its owner runs it
        port = free_port()
        with stranger_connect_server(
            cluster,
            port,
            metastore=paths.metastore_dir,
            tables=shared,
            token=TOKEN,
            log=root / "stranger" / "server.log",
            conf={"spark.sql.shuffle.partitions": "4"},
        ) as stranger:
            mp.delenv("KPI_SPARK_WAREHOUSE_DIR")
            mp.delenv("KPI_SPARK_PORT")
            mp.setenv("KPI_WAREHOUSE", f"sc://localhost:{port}/;token={TOKEN}")
            env = kpi_env()
            wrong = {**env, "KPI_WAREHOUSE": f"sc://localhost:{port}/;token=nope"}
            on_endpoint = {
                "readers": readers(env),
                "status": run_kpi("spark", "status", env=env),
                "stop": run_kpi("spark", "stop", env=env),
                "still_running": stranger.poll() is None,
                "wrong_token": run_kpi("query", COUNT_SQL, env=wrong),
                "recorded": paths.server_file.exists(),
                "cluster": cluster.state(),
                "writes": write_through(settings.warehouse_location, env["KPI_WAREHOUSE"]),
            }
        yield {
            "duckdb": on_duckdb,
            "duckdb_readers": duckdb_readers,
            "spark": SimpleNamespace(landing=landing, snapshots=settings.snapshot_dir),
            "settings": settings,
            "shared": shared,
            "run": run,
            "during_run": during_run,
            "after_stop": after_stop,
            "owned_status": owned_status,
            "stopped": stopped,
            "endpoint": on_endpoint,
            "worker_dir": cluster.worker_dir,
            "master_url": cluster.master_url,
        }


def test_the_day_published_on_the_cluster_equals_duckdb_and_the_oracle(cluster_runs) -> None:
    run = cluster_runs["run"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "Traceback" not in run.stderr
    spark, on_duckdb = cluster_runs["settings"], cluster_runs["duckdb"]
    expected = canonical_rows(latest(on_duckdb.snapshots, DAY) / "kpis.csv")
    actual = canonical_rows(latest(spark.snapshot_dir, DAY) / "kpis.csv")
    assert len(expected) > 10
    assert actual == expected
    assert_matches_oracle(cluster_runs["spark"], DAY, as_of=DAY)
    manifest = json.loads((latest(spark.snapshot_dir, DAY) / "manifest.json").read_text())
    assert manifest["warehouse"]["engine"] == "spark"


def test_the_work_ran_on_the_clusters_executor(cluster_runs) -> None:
    """The master lists the deployment's server as a running application with the worker's
    executor; that executor ran tasks (its log, kept by the worker, says so); the tables'
    files are in KPI_SPARK_WAREHOUSE_DIR, not under the data folder."""
    during = cluster_runs["during_run"]
    assert during["aliveworkers"] == 1
    [app] = [a for a in during["activeapps"] if a["name"] == APP]
    assert app["cores"] >= 1
    logs = worker_logs(cluster_runs["worker_dir"], app["id"])
    assert logs, f"no executor log of {app['id']} under {cluster_runs['worker_dir']}"
    assert any("Running task" in log.read_text(errors="replace") for log in logs)
    # `kpi spark stop` ended it: the master lists it as completed
    assert app["id"] in {a["id"] for a in cluster_runs["after_stop"]["completedapps"]}
    shared = cluster_runs["shared"]
    assert (shared / "marts.db" / "fct_kpi_daily").is_dir()
    assert (shared / "raw.db" / "orders").is_dir()
    assert not (cluster_runs["settings"].spark_paths.warehouse_dir).exists()


def test_kpi_spark_status_and_stop_on_the_deployments_own_cluster_server(cluster_runs) -> None:
    status, stopped = cluster_runs["owned_status"], cluster_runs["stopped"]
    assert status.returncode == 0, status.stderr
    said = " ".join(status.stdout.split())
    assert "the Spark server runs" in said
    assert f"its work runs on the cluster {cluster_runs['master_url']}" in said
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped the Spark server" in stopped.stdout


def test_the_readers_read_through_an_endpoint_the_deployment_does_not_own(cluster_runs) -> None:
    """`kpi query` and `kpi show` through the stranger's Connect server print what they print
    on DuckDB; the server is the cluster's driver (the master lists it)."""
    endpoint = cluster_runs["endpoint"]
    for name, done in endpoint["readers"].items():
        expected = cluster_runs["duckdb_readers"][name]
        assert expected.returncode == 0, expected.stderr
        assert done.returncode == 0, (name, done.stderr[-3000:])
        assert done.stdout == expected.stdout, name
    assert "stranger-connect" in {a["name"] for a in endpoint["cluster"]["activeapps"]}
    assert not endpoint["recorded"]  # nothing recorded it as the deployment's server


def test_the_pipelines_writes_through_the_endpoint_replace_one_day(cluster_runs) -> None:
    """The server's defaults are not the pipeline's (static partition overwrite, among
    others); the pipeline's sessions set theirs, so a day's replacement leaves the other
    day's rows."""
    writes = cluster_runs["endpoint"]["writes"]
    assert {k: v.lower() for k, v in writes["settings"].items()} == {
        k: v.lower() for k, v in SESSION_CONF.items()
    }
    assert writes["defaults"]["spark.sql.sources.partitionOverwriteMode"].lower() == "static"
    assert writes["rows"] == [(2, "b"), (3, "a")]


def test_an_endpoint_not_owned_is_reported_never_stopped_its_token_never_shown(
    cluster_runs,
) -> None:
    endpoint = cluster_runs["endpoint"]
    status, stop, wrong = endpoint["status"], endpoint["stop"], endpoint["wrong_token"]
    assert status.returncode == 0, status.stderr
    said = " ".join(status.stdout.split())
    assert "uses the Spark Connect endpoint sc://localhost:" in said
    assert "which it does not start or stop: it answers" in said
    assert stop.returncode == 2
    refused = " ".join(stop.stderr.split())
    assert "is not this deployment's server: it does not start or stop it" in refused
    assert endpoint["still_running"]
    assert wrong.returncode == 2
    words = " ".join(wrong.stderr.split())
    assert "refused a session" in words and "check its token" in words
    for done in [status, stop, wrong, *endpoint["readers"].values()]:
        assert "Traceback" not in done.stderr
        assert TOKEN not in done.stdout + done.stderr
        assert "nope" not in done.stdout + done.stderr
