"""Ingest steps in parallel processes where the warehouse takes several writers at once
(PostgreSQL, Spark): `KPI_INGEST_PARALLELISM` (docs/warehouses.md).

1 (the default) runs the daily job's steps one after the other in the run's process (Dagster's
in-process executor). N > 1 runs each step in a process of its own, at most N at a time
(Dagster's multiprocess executor, `forkserver` start with the libraries, and the definitions
of the run's settings, preloaded by `orchestration/step_preload.py`); the asset graph keeps
dbt after ingest, the gate after dbt and publication last. DuckDB takes one writer process
at a time, so N > 1 is refused there. On Spark each step process opens a session of its own
on the deployment's server (the first to find none starts it, the others wait for it:
`spark.starting_alone`), and the steps' partition replacements of the shared bookkeeping
tables stay out of each other's way (`warehouse/spark_connection.py`).

The writer lock stays one per run: the executor holds it in the run's process from the first
step to the last (`GuardedExecutor`), and the step processes know it is their run's
(`run_guard.held_by_run`). Each step process rebuilds the job from the deployment's
settings (`daily_job`, Dagster's reconstructable job), or takes those its forkserver built
when they are the run's: the run's record names the
settings' variables, never a password or key (`deployment_environ`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from dagster import (
    DagsterInstance,
    Executor,
    ExecutorDefinition,
    executor,
    multiple_process_executor_requirements,
    multiprocess_executor,
)

from kpi_pipeline.warehouse.postgres import url_without_password

VARIABLE = "KPI_INGEST_PARALLELISM"
DEFAULT = 1
PRELOAD_MODULE = "kpi_pipeline.orchestration.step_preload"
# the variables a step process needs to rebuild the run's job: the settings, no secret (the
# PII key, SMTP and webhook addresses stay in the environment the processes inherit)
DEPLOYMENT_VARIABLES = (
    "DAGSTER_HOME",
    "KPI_CATALOGUE",
    "KPI_DATA_DIR",
    "KPI_DEPLOYMENT_FILE",
    "KPI_DUCKDB_MEMORY_LIMIT",
    "KPI_INGEST_PARALLELISM",
    "KPI_INGEST_RETRY_DELAY",
    "KPI_LANDING_DIR",
    "KPI_LOCK_TIMEOUT",
    "KPI_LOOKBACK_DAYS",
    "KPI_MAX_FIELD_BYTES",
    "KPI_MAX_FILE_ROWS",
    "KPI_NOTIFY_TIMEOUT",
    "KPI_PARTITIONS_START",
    "KPI_PULL",
    "KPI_PULL_TIME",
    "KPI_REPORTING_CURRENCY",
    "KPI_REPORT_BASE_URL",
    "KPI_SCHEDULE_TIME",
    "KPI_SENSOR_LOOKBACK_DAYS",
    "KPI_SENSOR_SETTLE_SECONDS",
    "KPI_SNAPSHOT_DIR",
    "KPI_SOURCES",
    "KPI_SPARK_PORT",
    "KPI_SPARK_STAGING_DIR",
    "KPI_SPARK_THRIFT_AUTH",
    "KPI_SPARK_THRIFT_USER",
    "KPI_SPARK_WAREHOUSE_DIR",
    "KPI_TIMEZONE",
    "KPI_WAREHOUSE",
)
# the pipeline's other variables, which a step process inherits and is never told (nor the
# run's record keeps): secrets and personal data, where alerts and reports go, and what the
# pipeline sets for dbt's process or reads in the `kpi` command alone. Every KPI_ variable
# the package reads is in one of the two lists (tests/orchestration/test_parallel_ingest.py)
INHERITED_ONLY = (
    "KPI_ALERT_EMAIL_TO",
    "KPI_ALERT_WEBHOOK_URL",
    "KPI_DBT_KPIS",
    "KPI_DBT_PARENT_PID",
    "KPI_DBT_TARGET",
    "KPI_DEMO_SCALE",
    "KPI_FAILPOINTS",
    "KPI_OWNER_CONTACTS",
    "KPI_PG_DBNAME",
    "KPI_PG_HOST",
    "KPI_PG_PORT",
    "KPI_PG_USER",
    "KPI_PII_KEY",
    "KPI_REPORT_EMAIL_TO",
    "KPI_REPORT_WEBHOOK_URL",
    "KPI_SMTP_FROM",
    "KPI_SMTP_HOST",
    "KPI_SMTP_PASSWORD",
    "KPI_SMTP_PORT",
    "KPI_SMTP_SSL",
    "KPI_SMTP_STARTTLS",
    "KPI_SMTP_USER",
    "KPI_SPARK_THRIFT_HOST",
    "KPI_SPARK_THRIFT_PASSWORD",
    "KPI_SPARK_THRIFT_PORT",
)


def parse_parallelism(text: str | None, backend: str) -> int:
    """`KPI_INGEST_PARALLELISM` as a number of step processes (None or empty: 1); refused in
    words when it is not a whole number >= 1, or when it is > 1 on DuckDB (one writer
    process)."""
    if text is None or not text.strip():
        return DEFAULT
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{VARIABLE}={text!r} is not a whole number of processes >= 1 "
            f"(1 runs the steps one after the other in the run's process; e.g. {VARIABLE}=2)"
        )
    if value > 1 and backend == "duckdb":
        raise ValueError(
            f"{VARIABLE}={value} asks for parallel ingest, but the DuckDB warehouse takes one "
            f"writer process at a time: unset it or set {VARIABLE}=1 (parallel ingest needs "
            "KPI_WAREHOUSE=postgresql://...)"
        )
    return value


def deployment_environ(environ: Mapping[str, str]) -> dict[str, str | None]:
    """The settings' variables of `environ` (None: unset), the warehouse URL without its
    password: what a step process is told to rebuild the job with, kept in the run's record."""
    chosen: dict[str, str | None] = {name: environ.get(name) for name in DEPLOYMENT_VARIABLES}
    if chosen["KPI_WAREHOUSE"]:
        chosen["KPI_WAREHOUSE"] = url_without_password(chosen["KPI_WAREHOUSE"])
    return chosen


def step_environ(
    told: Mapping[str, str | None], inherited: Mapping[str, str]
) -> dict[str, str | None]:
    """The values a step process sets (None: unsets) so that its environment is the run's:
    `told` (`deployment_environ` of the run's process), keeping the inherited `KPI_WAREHOUSE`
    when it is the same URL with its password (the password is never in `told`)."""
    changes = dict(told)
    inherited_url = inherited.get("KPI_WAREHOUSE")
    if inherited_url and told.get("KPI_WAREHOUSE") == url_without_password(inherited_url):
        changes["KPI_WAREHOUSE"] = inherited_url
    return {k: v for k, v in changes.items() if inherited.get(k) != v}


def daily_job(environ: Mapping[str, str | None]):
    """The daily job, rebuilt in a step process from the run's settings (`reconstructable`)."""
    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.jobs import DAILY_JOB
    from kpi_pipeline.settings import Settings

    changes = step_environ(environ, os.environ)
    preloaded = sys.modules.get(PRELOAD_MODULE)
    if not changes and getattr(preloaded, "DEFINITIONS", None) is not None:
        # the forkserver this process was forked from built them for these very settings
        return preloaded.DEFINITIONS.resolve_job_def(DAILY_JOB)
    # this process runs one step of the run: its environment is the run's
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return build_definitions(Settings.from_env()).resolve_job_def(DAILY_JOB)


def reconstructable_daily_job(environ: Mapping[str, str]):
    """The pointer Dagster's step processes rebuild the daily job from."""
    from dagster import build_reconstructable_job

    return build_reconstructable_job(
        __name__, "daily_job", reconstructable_kwargs={"environ": deployment_environ(environ)}
    )


class GuardedExecutor(Executor):
    """Dagster's multiprocess executor, holding the writer lock in the run's process for the
    whole run (`run_guard.guard_orchestration`)."""

    def __init__(self, inner: Executor, lock_file: str):
        self._inner = inner
        self._lock_file = lock_file

    def execute(self, plan_context, execution_plan) -> Iterator:
        from kpi_pipeline.orchestration.run_guard import guard_orchestration

        with guard_orchestration(
            Path(self._lock_file), plan_context.dagster_run, plan_context.instance
        ):
            yield from self._inner.execute(plan_context, execution_plan)

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config


def parallel_executor(parallelism: int, lock_file: str) -> ExecutorDefinition:
    """At most `parallelism` step processes, started from a forkserver that has imported the
    heavy libraries once; the writer lock `lock_file` held by the run's process."""

    @executor(
        name="kpi_parallel",
        config_schema=multiprocess_executor.config_schema,
        requirements=multiple_process_executor_requirements(),
    )
    def kpi_parallel(init_context):
        inner = multiprocess_executor.executor_creation_fn(init_context)
        return GuardedExecutor(inner, lock_file) if lock_file else inner

    return kpi_parallel.configured(executor_config(parallelism), name="kpi_parallel")


def executor_config(parallelism: int) -> dict:
    """The multiprocess executor's configuration: `parallelism` step processes at most, forked
    from a forkserver that preloads `PRELOAD_MODULE`."""
    return {
        "max_concurrent": parallelism,
        "start_method": {"forkserver": {"preload_modules": [PRELOAD_MODULE]}},
    }


class ForkserverDeployment:
    """The deployment whose environment this process's forkserver keeps.

    Python starts one forkserver per process, at the first step process, and keeps it (with
    its environment) for the process's life. A step process opens the run's Dagster
    instance before anything else, and the event log finds its folder from the environment
    (`DAGSTER_HOME`, `orchestration/event_log.py`): a second deployment's parallel run in
    the same process would have its steps' events written to the first one's. Refused in
    words instead (`kpi run` and the daemon's run workers run one run per process)."""

    def __init__(self) -> None:
        self.settings: dict[str, str | None] | None = None

    def claim(self, environ: Mapping[str, str]) -> None:
        told = deployment_environ(environ)
        if self.settings is None:
            self.settings = told
        elif told != self.settings:
            changed = sorted(k for k in told if told[k] != self.settings[k])
            raise ValueError(
                f"{VARIABLE} > 1: this process already ran steps in processes of their own "
                f"for another deployment ({', '.join(changed)} differ), and its forkserver "
                "keeps that deployment's environment; run this one in a process of its own"
            )


FORKSERVER = ForkserverDeployment()


def needs_persistent_instance(instance: DagsterInstance) -> None:
    """Step processes open the run's instance again: an ephemeral one is refused in words."""
    if instance.is_ephemeral:
        raise ValueError(
            f"{VARIABLE} > 1 runs steps in processes of their own, which need a persistent "
            "Dagster instance (a Dagster home); this run was given an ephemeral one"
        )
