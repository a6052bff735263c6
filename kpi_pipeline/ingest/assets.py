"""Dagster ingest assets: one per landing-zone file, keyed `raw/<table>` like dbt's sources."""

import datetime as dt
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_TABLE, CsvExtract
from kpi_pipeline.ingest.loaders import DayResult, load_csv_day, load_ga4_day
from kpi_pipeline.ingest.pii import pii_key
from kpi_pipeline.orchestration.retries import ingest_retry_policy
from kpi_pipeline.partitions import days_in
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource

INGEST_GROUP = "ingest"


def accounting_metadata(results: list[DayResult]) -> dict[str, MetadataValue]:
    """rows read = rows loaded + rows quarantined, for the run and per day."""
    rows_read = sum(r.rows_read for r in results)
    loaded = sum(r.rows_loaded for r in results)
    quarantined = sum(r.rows_quarantined for r in results)
    per_day = "\n".join(
        f"| {r.day} | {len(r.files)} | {r.rows_read} | {r.rows_loaded} | {r.rows_quarantined} |"
        for r in results
    )
    return {
        "rows_read": MetadataValue.int(rows_read),
        "rows_loaded": MetadataValue.int(loaded),
        "rows_quarantined": MetadataValue.int(quarantined),
        "days_without_extract": MetadataValue.text(
            ", ".join(str(r.day) for r in results if not r.files) or "none"
        ),
        "per_day": MetadataValue.md(
            "| day | files | read | loaded | quarantined |\n|---|---|---|---|---|\n" + per_day
        ),
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_csv_asset(
    extract: CsvExtract, partitions: PartitionsDefinition, settings: Settings
) -> AssetsDefinition:
    @asset(
        name=extract.table,
        key_prefix="raw",
        group_name=INGEST_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            f"`{extract.source}/dt=<day>/{extract.file_name}` loaded into `raw.{extract.table}` "
            "(typed, personal data hashed or dropped; unloadable rows quarantined)."
        ),
        owners=["team:data-engineering"],
        retry_policy=ingest_retry_policy(settings),
        kinds={"polars", "duckdb"},
        metadata={"landing_file": f"{extract.source}/dt=<day>/{extract.file_name}"},
    )
    def _ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        key = pii_key(Path(warehouse.path).parent / ".pii_key")
        loaded_at = _now()
        results = []
        with warehouse.connection() as con:
            for day in days_in(context.partition_keys):
                results.append(
                    load_csv_day(con, extract, settings.landing_dir, day, key, loaded_at)
                )
        return MaterializeResult(metadata=accounting_metadata(results))

    return _ingest


def build_ga4_asset(partitions: PartitionsDefinition, settings: Settings) -> AssetsDefinition:
    @asset(
        name=GA4_TABLE,
        key_prefix="raw",
        group_name=INGEST_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            "GA4's BigQuery export (`ga4/dt=<day>/events_*.json`, newline-delimited JSON) read "
            "with DuckDB's JSON reader into `raw.ga4_events`; events without a user, "
            "timestamp or session id quarantined."
        ),
        owners=["team:data-engineering"],
        retry_policy=ingest_retry_policy(settings),
        kinds={"duckdb"},
        metadata={"landing_file": "ga4/dt=<day>/events_YYYYMMDD.json"},
    )
    def _ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        loaded_at = _now()
        with warehouse.connection() as con:
            results = [
                load_ga4_day(con, settings.landing_dir, day, loaded_at)
                for day in days_in(context.partition_keys)
            ]
        return MaterializeResult(metadata=accounting_metadata(results))

    return _ingest


def ingest_assets(partitions: PartitionsDefinition, settings: Settings) -> list[AssetsDefinition]:
    return [build_csv_asset(e, partitions, settings) for e in CSV_EXTRACTS] + [
        build_ga4_asset(partitions, settings)
    ]
