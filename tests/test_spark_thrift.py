"""A Spark Thrift Server as the warehouse, for real (`KPI_WAREHOUSE=thrift://127.0.0.1:<port>`):
one server started from the pyspark wheel's own jars (`HiveThriftServer2`, `local[2]`, its
metastore and tables in the test's folder, a free loopback port), then

- `kpi run` of one sample day through it (ingest's frames staged as Parquet, dbt's `thrift`
  output, the gate, publication), the DuckDB run of the same landing files in-process
  meanwhile: the published day equals DuckDB's (canonical CSV after the suite's rounding)
  and the plain-Python oracle;
- `kpi query` and `kpi show` through it print what they print on DuckDB; a write in
  `kpi query` is refused and changes nothing, a missing table is said in Spark's words;
  the sessions of the pipeline and of dbt's profile get the pipeline's settings, which the
  server's defaults are not; the staging folder is left empty;
- `kpi spark status` reports it, `kpi spark stop` refuses it (exit 2) and it keeps running;
- a port where no server listens: one line, exit 2, no traceback.

The server is stopped at the module's end, also on failure."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings
from kpi_pipeline.warehouse import connect
from kpi_pipeline.warehouse.java_runtime import java_env
from kpi_pipeline.warehouse.spark import SESSION_CONF, port_open, server_env, spark_home
from tests.conftest import deploy
from tests.kpi_process import kpi_env, run_in_background, run_kpi
from tests.ports import free_port
from tests.published_csv import canonical_rows, latest
from tests.spark_cluster import jvm, replace_a_day_partition, wait_for
from tests.spark_extra import require_spark_extra
from tests.test_end_to_end import assert_matches_oracle

require_spark_extra()

DAY = dt.date(2025, 6, 2)
BY_CHANNEL = "session_conversion_rate"  # a ratio with a channel breakdown
COUNT_SQL = "select count(*) as n, count(distinct kpi_id) as kpis from fct_kpi_daily"
WRITE_SQL = "insert into marts.dim_kpi select * from marts.dim_kpi"
CATALOGUE_SQL = "select count(*) as n from dim_kpi"

pytestmark = pytest.mark.e2e


@contextmanager
def thrift_server(root: Path, port: int) -> Iterator[subprocess.Popen]:
    """Spark's Thrift Server (`HiveThriftServer2`, the pyspark wheel's
    `spark-hive-thriftserver` jar) in local mode on the loopback `port`, its Hive metastore,
    tables and temporary files under `root`, and Spark's defaults for everything else (a
    cluster's server is not set up for the pipeline: its sessions set what they need)."""
    home = spark_home()
    (root / "tmp").mkdir(parents=True)
    settings = {
        "spark.master": "local[2]",
        "spark.app.name": "thrift-server",
        "spark.driver.memory": "1g",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={root} -Djava.io.tmpdir={root / 'tmp'}"
        ),
        "spark.hadoop.hive.server2.thrift.bind.host": "127.0.0.1",
        "spark.hadoop.hive.server2.thrift.port": str(port),
    }
    command = [str(home / "bin" / "spark-submit"), "--class"]
    command += ["org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    env = java_env(server_env(kpi_env(), home), root / "java")
    log = root / "server.log"
    with jvm(command, log, env) as process:
        wait_for(lambda: port_open(port), process, log)
        yield process


def readers(env: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """What `kpi query` and `kpi show` print in `env`."""
    day = ["--from", str(DAY), "--to", str(DAY)]
    return {
        "query": run_kpi("query", COUNT_SQL, "--format", "csv", env=env),
        "show": run_kpi("show", BY_CHANNEL, "--by", "channel", *day, "--format", "json", env=env),
        "catalogue": run_kpi("query", CATALOGUE_SQL, "--format", "csv", env=env),
    }


def session_settings(port: int, configuration: dict[str, str]) -> dict[str, str]:
    """The values of `SESSION_CONF`'s keys in a PyHive session opened with `configuration`
    (as dbt-spark's thrift method opens one: `hive.connect(configuration=...)`)."""
    from pyhive import hive

    session = hive.connect(host="127.0.0.1", port=port, configuration=configuration)
    try:
        cursor = session.cursor()
        found = {}
        for key in SESSION_CONF:
            cursor.execute(f"set {key}")
            [(_, value)] = cursor.fetchall()
            found[key] = value.lower()
        return found
    finally:
        session.close()


def write_through(location: str) -> dict[str, object]:
    """Through the pipeline's own connection (as ingest writes): its session settings, and
    one day partition of a partitioned table replaced the way a load replaces it
    (`replace_partition` + `append_frame`, staged as Parquet, written at `commit`)."""
    with connect(location) as con:
        settings = {key: con.execute(f"set {key}").fetchone()[1].lower() for key in SESSION_CONF}
        rows = replace_a_day_partition(con)
    return {"settings": settings, "rows": rows}


def thrift_env(mp: pytest.MonkeyPatch, root: Path, port: int, landing: Path) -> None:
    for name, value in {
        "KPI_DATA_DIR": root / "spark",
        "KPI_LANDING_DIR": landing,
        "KPI_WAREHOUSE": f"thrift://127.0.0.1:{port}",
        "KPI_SNAPSHOT_DIR": root / "spark" / "snapshots",
        "DAGSTER_HOME": root / "spark" / "dagster_home",
        "KPI_PII_KEY": "test-key-not-a-secret",
    }.items():
        mp.setenv(name, str(value))
    mp.delenv("KPI_SPARK_STAGING_DIR", raising=False)


@pytest.fixture(scope="module")
def thrift_runs(tmp_path_factory):
    """The day through the Thrift Server (`kpi run` in a process of its own) and, while it
    runs, on DuckDB in-process; then the readers, a write, status, stop and a dead port."""
    root = tmp_path_factory.mktemp("spark_thrift")
    landing = root / "landing"
    generate_sample(DAY, DAY, landing, scale=0.02, seed=11)
    port = free_port()
    with thrift_server(root / "server", port) as server, pytest.MonkeyPatch.context() as mp:
        thrift_env(mp, root, port, landing)
        settings = Settings.from_env()
        with (
            run_in_background(root / "kpi_run", "run", "--date", DAY.isoformat()) as finished,
            pytest.MonkeyPatch.context() as on_duckdb_env,  # meanwhile, on DuckDB
        ):
            on_duckdb = deploy(root / "duckdb", on_duckdb_env, landing=landing)
            report = on_duckdb.run(DAY)
            assert report.success, report.reason()
            duckdb_readers = readers(kpi_env())
            run = finished()
        env = kpi_env()
        dead = {**env, "KPI_WAREHOUSE": f"thrift://127.0.0.1:{free_port()}"}
        profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
        dbt_parameters = profile["kpi_pipeline"]["outputs"]["spark_thrift"]
        yield {
            "defaults": session_settings(port, {}),
            "plain_names": session_settings(port, dict(SESSION_CONF)),
            "dbts": session_settings(port, dbt_parameters["server_side_parameters"]),
            "writes": write_through(settings.warehouse_location),
            "duckdb": on_duckdb,
            "duckdb_readers": duckdb_readers,
            "settings": settings,
            "landing": landing,
            "run": run,
            "readers": readers(env),
            "write": run_kpi("query", WRITE_SQL, env=env),
            "missing": run_kpi("query", "select * from marts.no_such_table", env=env),
            "catalogue_after_write": run_kpi("query", CATALOGUE_SQL, "--format", "csv", env=env),
            "status": run_kpi("spark", "status", env=env),
            "stop": run_kpi("spark", "stop", env=env),
            "still_running": server.poll() is None,
            "dead_query": run_kpi("query", COUNT_SQL, env=dead),
            "dead_status": run_kpi("spark", "status", env=dead),
        }


def test_the_day_published_through_thrift_equals_duckdb_and_the_oracle(thrift_runs) -> None:
    run = thrift_runs["run"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "Traceback" not in run.stderr
    settings, on_duckdb = thrift_runs["settings"], thrift_runs["duckdb"]
    expected = canonical_rows(latest(on_duckdb.snapshots, DAY) / "kpis.csv")
    actual = canonical_rows(latest(settings.snapshot_dir, DAY) / "kpis.csv")
    assert len(expected) > 10
    assert actual == expected
    published = SimpleNamespace(landing=thrift_runs["landing"], snapshots=settings.snapshot_dir)
    assert_matches_oracle(published, DAY, as_of=DAY)
    manifest = json.loads((latest(settings.snapshot_dir, DAY) / "manifest.json").read_text())
    assert manifest["warehouse"] == {"engine": "spark", "version": "4.3.0"}
    # the frames ingest and publication wrote were staged there, and removed after
    staging = settings.warehouse_path / "staging"
    assert staging.is_dir() and not list(staging.iterdir())


def test_the_readers_through_thrift_print_what_they_print_on_duckdb(thrift_runs) -> None:
    for name, done in thrift_runs["readers"].items():
        expected = thrift_runs["duckdb_readers"][name]
        assert expected.returncode == 0, expected.stderr
        assert done.returncode == 0, (name, done.stderr[-3000:])
        assert done.stdout == expected.stdout, name


def test_the_sessions_of_the_pipeline_and_of_dbt_get_the_pipelines_settings(thrift_runs) -> None:
    """The server's defaults are not the pipeline's (static partition overwrite, ANSI on),
    and settings handed to the session under their plain names are ignored; dbt's profile
    and the pipeline's connection name them as the server applies them, so a day's
    replacement leaves the other day's rows."""
    wanted = {key: value.lower() for key, value in SESSION_CONF.items()}
    defaults = thrift_runs["defaults"]
    assert defaults["spark.sql.sources.partitionOverwriteMode"] == "static"
    assert defaults["spark.sql.ansi.enabled"] == "true"
    assert thrift_runs["plain_names"] == defaults
    assert thrift_runs["dbts"] == wanted
    writes = thrift_runs["writes"]
    assert writes["settings"] == wanted
    assert writes["rows"] == [(2, "b"), (3, "a")]


def test_a_write_in_kpi_query_is_refused_and_changes_nothing(thrift_runs) -> None:
    write = thrift_runs["write"]
    assert write.returncode == 2
    assert "refused: INSERT is not a read" in " ".join(write.stderr.split())
    assert "Traceback" not in write.stderr
    # the catalogue's rows as DuckDB's (the insert would have doubled them)
    after = thrift_runs["catalogue_after_write"]
    assert after.returncode == 0, after.stderr
    assert after.stdout == thrift_runs["duckdb_readers"]["catalogue"].stdout


def test_a_failed_read_in_kpi_query_is_said_in_sparks_words(thrift_runs) -> None:
    missing = thrift_runs["missing"]
    assert missing.returncode == 2
    said = " ".join(missing.stderr.split())
    assert "the query failed: [TABLE_OR_VIEW_NOT_FOUND] The table or view" in said
    assert "org.apache" not in said and "Traceback" not in missing.stderr


def test_kpi_spark_status_reports_the_server_and_stop_refuses_it(thrift_runs) -> None:
    status, stop = thrift_runs["status"], thrift_runs["stop"]
    assert status.returncode == 0, status.stderr
    said = " ".join(status.stdout.split())
    assert "uses the Spark Thrift Server thrift://127.0.0.1:" in said
    assert "which it does not start or stop: it answers" in said
    assert stop.returncode == 2
    assert "is not this deployment's server: it does not start or stop it" in " ".join(
        stop.stderr.split()
    )
    assert thrift_runs["still_running"]


def test_a_port_without_a_server_is_said_in_one_line(thrift_runs) -> None:
    query, status = thrift_runs["dead_query"], thrift_runs["dead_status"]
    assert query.returncode == 2
    assert "Traceback" not in query.stderr
    said = " ".join(query.stderr.split())
    assert "the Spark Thrift Server thrift://127.0.0.1:" in said
    assert "(KPI_WAREHOUSE) does not answer" in said
    assert status.returncode == 0, status.stderr
    assert "it does not answer" in " ".join(status.stdout.split())
