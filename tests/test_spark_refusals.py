"""What does not run on Spark yet (the daily job as one Dagster run, the readers) is refused
up front with KPI_WAREHOUSE=spark, in one line of words and exit code 2, before any Spark
server is started: `kpi run`, `kpi backfill`, `kpi quarantine`, the daily schedule and the
landing sensor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import build_sensor_context

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.orchestration.landing_sensor import build_landing_sensor
from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
from kpi_pipeline.settings import PROJECT_ROOT, Settings


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
        (["quarantine"], "kpi quarantine"),
    ],
)
def test_the_cli_refuses_spark_in_words_before_starting_anything(tmp_path, args, named) -> None:
    done = kpi(tmp_path, *args)
    assert done.returncode == ExitCode.ERROR, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())  # the console wraps at its width
    assert said.startswith(
        f"error: {named} is not supported with KPI_WAREHOUSE=spark yet: the daily job as one "
        "Dagster run and kpi show / pace / explain do not run on Spark (only ingest, dbt's "
        "models, the quality gate's checks, publication and kpi query do), "
        "docs/warehouses.md#spark hint: "
    )
    assert said.count("error:") == 1 and said.count("hint:") == 1
    # no server was started (its folder), no DuckDB file named after the location
    assert not (tmp_path / "data" / "spark").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_the_readers_refuse_a_spark_location(tmp_path) -> None:
    refused = pytest.raises(QueryError, match="reading the warehouse is not supported")
    with refused, read_only_connection(f"spark:{tmp_path / 'spark'}"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_the_landing_sensor_watches_for_a_spark_deployment(tmp_path) -> None:
    """No longer skipped with a refusal: it looks at the landing zone (empty here)."""
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path / "data"), "KPI_WAREHOUSE": "spark"})
    sensor = build_landing_sensor("daily_kpis", settings)
    result = sensor.evaluate_tick(build_sensor_context(cursor=None))
    assert result.run_requests == []
    assert result.skip_message == "no new or changed files in the landing zone"
