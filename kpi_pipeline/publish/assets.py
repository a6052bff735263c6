"""The publish asset: after every blocking check passed, each day of the run gets its snapshot."""

import datetime as dt
import subprocess
from typing import Any

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DagsterEventType,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.partitions import days_in
from kpi_pipeline.publish.snapshot import publish_snapshot, snapshot_frame
from kpi_pipeline.quality.checks import FACTS_KEY
from kpi_pipeline.settings import PROJECT_ROOT, Settings
from kpi_pipeline.warehouse import WarehouseResource, query_polars

PUBLISH_GROUP = "publish"


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def run_check_results(context: AssetExecutionContext) -> list[dict[str, Any]]:
    """Every asset check evaluated in this run (GX suites and dbt tests), for the manifest."""
    results = []
    for entry in context.instance.all_logs(
        context.run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ):
        evaluation = entry.dagster_event.event_specific_data
        results.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "passed": evaluation.passed,
                "severity": evaluation.severity.value,
                "description": evaluation.description,
            }
        )
    return sorted(results, key=lambda r: (r["asset"], r["check"]))


def read_facts(con, day: dt.date) -> pl.DataFrame:
    return query_polars(con, "select * from marts.fct_kpi_daily where kpi_date = ?", [day])


def build_publish_asset(partitions: PartitionsDefinition, settings: Settings) -> AssetsDefinition:
    @asset(
        name="kpi_snapshot",
        group_name=PUBLISH_GROUP,
        deps=[FACTS_KEY],
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            "The day's KPI snapshot for stakeholders: `<snapshots>/<day>/` with kpis.parquet, "
            "kpis.csv and manifest.json, written aside then renamed; never overwritten. Runs "
            "only when every blocking check upstream passed."
        ),
        owners=["team:data-engineering"],
        kinds={"parquet", "csv"},
    )
    def _publish(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        catalogue = load_catalogue(settings.kpi_catalogue_path)
        checks = run_check_results(context)
        warnings = [c for c in checks if not c["passed"]]
        base_manifest = {
            "run_id": context.run.run_id,
            "published_at": dt.datetime.now(dt.UTC).isoformat(),
            "git_commit": git_commit(),
            "timezone": settings.timezone,
            "reporting_currency": settings.reporting_currency,
            "checks": checks,
            "warnings": warnings,
        }
        outcomes = []
        with warehouse.connection() as con:
            frames = {day: read_facts(con, day) for day in days_in(context.partition_keys)}
        for day, facts in frames.items():
            if facts.is_empty():
                raise RuntimeError(
                    f"no KPI facts for {day}: nothing to publish (was the day's data ingested?)"
                )
            outcome = publish_snapshot(
                settings.snapshot_dir, day, snapshot_frame(facts, catalogue), base_manifest
            )
            context.log.info("%s snapshot %s: %s", outcome.outcome, day, outcome.folder)
            outcomes.append(outcome)
        return MaterializeResult(
            metadata={
                "snapshots": MetadataValue.md(
                    "| day | outcome | folder | rows | checksum |\n|---|---|---|---|---|\n"
                    + "\n".join(
                        f"| {o.day} | {o.outcome} | {o.folder} | {o.rows} "
                        f"| {o.data_checksum[:12]} |"
                        for o in outcomes
                    )
                ),
                "published": MetadataValue.int(sum(o.outcome == "published" for o in outcomes)),
                "unchanged": MetadataValue.int(sum(o.outcome == "unchanged" for o in outcomes)),
                "warnings": MetadataValue.int(len(warnings)),
                "latest_folder": MetadataValue.path(str(outcomes[-1].folder)),
            }
        )

    return _publish
