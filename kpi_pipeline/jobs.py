"""The job that builds a day (or a range of days) from ingest to publish, and its schedule."""

from __future__ import annotations

import re

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)

from kpi_pipeline.orchestration.parallel_ingest import parallel_executor

DAILY_JOB = "daily_kpis"
DAILY_SCHEDULE = "daily_kpis_schedule"
PULL_GROUP = "pull"  # the assets that fetch extracts from the tools' APIs: their own job
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleTimeError(ValueError):
    pass


def parse_schedule_time(text: str, variable: str = "KPI_SCHEDULE_TIME") -> tuple[int, int]:
    """`KPI_SCHEDULE_TIME` (or `variable`) as (hour, minute); `06:00` -> (6, 0)."""
    match = _TIME.match(text.strip())
    if not match:
        raise ScheduleTimeError(
            f"{variable} '{text}' is not a time of day; use HH:MM (24 h), e.g. 06:00"
        )
    return int(match.group(1)), int(match.group(2))


def daily_kpi_job(parallelism: int = 1, lock_file: str = ""):
    """Every asset but the pulls (their own job: `kpi_pipeline/pull/assets.py`); partitioned
    like them (Dagster infers the daily partitions). What `define_asset_job` returns: a job
    Dagster resolves against the Definitions' assets (its class,
    `UnresolvedAssetJobDefinition`, is not part of Dagster's public API).

    With `parallelism` 1, steps run one after the other in the run's process (DuckDB takes
    one writer process at a time); above, at most `parallelism` steps at once, each in a
    process of its own, the writer lock `lock_file` held by the run's process
    (`orchestration/parallel_ingest.py`, `KPI_INGEST_PARALLELISM`).
    """
    return define_asset_job(
        DAILY_JOB,
        selection=AssetSelection.all() - AssetSelection.groups(PULL_GROUP),
        executor_def=in_process_executor
        if parallelism == 1
        else parallel_executor(parallelism, lock_file),
        description="Ingest the day's extracts, transform with dbt, gate, publish the snapshot.",
    )


def daily_kpi_schedule(
    job,
    schedule_time: str = "06:00",
    running: bool = True,
) -> ScheduleDefinition:
    """Yesterday's partition of `job` (`daily_kpi_job()`, or a `JobDefinition`), every day
    at `schedule_time` in the partitions' (reporting) timezone: the schedule's cron runs in
    that timezone, and a day ends at its midnight."""
    hour, minute = parse_schedule_time(schedule_time)
    return build_schedule_from_partitioned_job(
        job,
        name=DAILY_SCHEDULE,
        hour_of_day=hour,
        minute_of_hour=minute,
        description=f"Builds yesterday's partition every day at {hour:02d}:{minute:02d} "
        "(reporting timezone, KPI_SCHEDULE_TIME / KPI_TIMEZONE).",
        default_status=DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED,
    )
