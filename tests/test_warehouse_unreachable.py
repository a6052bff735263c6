"""A warehouse that is down is said once, before anything runs: `kpi run` against a PostgreSQL
server or a Spark endpoint the deployment does not own (`sc://`, `thrift://`) that does not
answer exits 2 with one line naming it (never its password) and what to do, without a
traceback, a Dagster run, a failure report or a snapshot. Before, each ingest step retried
three times (about two minutes at the default delay) and the run ended with eleven
"Exceeded max_retries of 3". A step that does fail after its retries is said by its last
error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster._utils.error import SerializableErrorInfo

from kpi_pipeline.runner import root_cause
from tests.kpi_process import kpi_env, run_kpi
from tests.ports import free_port
from tests.spark_extra import require_spark_extra

DAY = dt.date(2025, 6, 2)
PASSWORD = "s3cret-pw-9d1"


def warehouses(port: int) -> dict[str, tuple[str, str]]:
    """KPI_WAREHOUSE of each kind, nothing listening on `port`: (value, how it is named)."""
    return {
        "postgres": (
            f"postgresql://kpi:{PASSWORD}@127.0.0.1:{port}/kpi",
            f"PostgreSQL warehouse postgresql://kpi@127.0.0.1:{port}/kpi",
        ),
        "spark_connect": (
            f"sc://127.0.0.1:{port}/;token={PASSWORD}",
            f"Spark Connect endpoint sc://127.0.0.1:{port}",
        ),
        "spark_thrift": (
            f"thrift://127.0.0.1:{port}",
            f"Spark Thrift Server thrift://127.0.0.1:{port}",
        ),
    }


@pytest.mark.parametrize("kind", ["postgres", "spark_connect", "spark_thrift"])
def test_a_warehouse_that_does_not_answer_is_said_once_before_anything_runs(
    kind: str, tmp_path: Path
) -> None:
    if kind.startswith("spark"):
        require_spark_extra()
    data = tmp_path / "data"
    location, named = warehouses(free_port())[kind]
    env = kpi_env(KPI_DATA_DIR=str(data), KPI_WAREHOUSE=location)
    sampled = run_kpi("sample", "--start", str(DAY), "--end", str(DAY), "--scale", "0.02", env=env)
    assert sampled.returncode == 0, sampled.stderr

    run = run_kpi("run", "--date", str(DAY), env=env)

    said = run.stdout + run.stderr
    assert run.returncode == 2, said
    assert named in run.stderr and "(KPI_WAREHOUSE)" in run.stderr
    assert "nothing was run and the published snapshots are unchanged" in run.stderr
    assert PASSWORD not in said
    assert "Traceback" not in said and "max_retries" not in said
    assert run.stderr.count("error:") == 1
    # no run was started: Dagster recorded none, no failure report, nothing published
    assert not (data / "failures").exists()
    assert not (data / "snapshots").exists() or not any((data / "snapshots").iterdir())
    assert "ingest" not in run.stdout  # no progress bar: the run never began


def error(cls_name: str, message: str, cause: SerializableErrorInfo | None = None):
    return SerializableErrorInfo(message=message, stack=[], cls_name=cls_name, cause=cause)


def test_a_step_that_failed_after_its_retries_is_said_by_its_last_error() -> None:
    refused = error("OperationalError", 'connection to server at "db", port 5432 failed\nmore')
    spent = error("RetryRequestedFromPolicy", "Exceeded max_retries of 3\n", cause=refused)
    wrapped = error("DagsterExecutionStepExecutionError", "Error in step", cause=spent)

    assert root_cause(wrapped) == (
        'connection to server at "db", port 5432 failed (after 3 retries)'
    )
    # the pipeline's own words stay the outermost that is not Dagster's
    own = error("ExtractError", "orders.csv line 3: no order_id", cause=refused)
    assert root_cause(error("DagsterExecutionStepExecutionError", "x", cause=own)) == (
        "orders.csv line 3: no order_id"
    )
