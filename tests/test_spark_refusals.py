"""What does not run on Spark yet (the daily job as one Dagster run) is refused up front with
KPI_WAREHOUSE=spark, in one line of words and exit code 2, before any Spark server is
started: `kpi run`, `kpi backfill`, the daily schedule and the landing sensor. The readers
do run on Spark (tests/test_spark_readers.py); on a deployment whose Spark warehouse is not
built yet they say so, starting nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import build_schedule_context, build_sensor_context

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.jobs import daily_kpi_job, daily_kpi_schedule
from kpi_pipeline.orchestration.landing_sensor import build_landing_sensor
from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
from kpi_pipeline.settings import PROJECT_ROOT, Settings
from kpi_pipeline.warehouse.spark_support import not_yet_on_spark


def kpi(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed CLI with KPI_WAREHOUSE=spark, everything under tmp_path."""
    env = {
        **os.environ,
        "KPI_DATA_DIR": str(tmp_path / "data"),
        "KPI_WAREHOUSE": "spark",
        "KPI_PII_KEY": "test-key-not-a-secret",
        # this checkout's code, whatever the venv's editable install points at
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    for name in ("KPI_LANDING_DIR", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME"):
        env.pop(name, None)
    code = "from kpi_pipeline.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "--date", "2025-06-02"], "kpi run"),
        (["backfill", "--start", "2025-06-01", "--end", "2025-06-02"], "kpi backfill"),
    ],
)
def test_the_cli_refuses_spark_in_words_before_starting_anything(tmp_path, args, named) -> None:
    done = kpi(tmp_path, *args)
    assert done.returncode == ExitCode.ERROR, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())  # the console wraps at its width
    assert said.startswith(
        f"error: {named} is not supported with KPI_WAREHOUSE=spark yet: the daily job as one "
        "Dagster run does not run on Spark (only ingest, dbt's models, the quality gate's "
        "checks, publication, kpi query and the KPI readers (kpi show / pace / explain / "
        "quarantine / list) do), docs/warehouses.md#spark hint: "
    )
    assert said.count("error:") == 1 and said.count("hint:") == 1
    # no server was started (its folder), no DuckDB file named after the location
    assert not (tmp_path / "data" / "spark").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_the_readers_say_there_is_no_spark_warehouse_yet_starting_nothing(tmp_path) -> None:
    missing = pytest.raises(QueryError, match=r"^no Spark warehouse at .*spark$")
    with missing as said, read_only_connection(f"spark:{tmp_path / 'spark'}"):
        pass
    assert "kpi run / kpi backfill" in said.value.hint
    assert list(tmp_path.iterdir()) == []  # no server, no lock file, no Spark folder


@pytest.mark.parametrize(
    "args", [["quarantine"], ["show", "nps"], ["pace"], ["explain", "session_conversion_rate"]]
)
def test_a_reader_on_a_spark_deployment_not_built_yet_says_so(tmp_path, args) -> None:
    done = kpi(tmp_path, *args)
    assert done.returncode == ExitCode.ERROR, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert said.startswith(f"error: no Spark warehouse at {tmp_path / 'data' / 'spark'} hint: ")
    assert not (tmp_path / "data" / "spark").exists()
    assert not (tmp_path / "data" / "warehouse.lock").exists()


def test_the_landing_sensor_skips_on_spark_with_the_reason(tmp_path) -> None:
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path / "data"), "KPI_WAREHOUSE": "spark"})
    sensor = build_landing_sensor("daily_kpis", settings)
    result = sensor.evaluate_tick(build_sensor_context(cursor="kept"))
    assert result.run_requests == []
    assert result.skip_message.startswith(
        "the landing sensor is not supported with KPI_WAREHOUSE=spark yet"
    )
    assert result.cursor == "kept"


def test_the_daily_schedule_skips_on_spark_with_the_reason(tmp_path) -> None:
    refusal = not_yet_on_spark(f"spark:{tmp_path}", "the daily schedule")
    schedule = daily_kpi_schedule(daily_kpi_job(), "06:00", refusal=refusal)
    result = schedule.evaluate_tick(build_schedule_context())
    assert result.run_requests == [] and result.skip_message == refusal
    assert schedule.cron_schedule == "0 6 * * *"
    assert not_yet_on_spark(str(tmp_path / "warehouse.duckdb"), "the daily schedule") is None
