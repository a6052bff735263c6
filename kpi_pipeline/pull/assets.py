"""The pull assets (`pull/<source>`), their job and its schedule.

A declared, pulled source (deployment.yml `pull:` / `KPI_PULL`) has an asset that lands
the day's changed records in the landing zone; its ingest asset depends on it. The pulls
run in their own job, `crm_pull`, scheduled at `KPI_PULL_TIME` (default 05:00, before the
daily job's `KPI_SCHEDULE_TIME`); the files they land are what the landing-zone sensor
sees, so the day's `daily_kpis` run follows. A pull never touches the warehouse.
"""

import datetime as dt
import os

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    ScheduleDefinition,
    asset,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)

from kpi_pipeline.jobs import PULL_GROUP, parse_schedule_time
from kpi_pipeline.partitions import days_in
from kpi_pipeline.pull.cursor import CursorStore
from kpi_pipeline.pull.day import pull_day
from kpi_pipeline.pull.errors import PullError
from kpi_pipeline.settings import Settings

PULL_JOB = "crm_pull"
PULL_SCHEDULE = "crm_pull_schedule"


def pull_days(source: str, days: list[dt.date], settings: Settings) -> list:
    """Pull `days` of `source` in order, each landing its files then moving the cursor;
    the first failure stops (the days before it stay landed)."""
    cursors = CursorStore(settings.pull_cursor_file)
    return [
        pull_day(
            source,
            day,
            landing=settings.landing_url or str(settings.landing_dir),
            timezone=settings.timezone,
            cursors=cursors,
            env=os.environ,
            now=dt.datetime.now(dt.UTC),
        )
        for day in days
    ]


def build_pull_asset(
    source: str, partitions: PartitionsDefinition, settings: Settings
) -> AssetsDefinition:
    @asset(
        name=source,
        key_prefix="pull",
        group_name=PULL_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            f"The day's changed {source} records fetched from its API and landed as "
            f"`{source}/dt=<day>/*.jsonl` with `_pull_manifest.json` (docs/pull.md)."
        ),
        owners=["team:data-engineering"],
        kinds={"api", "json"},
    )
    def _pull(context: AssetExecutionContext) -> MaterializeResult:
        try:
            results = pull_days(source, days_in(context.partition_keys), settings)
        except PullError as err:  # said in the user's words, never with a token
            raise Failure(description=str(err), allow_retries=False) from None
        for result in results:
            context.log.info(result.summary())
        return MaterializeResult(
            metadata={
                "api_calls": MetadataValue.int(sum(r.api_calls for r in results)),
                "days": MetadataValue.md(
                    "| day | window | records | API calls |\n|---|---|---|---|\n"
                    + "\n".join(
                        f"| {r.day} | {r.window.as_dict()['from']} - {r.window.as_dict()['to']} "
                        f"| {', '.join(f'{n} {k}' for k, n in r.records.items())} "
                        f"| {r.api_calls} |"
                        for r in results
                    )
                ),
                "cursor": MetadataValue.text(results[-1].cursor.isoformat() if results else ""),
            }
        )

    return _pull


def pull_assets(partitions: PartitionsDefinition, settings: Settings) -> list[AssetsDefinition]:
    return [build_pull_asset(s, partitions, settings) for s in sorted(settings.deployment.pulled)]


def pull_job():
    return define_asset_job(
        PULL_JOB,
        selection=AssetSelection.groups(PULL_GROUP),
        executor_def=in_process_executor,
        description="Fetch the day's changed CRM records from their APIs into the landing zone.",
    )


def pull_schedule(job, pull_time: str = "05:00") -> ScheduleDefinition:
    """Yesterday's pulls every day at `pull_time` (reporting timezone), before the daily job."""
    hour, minute = parse_schedule_time(pull_time, "KPI_PULL_TIME")
    return build_schedule_from_partitioned_job(
        job,
        name=PULL_SCHEDULE,
        hour_of_day=hour,
        minute_of_hour=minute,
        description=f"Pulls yesterday's CRM changes every day at {hour:02d}:{minute:02d} "
        "(KPI_PULL_TIME, reporting timezone); the landing sensor then runs the day.",
        default_status=DefaultScheduleStatus.RUNNING,
    )
