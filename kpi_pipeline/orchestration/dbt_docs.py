"""dbt's documentation site (models, columns, tests, lineage) for analysts, regenerated after
every successful run of the daily job and by `make docs`."""

import os
import subprocess
import sys
from pathlib import Path

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorDefinition,
    SkipReason,
    job,
    op,
    run_status_sensor,
)

from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings, prepare_deployment
from kpi_pipeline.transform.project import DBT_EXECUTABLE
from kpi_pipeline.warehouse import WarehouseResource

DOCS_JOB = "dbt_docs"
PENDING_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


class DocsError(RuntimeError):
    pass


def dbt_docs_dir(settings: Settings) -> Path:
    """`<data>/dbt_docs/`, beside the warehouse it documents."""
    return settings.artefacts_dir / "dbt_docs"


def generate_dbt_docs(settings: Settings) -> Path:
    """`dbt docs generate --static` into `dbt_docs_dir`; returns the folder. dbt's process
    is given the deployment's warehouse (`Settings.dbt_env`) on top of this environment."""
    prepare_deployment(settings)
    target = dbt_docs_dir(settings)
    done = subprocess.run(
        [
            DBT_EXECUTABLE,
            "docs",
            "generate",
            "--static",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.dbt_env()},
        check=False,
    )
    if done.returncode != 0:
        errors = [line for line in done.stdout.splitlines() if "Error" in line]
        raise DocsError(
            f"dbt docs generate failed: {(errors or done.stdout.splitlines() or ['?'])[-1]}"
        )
    return target


def build_docs_job(settings: Settings) -> JobDefinition:
    @op(description="dbt docs generate --static into <data>/dbt_docs/")
    def generate_docs(context: OpExecutionContext, warehouse: WarehouseResource) -> None:
        # `warehouse` holds the writer lock for the run: dbt opens the DuckDB file, so a
        # `kpi run` (outside Dagster's queue) waits for it instead of colliding
        folder = generate_dbt_docs(settings)
        context.log.info("dbt docs: %s", folder / "static_index.html")

    @job(name=DOCS_JOB, description="Regenerate dbt's documentation site for analysts.")
    def dbt_docs_job() -> None:
        generate_docs()

    return dbt_docs_job


def build_docs_sensor(monitored_job, docs_job: JobDefinition) -> SensorDefinition:
    @run_status_sensor(
        name="dbt_docs_after_success",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[monitored_job],
        request_job=docs_job,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=15,
        description="After each successful daily_kpis run, regenerate the dbt docs.",
    )
    def docs_after_success(context: RunStatusSensorContext) -> RunRequest | SkipReason:
        # Runs go one at a time: a docs run still waiting or running starts (or started)
        # after this run ended, so it already documents this run's data.
        pending = context.instance.get_run_records(
            RunsFilter(job_name=DOCS_JOB, statuses=PENDING_STATUSES), limit=1
        )
        if pending:
            return SkipReason(f"docs run {pending[0].dagster_run.run_id[:8]} is already due")
        return RunRequest(run_key=context.dagster_run.run_id)

    return docs_after_success


def main() -> None:
    """`python -m kpi_pipeline.orchestration.dbt_docs` (what `make docs` runs)."""
    settings = Settings.from_env()
    try:
        folder = generate_dbt_docs(settings)
    except DocsError as err:
        print(f"error: {err}\nhint: build the warehouse first (kpi run / make demo)")
        sys.exit(2)
    print(f"dbt docs: open {folder / 'static_index.html'} in a browser")


if __name__ == "__main__":
    main()
