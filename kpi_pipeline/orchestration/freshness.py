"""Freshness: a check that warns when a source delivered no extract for a day of the run,
and the deadline by which the marts and the snapshot are expected each day (a Dagster
freshness policy, so a late day shows as stale in the UI)."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    FreshnessPolicy,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_FILE_GLOBS, GA4_SOURCE, GA4_TABLE
from kpi_pipeline.ingest.landing import extract_files
from kpi_pipeline.jobs import parse_schedule_time
from kpi_pipeline.partitions import days_in
from kpi_pipeline.quality.attribution import days_metadata
from kpi_pipeline.quality.checks import per_partition
from kpi_pipeline.settings import Settings

FRESHNESS_CHECK = "extract_arrived"
# A source with no file in this many days before the run is not in use (e.g. Salesforce
# where HubSpot is the CRM): its absence is not a warning.
IN_USE_DAYS = 14


@dataclass(frozen=True)
class ExpectedExtract:
    """The files one raw asset loads: `<landing>/<source>/dt=<day>/<patterns>`."""

    asset_key: AssetKey
    source: str
    patterns: tuple[str, ...]

    @property
    def pattern(self) -> str:
        return self.patterns[0]


def expected_extracts() -> list[ExpectedExtract]:
    return [
        ExpectedExtract(AssetKey(["raw", e.table]), e.source, e.file_patterns) for e in CSV_EXTRACTS
    ] + [ExpectedExtract(AssetKey(["raw", GA4_TABLE]), GA4_SOURCE, tuple(GA4_FILE_GLOBS))]


def files_per_day(
    landing: str | Path, extract: ExpectedExtract, days: list[dt.date]
) -> dict[dt.date, list]:
    return {day: extract_files(landing, extract.source, day, extract.patterns) for day in days}


def in_use(landing: str | Path, extract: ExpectedExtract, days: list[dt.date]) -> bool:
    """The source delivered during the run's days or the IN_USE_DAYS before them."""
    before = [days[0] - dt.timedelta(days=n) for n in range(1, IN_USE_DAYS + 1)]
    return any(extract_files(landing, extract.source, d, extract.patterns) for d in days + before)


def freshness_result(
    landing: str | Path, extract: ExpectedExtract, found: dict[dt.date, list]
) -> AssetCheckResult:
    """Passed when every day has at least one file; otherwise a warning naming the days."""
    missing = [day for day, files in found.items() if not files]
    rows = "\n".join(
        f"| {day} | {str(landing).rstrip('/')}/{extract.source}/dt={day}/ | "
        f"{', '.join(f.name for f in files) or '**none**'} |"
        for day, files in found.items()
    )
    return AssetCheckResult(
        passed=not missing,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"no {extract.source} extract ({extract.pattern}) for "
            + ", ".join(str(d) for d in missing)
            + "; deliver it into the day's dt= folder (the sensor picks it up)"
            if missing
            else f"every day has its {extract.source} extract"
        ),
        metadata={
            **days_metadata([d.isoformat() for d in missing]),
            "days_checked": MetadataValue.int(len(found)),
            "days_without_extract": MetadataValue.text(
                ", ".join(str(d) for d in missing) or "none"
            ),
            "evidence": MetadataValue.md("| day | folder | files |\n|---|---|---|\n" + rows),
        },
    )


def build_freshness_check(
    extract: ExpectedExtract, partitions: PartitionsDefinition, settings: Settings
) -> AssetChecksDefinition:
    @asset_check(
        asset=extract.asset_key,
        name=FRESHNESS_CHECK,
        partitions_def=partitions,
        blocking=False,
        description=(
            f"Warns when `{extract.source}/dt=<day>/{extract.pattern}` is missing for a day "
            "of the run (the source delivered no extract)."
        ),
    )
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        landing = settings.landing_url or settings.landing_dir
        if not in_use(landing, extract, days):
            return AssetCheckResult(
                passed=True,
                description=f"{extract.source} delivered nothing in the {IN_USE_DAYS} days "
                "before the run: not in use here",
            )
        return freshness_result(landing, extract, files_per_day(landing, extract, days))

    return _check


def freshness_checks(
    partitions: PartitionsDefinition, settings: Settings
) -> list[AssetChecksDefinition]:
    """A warning per extract of a declared source (deployment.yml) that has not arrived."""
    return [
        per_partition(build_freshness_check(e, partitions, settings))
        for e in expected_extracts()
        if settings.deployment.has(e.source)
    ]


# How long after the daily schedule (KPI_SCHEDULE_TIME) the marts and the snapshot may still
# arrive before the day counts as late: the run itself takes minutes; this leaves room for a
# queue behind other runs, the ingest retries and a re-delivered extract.
DEADLINE_GRACE = dt.timedelta(hours=3)
SNAPSHOT_KEY = AssetKey(["kpi_snapshot"])
MARTS_PREFIX = "marts"


def daily_deadline(schedule_time: str, timezone: str) -> FreshnessPolicy:
    """Expected every day by KPI_SCHEDULE_TIME + DEADLINE_GRACE in KPI_TIMEZONE (06:00 ->
    09:00), materialized since the start of the schedule's day: yesterday's partition exists
    only from midnight, so an update before it cannot be the day's build. Dagster judges
    the asset's latest materialization of any partition (its freshness policies are not
    per partition), and marks the asset stale from the deadline until it is built again."""
    hour, minute = parse_schedule_time(schedule_time)
    since_midnight = dt.timedelta(hours=hour, minutes=minute) + DEADLINE_GRACE
    deadline_minutes = int(since_midnight.total_seconds() // 60) % (24 * 60)
    return FreshnessPolicy.cron(
        deadline_cron=f"{deadline_minutes % 60} {deadline_minutes // 60} * * *",
        lower_bound_delta=since_midnight,
        timezone=timezone,
    )


def is_published_daily(key: AssetKey) -> bool:
    """The assets stakeholders read each day: the marts and the snapshot."""
    return key == SNAPSHOT_KEY or key.path[0] == MARTS_PREFIX


def with_freshness_policy(asset: AssetsDefinition, settings: Settings) -> AssetsDefinition:
    """The same asset(s), the marts and the snapshot among them with the daily deadline."""
    policy = daily_deadline(settings.schedule_time, settings.timezone)
    return asset.map_asset_specs(
        lambda spec: (
            spec.replace_attributes(freshness_policy=policy)
            if is_published_daily(spec.key)
            else spec
        )
    )
