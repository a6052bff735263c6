"""KPI_INGEST_PARALLELISM: its values (bad ones refused in words), the executor each warehouse
gets, what a step process is told of the run's settings, and the writer lock a step process
finds held by its run. The parallel run itself: tests/test_postgres_warehouse.py and
tests/test_spark_pipeline.py."""

from __future__ import annotations

import re

import pytest
from dagster import in_process_executor

from kpi_pipeline.jobs import daily_kpi_job
from kpi_pipeline.orchestration.parallel_ingest import (
    DEPLOYMENT_VARIABLES,
    INHERITED_ONLY,
    PRELOAD_MODULE,
    ForkserverDeployment,
    deployment_environ,
    executor_config,
    parse_parallelism,
    step_environ,
)
from kpi_pipeline.orchestration.run_guard import held_by_run
from kpi_pipeline.orchestration.run_liveness import PID_TAG, process_tags
from kpi_pipeline.settings import PROJECT_ROOT, Settings
from kpi_pipeline.warehouse.lock import hold

PG = "postgresql://kpi@db.example:5432/kpis"


@pytest.mark.parametrize(
    ("text", "backend", "expected"),
    [
        (None, "duckdb", 1),
        ("", "postgres", 1),
        (" 1 ", "duckdb", 1),
        ("2", "postgres", 2),
        ("1", "spark", 1),
    ],
)
def test_accepted_values(text, backend, expected) -> None:
    assert parse_parallelism(text, backend) == expected


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_bad_values_are_refused_in_words(text) -> None:
    with pytest.raises(ValueError, match="is not a whole number of processes >= 1"):
        parse_parallelism(text, "postgres")


def test_parallel_ingest_is_refused_on_duckdb(tmp_path) -> None:
    env = {"KPI_DATA_DIR": str(tmp_path), "KPI_INGEST_PARALLELISM": "2"}
    with pytest.raises(ValueError, match="DuckDB warehouse takes one writer process at a time"):
        Settings.from_env(env)
    env["KPI_WAREHOUSE"] = PG
    assert Settings.from_env(env).ingest_parallelism == 2


def test_parallel_ingest_is_allowed_on_spark(tmp_path) -> None:
    """Spark takes several writers (its partition replacements share no folder:
    tests/test_spark_ingest.py); the parallel run itself: tests/test_spark_pipeline.py."""
    assert parse_parallelism("2", "spark") == 2
    env = {"KPI_DATA_DIR": str(tmp_path), "KPI_INGEST_PARALLELISM": "2", "KPI_WAREHOUSE": "spark"}
    settings = Settings.from_env(env)
    assert settings.ingest_parallelism == 2
    job = daily_kpi_job(settings.ingest_parallelism, str(settings.lock_file))
    assert job.executor_def.name == "kpi_parallel"


def test_duckdb_runs_the_job_in_process(tmp_path) -> None:
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path)})
    assert settings.ingest_parallelism == 1
    job = daily_kpi_job(settings.ingest_parallelism, str(settings.lock_file))
    assert job.executor_def is in_process_executor


def test_parallel_job_runs_its_steps_in_processes(tmp_path) -> None:
    assert daily_kpi_job(2, str(tmp_path / "lock")).executor_def.name == "kpi_parallel"
    config = executor_config(2)
    assert config["max_concurrent"] == 2
    assert config["start_method"] == {"forkserver": {"preload_modules": [PRELOAD_MODULE]}}


def test_run_record_names_settings_never_secrets() -> None:
    environ = {
        "KPI_WAREHOUSE": "postgresql://kpi:s3cret@db.example:5432/kpis",
        "KPI_PII_KEY": "a-key",
        "KPI_SMTP_PASSWORD": "mail",
        "KPI_DATA_DIR": "/srv/kpi",
    }
    told = deployment_environ(environ)
    assert told["KPI_WAREHOUSE"] == PG
    assert told["KPI_DATA_DIR"] == "/srv/kpi"
    assert told["KPI_TIMEZONE"] is None  # unset: unset in the step process too
    assert "s3cret" not in repr(told) and "a-key" not in repr(told)
    assert not {"KPI_PII_KEY", "KPI_SMTP_PASSWORD"} & set(told)


def test_step_process_takes_the_runs_settings() -> None:
    told = deployment_environ({"KPI_WAREHOUSE": PG, "KPI_DATA_DIR": "/srv/kpi"})
    # a process started for an earlier run: other folders, a variable since unset
    inherited = {"KPI_WAREHOUSE": PG, "KPI_DATA_DIR": "/old", "KPI_TIMEZONE": "Europe/Paris"}
    assert step_environ(told, inherited) == {"KPI_DATA_DIR": "/srv/kpi", "KPI_TIMEZONE": None}
    # the password stays the environment's when the URL is the same, and only then
    with_password = {**inherited, "KPI_WAREHOUSE": "postgresql://kpi:pw@db.example:5432/kpis"}
    assert "KPI_WAREHOUSE" not in step_environ(told, with_password)
    other = {**inherited, "KPI_WAREHOUSE": "postgresql://kpi:pw@elsewhere:5432/kpis"}
    assert step_environ(told, other)["KPI_WAREHOUSE"] == PG


def test_one_deployment_per_forkserver() -> None:
    forkserver = ForkserverDeployment()
    first = {"KPI_WAREHOUSE": PG, "DAGSTER_HOME": "/srv/a/dagster_home"}
    forkserver.claim(first)
    forkserver.claim({**first, "KPI_PII_KEY": "not a setting"})  # the same deployment
    with pytest.raises(ValueError, match=r"another deployment \(DAGSTER_HOME differ\)"):
        forkserver.claim({**first, "DAGSTER_HOME": "/srv/b/dagster_home"})


def test_step_process_finds_the_lock_held_by_its_run(tmp_path) -> None:
    lock = tmp_path / "warehouse.lock"
    tags = process_tags()  # this process plays the run's process
    assert not held_by_run(lock, tags, pid=1)  # nobody holds it
    with hold(lock, command="run 1234abcd of daily_kpis"):
        assert held_by_run(lock, tags, pid=1)  # seen from one of the run's step processes
        assert not held_by_run(lock, tags)  # the run's own process takes (re-enters) it
        assert not held_by_run(lock, {}, pid=1)  # a run not tagged with its process
        other = {**tags, PID_TAG: "1"}  # another run's process: not this run's lock
        assert not held_by_run(lock, other, pid=2)
    assert not held_by_run(lock, tags, pid=1)


def test_every_variable_the_pipeline_reads_is_told_to_step_processes_or_kept_inherited() -> None:
    """A new KPI_ setting must be put in DEPLOYMENT_VARIABLES (a step process started for an
    earlier run is told its value) or in INHERITED_ONLY (a secret, say): a setting in
    neither would keep, in such a process, the value of the run it was started for."""
    read = {
        name
        for path in (PROJECT_ROOT / "kpi_pipeline").rglob("*.py")
        for name in re.findall(r"[\"'](KPI_[A-Z0-9_]+)[\"']", path.read_text())
    }
    told, inherited = set(DEPLOYMENT_VARIABLES), set(INHERITED_ONLY)
    assert not told & inherited
    assert read - {"DAGSTER_HOME"} - told - inherited == set()
    assert {"KPI_WAREHOUSE", "KPI_MAX_FIELD_BYTES", "KPI_SPARK_STAGING_DIR"} <= told
    assert {"KPI_PII_KEY", "KPI_SMTP_PASSWORD", "KPI_SPARK_THRIFT_PASSWORD"} <= inherited
