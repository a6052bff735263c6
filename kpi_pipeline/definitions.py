"""The Dagster definitions: this module only assembles what the stage modules build."""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions, PreviewWarning

from kpi_pipeline.ingest.assets import ingest_assets
from kpi_pipeline.jobs import daily_kpi_job, daily_kpi_schedule
from kpi_pipeline.kpis.availability import deployment_availability
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.kpis.derive import sync as derive_from_catalogue
from kpi_pipeline.kpis.model_columns import refuse_unknown_columns
from kpi_pipeline.notify.failures import build_failure_sensor
from kpi_pipeline.orchestration.asset_metadata import quality_tables, with_kpi_metadata
from kpi_pipeline.orchestration.dbt_docs import build_docs_job, build_docs_sensor
from kpi_pipeline.orchestration.freshness import freshness_checks, with_freshness_policy
from kpi_pipeline.orchestration.landing_sensor import build_landing_sensor
from kpi_pipeline.partitions import daily_partitions
from kpi_pipeline.publish.assets import build_publish_asset
from kpi_pipeline.pull.assets import pull_assets, pull_job, pull_schedule
from kpi_pipeline.quality.checks import quality_checks
from kpi_pipeline.settings import Settings, prepare_deployment
from kpi_pipeline.transform.assets import build_dbt_assets
from kpi_pipeline.transform.manifest import ensure_manifest
from kpi_pipeline.transform.project import DBT_EXECUTABLE, dbt_project
from kpi_pipeline.transform.resource import KpiDbtCliResource
from kpi_pipeline.warehouse import WarehouseResource

# Partitioned checks and single-run backfills are the features this project is built on.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)


def build_definitions(settings: Settings) -> Definitions:
    prepare_deployment(settings)
    derive_from_catalogue(settings.kpi_catalogue_path)  # kpis.yml -> dbt's macros, seeds, metrics
    refuse_unknown_columns(settings.kpi_catalogue_path)  # a typo refused here, not mid-run
    ensure_manifest(dbt_project, DBT_EXECUTABLE, settings.dbt_env())
    partitions = daily_partitions(settings)
    catalogue = load_catalogue(settings.kpi_catalogue_path)
    kpis = deployment_availability(settings.kpi_catalogue_path, settings.deployment)
    job = daily_kpi_job(settings.ingest_parallelism, str(settings.lock_file))
    docs_job = build_docs_job(settings)
    pulls = pull_assets(partitions, settings)  # only the sources deployment.yml pulls
    pulling = pull_job() if pulls else None
    return Definitions(
        assets=[
            *pulls,
            *ingest_assets(partitions, settings),
            with_freshness_policy(build_dbt_assets(dbt_project, partitions, settings), settings),
            with_freshness_policy(
                with_kpi_metadata(build_publish_asset(partitions, settings), catalogue), settings
            ),
            *quality_tables(settings.warehouse_backend),
        ],
        asset_checks=[
            *quality_checks(partitions, settings, list(kpis.available)),
            *freshness_checks(partitions, settings),
        ],
        jobs=[job, docs_job, *([pulling] if pulling else [])],
        schedules=[
            daily_kpi_schedule(job, settings.schedule_time),
            *([pull_schedule(pulling, settings.pull_time)] if pulling else []),
        ],
        sensors=[
            build_landing_sensor(job.name, settings),
            build_docs_sensor(job, docs_job),
            build_failure_sensor(settings),
        ],
        resources={
            "warehouse": WarehouseResource(
                path=settings.warehouse_location, lock_file=str(settings.lock_file)
            ),
            "dbt": KpiDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        },
    )


defs = build_definitions(Settings.from_env())
