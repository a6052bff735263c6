"""A Spark deployment before its first run (no JVM needed): the readers, which run on Spark
(tests/test_spark_pipeline.py), say there is no warehouse yet and start nothing; the landing
sensor watches the landing zone as on any warehouse (the daily job runs on Spark:
tests/test_spark_pipeline.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dagster import build_sensor_context

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.orchestration.landing_sensor import build_landing_sensor
from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
from kpi_pipeline.settings import Settings
from tests.kpi_process import kpi_env, run_kpi


def kpi(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI with KPI_WAREHOUSE=spark, everything under tmp_path."""
    env = kpi_env(
        KPI_DATA_DIR=str(tmp_path / "data"),
        KPI_WAREHOUSE="spark",
        KPI_PII_KEY="test-key-not-a-secret",
        COLUMNS="400",  # one line: a long temporary path would wrap inside a word
    )
    for name in ("KPI_LANDING_DIR", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME"):
        env.pop(name, None)
    return run_kpi(*args, env=env, cwd=tmp_path)


def test_the_readers_say_there_is_no_spark_warehouse_yet_starting_nothing(tmp_path) -> None:
    missing = pytest.raises(QueryError, match=r"^no Spark warehouse at .*spark$")
    with missing as said, read_only_connection(f"spark:{tmp_path / 'spark'}"):
        pass
    assert "kpi run / kpi backfill" in said.value.hint
    assert list(tmp_path.iterdir()) == []  # no server, no lock file, no Spark folder


@pytest.mark.parametrize(
    "args",
    [
        ["quarantine"],
        ["show", "nps"],
        ["pace"],
        ["explain", "session_conversion_rate"],
        ["query", "select 1"],
    ],
)
def test_a_reader_on_a_spark_deployment_not_built_yet_says_so(tmp_path, args) -> None:
    done = kpi(tmp_path, *args)
    assert done.returncode == ExitCode.ERROR, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert said.startswith(f"error: no Spark warehouse at {tmp_path / 'data' / 'spark'} hint: ")
    assert not (tmp_path / "data" / "spark").exists()
    assert not (tmp_path / "data" / "warehouse.lock").exists()


def test_the_landing_sensor_watches_for_a_spark_deployment(tmp_path) -> None:
    """No longer skipped with a refusal: it looks at the landing zone (empty here)."""
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path / "data"), "KPI_WAREHOUSE": "spark"})
    sensor = build_landing_sensor("daily_kpis", settings)
    result = sensor.evaluate_tick(build_sensor_context(cursor=None))
    assert result.run_requests == []
    assert result.skip_message == "no new or changed files in the landing zone"
