"""The job that builds a day (or a range of days) from ingest to publish, and its schedule."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    JobDefinition,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

DAILY_JOB = "daily_kpis"


def daily_kpi_job() -> UnresolvedAssetJobDefinition:
    """Every asset; partitioned like them (Dagster infers the daily partitions)."""
    return define_asset_job(
        DAILY_JOB,
        selection=AssetSelection.all(),
        description="Ingest the day's extracts, transform with dbt, gate, publish the snapshot.",
    )


def daily_kpi_schedule(job: UnresolvedAssetJobDefinition | JobDefinition) -> ScheduleDefinition:
    """Yesterday's partition, every morning at 06:00 in the partitions' (reporting) timezone."""
    return build_schedule_from_partitioned_job(job, hour_of_day=6, minute_of_hour=0)
