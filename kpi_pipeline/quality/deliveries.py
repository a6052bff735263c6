"""Every source the deployment declares delivered a file for each day of the run: a day
without one gets a message that says which extract and where it was looked for, in place
of a row-count expectation's wording."""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)

from kpi_pipeline.deployment import ALWAYS_REQUIRED, GROUPS, Deployment
from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_FILE_GLOBS, GA4_SOURCE
from kpi_pipeline.partitions import days_in
from kpi_pipeline.quality.attribution import days_metadata
from kpi_pipeline.quality.config import QualityConfig, load_quality_config
from kpi_pipeline.quality.suites import ERROR, WARN
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource

FACTS_KEY = AssetKey(["marts", "fct_kpi_daily"])


@dataclass(frozen=True)
class Requirement:
    """A day needs a file of one of `sources` (one source, or a group such as the CRM)."""

    label: str
    sources: tuple[str, ...]


def requirements(deployment: Deployment) -> list[Requirement]:
    """Each declared source on its own; with `all`, the CRM from either of its sources."""
    grouped = (
        {s for members in GROUPS.values() for s in members} if deployment.everything else set()
    )
    needs = [Requirement(s, (s,)) for s in sorted(deployment.sources - grouped)]
    if deployment.everything:
        needs += [Requirement(name, members) for name, members in sorted(GROUPS.items())]
    return needs


def severity(need: Requirement, deployment: Deployment, config: QualityConfig) -> str:
    """quality.yml `missing_extract`; with `all`, only GA4, orders and ad spend block."""
    if deployment.everything and need.label not in ALWAYS_REQUIRED:
        return WARN
    return config.missing_extract_severity(need.label)


def file_patterns(source: str) -> list[str]:
    if source == GA4_SOURCE:
        return list(GA4_FILE_GLOBS)
    return [p for e in CSV_EXTRACTS if e.source == source for p in e.file_patterns]


def missing_message(day: dt.date, need: Requirement) -> str:
    looked = ", ".join(
        f"{s}/dt={day}/{'{' + ','.join(file_patterns(s)) + '}'}" for s in need.sources
    )
    return f"no {need.label} extract for {day} (looked for {looked})"


def delivered(con, first: dt.date, last: dt.date) -> dict[str, set[dt.date]]:
    """The extract days each source delivered at least one file for (the ingest log)."""
    found: dict[str, set[dt.date]] = {}
    rows = con.execute(
        "select distinct source, _extract_date from raw._ingest_log "
        "where _extract_date between ? and ?",
        [first, last],
    ).fetchall()
    for source, day in rows:
        found.setdefault(source, set()).add(day)
    return found


def missing_days(
    needs: Iterable[Requirement], got: Mapping[str, set[dt.date]], days: list[dt.date]
) -> list[tuple[dt.date, Requirement]]:
    return [
        (day, need)
        for day in days
        for need in needs
        if not any(day in got.get(s, set()) for s in need.sources)
    ]


def build_delivery_check(
    partitions: PartitionsDefinition, settings: Settings
) -> AssetChecksDefinition:
    config = load_quality_config()
    needs = requirements(settings.deployment)

    @asset_check(
        asset=FACTS_KEY,
        name="extracts_delivered",
        blocking=True,
        partitions_def=partitions,
        description=(
            "Every source this deployment declares (deployment.yml / KPI_SOURCES) delivered "
            "a file for each day: "
            + ", ".join(n.label for n in needs)
            + ". Severity per source: quality.yml `missing_extract`."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        with warehouse.connection() as con:
            got = delivered(con, days[0], days[-1])
        missing = missing_days(needs, got, days)
        errors = [(d, n) for d, n in missing if severity(n, settings.deployment, config) == ERROR]
        return AssetCheckResult(
            passed=not missing,
            severity=AssetCheckSeverity.ERROR if errors else AssetCheckSeverity.WARN,
            description="; ".join(missing_message(d, n) for d, n in missing)[:1000]
            or "every declared source delivered every day",
            metadata={
                **days_metadata(sorted({d.isoformat() for d, _ in missing}) if missing else []),
                "required": MetadataValue.text(", ".join(n.label for n in needs)),
            },
        )

    return _check
