"""dbt's whole project (seeds, staging, intermediate, marts, data tests) built on a local
Spark through the deployment's Spark Connect server, over the raw tables of one sample day,
gives exactly the marts the same day gives on DuckDB. One Spark server for the module.

The raw tables are the pipeline's ingest on Spark of the day's landing files (the loaders the
ingest assets run, through `warehouse.connect`); the DuckDB side is the pipeline's own run
of the same files."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

try:
    import pyspark  # noqa: F401
except ImportError:  # make test installs the spark extra; CI must run these, not skip them
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the spark extra is not installed: make install-spark", allow_module_level=True)

from kpi_pipeline.partitions import dbt_window, dbt_window_env
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings
from kpi_pipeline.warehouse import spark_connection
from kpi_pipeline.warehouse.spark import remote_session, running_server
from tests.conftest import deploy
from tests.ingest_days import ingest_days

DAY = dt.date(2025, 6, 2)
# each mart's key columns; every other column is compared value by value
MARTS = {
    "fct_kpi_daily": ["kpi_date", "kpi_id", "dimension", "dimension_value"],
    "fct_kpi_period": ["period_grain", "period_start", "kpi_id", "dimension", "dimension_value"],
    "fct_kpi_attainment": ["period_grain", "period_start", "kpi_id"],
    "fct_metric_daily": ["kpi_date", "metric_id"],
    "fct_kpi_pace": ["period_grain", "kpi_id"],
    "dim_kpi": ["kpi_id"],
}

pytestmark = pytest.mark.e2e


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dbt(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """dbt as the pipeline starts it: the deployment's dbt environment and the day's window."""
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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The day on DuckDB (the pipeline's run), then its raw tables on Spark and `dbt build`
    there; yields the DuckDB file, the Spark session, the Spark settings and dbt's outcomes."""
    root = tmp_path_factory.mktemp("spark_dbt")
    with pytest.MonkeyPatch.context() as monkeypatch:
        on_duckdb = deploy(root / "duckdb", monkeypatch)
        generate_sample(DAY, DAY, on_duckdb.landing, scale=0.03, seed=11)
        on_duckdb.run(DAY)  # its gate may block the day: the marts are built before it
    env = {"KPI_DATA_DIR": str(root / "spark"), "KPI_WAREHOUSE": "spark"}
    settings = Settings.from_env({**env, "KPI_SPARK_PORT": str(free_port())})
    with running_server(settings.spark_paths, settings.spark_port):
        session = remote_session(settings.spark_port)
        loaded_at = dt.datetime.now(dt.UTC)
        location, port = settings.warehouse_location, settings.spark_port
        with spark_connection.connect(location, port=port) as con:
            ingest_days(con, on_duckdb.landing, [DAY], loaded_at)
        raw_rows = {
            table: session.table(f"raw.{table}").count() for table in ("ga4_events", "orders")
        }
        first = dbt(settings, "build", "--exclude", "resource_type:unit_test")
        first_statuses = statuses(settings)
        daily_after_first = pl.from_arrow(
            session.sql("select * from marts.fct_kpi_daily").toArrow()
        )
        periods_after_first = pl.from_arrow(
            session.sql("select * from marts.fct_kpi_period").toArrow()
        )
        # the incremental path: the same window again, partitions overwritten in place
        again = dbt(
            settings, "run", "--select", "int_ga4__sessions", "fct_kpi_daily", "fct_kpi_period"
        )
        # this session listed the tables' files before dbt's session rewrote them
        for mart in MARTS:
            session.sql(f"refresh table marts.{mart}")
        yield {
            "duckdb": on_duckdb.warehouse,
            "session": session,
            "settings": settings,
            "raw_rows": raw_rows,
            "first": first,
            "first_statuses": first_statuses,
            "daily_after_first": daily_after_first,
            "periods_after_first": periods_after_first,
            "again": again,
        }
        session.stop()


def test_dbt_builds_the_whole_project_on_spark(built) -> None:
    assert built["raw_rows"]["ga4_events"] > 0 and built["raw_rows"]["orders"] > 0
    first = built["first"]
    assert first.returncode == 0, first.stdout[-3000:]
    outcomes = built["first_statuses"]
    assert len(outcomes) > 80  # seeds, models and data tests, every one of them
    assert {s for s in outcomes.values()} <= {"success", "pass"}, {
        node: s for node, s in outcomes.items() if s not in ("success", "pass")
    }
    # everything Spark wrote is under the deployment's Spark folder, where the server put it
    settings = built["settings"]
    spark_dir = settings.spark_paths.root
    assert (settings.spark_paths.warehouse_dir / "marts.db" / "fct_kpi_daily").is_dir()
    assert (settings.spark_paths.metastore_dir / "service.properties").is_file()  # Derby's
    assert (spark_dir / "derby.log").is_file()
    assert not (spark_dir / "spark-warehouse").exists()  # Spark's default folder, unused
    assert list((settings.artefacts_dir / "dbt_cwd").iterdir()) == []


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


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_each_mart_equals_the_duckdb_run(built, mart) -> None:
    keys = MARTS[mart]
    with duckdb.connect(str(built["duckdb"]), read_only=True) as con:
        expected = con.sql(f"select * from marts.{mart}").pl()
    actual = pl.from_arrow(built["session"].sql(f"select * from marts.{mart}").toArrow())
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


def test_an_empty_seed_cell_is_null_on_spark_not_the_string_none(built) -> None:
    """dbt-adapters#487: dbt-spark's session cursor wrote an empty cell as 'None'."""
    session = built["session"]
    query = (
        "select count(*) as empty, count(case when denominator_formula = 'None' then 1 end)"
        " as none_text from reference.kpi_catalogue where denominator_formula is null"
        " or denominator_formula = 'None'"
    )
    with duckdb.connect(str(built["duckdb"]), read_only=True) as con:
        (nulls_on_duckdb,) = con.execute(
            "select count(*) from reference.kpi_catalogue where denominator_formula is null"
        ).fetchone()
    (empty, none_text) = session.sql(query).collect()[0]
    assert nulls_on_duckdb > 0  # the seed has empty text cells (KPIs that are not ratios)
    assert (empty, none_text) == (nulls_on_duckdb, 0)


def test_the_incremental_run_overwrites_the_windows_partitions_in_place(built) -> None:
    again = built["again"]
    assert again.returncode == 0, again.stdout[-3000:]
    after = pl.from_arrow(built["session"].sql("select * from marts.fct_kpi_daily").toArrow())
    before = built["daily_after_first"]
    keys = MARTS["fct_kpi_daily"]
    assert after.height == before.height  # no row twice
    assert rows_by_key(after, keys).keys() == rows_by_key(before, keys).keys()
    # the table is partitioned by day, which insert_overwrite replaces
    described = built["session"].sql("describe table extended marts.fct_kpi_daily").collect()
    partitions = [row for row in described if row[0] == "# Partition Information"]
    assert partitions, "fct_kpi_daily is not partitioned on Spark"


def test_the_incremental_run_overwrites_the_windows_periods_in_place(built) -> None:
    """fct_kpi_period is partitioned by period_grain and period_start: the run's periods are
    overwritten with the same rows (no row twice, none lost, the same values)."""
    assert built["again"].returncode == 0, built["again"].stdout[-3000:]
    session = built["session"]
    after = pl.from_arrow(session.sql("select * from marts.fct_kpi_period").toArrow())
    keys = MARTS["fct_kpi_period"]
    want, got = rows_by_key(built["periods_after_first"], keys), rows_by_key(after, keys)
    assert got.keys() == want.keys()
    assert all(same(v, got[k][c]) for k, row in want.items() for c, v in row.items())
    described = session.sql("describe table extended marts.fct_kpi_period").collect()
    names = [row[0] for row in described]
    partition_columns = names[names.index("# Partition Information") + 2 :][:2]
    assert partition_columns == ["period_grain", "period_start"]


def test_the_dbt_unit_tests_pass_on_spark(built) -> None:
    """The models' unit tests (hand-made rows, expected rows) that CI runs on DuckDB."""
    result = dbt(
        built["settings"], "test", "--select", "test_type:unit", "--vars", "{run_unit_tests: true}"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    outcomes = statuses(built["settings"])
    assert len(outcomes) >= 8 and all(node.startswith("unit_test.") for node in outcomes)
    assert set(outcomes.values()) == {"pass"}
