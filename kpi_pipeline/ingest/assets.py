"""Dagster ingest assets: one per landing-zone file, keyed `raw/<table>` like dbt's sources."""

import datetime as dt
from collections.abc import Callable

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from kpi_pipeline.ingest.contracts import (
    CSV_EXTRACTS,
    GA4_FILE_GLOBS,
    GA4_SOURCE,
    GA4_TABLE,
    CsvExtract,
)
from kpi_pipeline.ingest.landing import LandingFile, extract_files
from kpi_pipeline.ingest.late_data import csv_checksum, day_changed, ga4_checksum, lookback_days
from kpi_pipeline.ingest.loaders import (
    DayResult,
    load_csv_day,
    load_ga4_day,
    prepare_csv_table,
    prepare_ga4_table,
)
from kpi_pipeline.ingest.pii import pii_key
from kpi_pipeline.orchestration.retries import contract_errors_not_retried, ingest_retry_policy
from kpi_pipeline.partitions import days_in
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource

INGEST_GROUP = "ingest"


def accounting_metadata(
    results: list[DayResult], late_days: list[dt.date] | None = None
) -> dict[str, MetadataValue]:
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
        "files_skipped_as_duplicates": MetadataValue.int(
            sum(len(r.duplicates_skipped) for r in results)
        ),
        "lookback_days_reloaded": MetadataValue.text(
            ", ".join(str(d) for d in late_days or []) or "none"
        ),
        "days_without_extract": MetadataValue.text(
            ", ".join(str(r.day) for r in results if not r.files) or "none"
        ),
        "per_day": MetadataValue.md(
            "| day | files | read | loaded | quarantined |\n|---|---|---|---|---|\n" + per_day
        ),
    }


def not_declared(
    context: AssetExecutionContext, source: str, settings: Settings
) -> MaterializeResult:
    """A source the deployment does not have: its raw table exists, empty of new rows, so
    the models still build; nothing is read from the landing zone."""
    context.log.info(
        "%s is not a source of this deployment (%s): nothing read",
        source,
        settings.deployment.origin,
    )
    return MaterializeResult(metadata={"declared": MetadataValue.bool(False)})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def days_to_load(
    con,
    table: str,
    partition_days: list[dt.date],
    settings: Settings,
    files_of: Callable[[dt.date], list[LandingFile]],
    checksum: Callable[[LandingFile], str],
) -> tuple[list[dt.date], list[dt.date]]:
    """The run's days, plus the lookback days whose files changed since they were loaded
    (late deliveries); returns (days to load, lookback days among them)."""
    late = [
        day
        for day in lookback_days(partition_days, settings.lookback_days)
        if day not in partition_days and day_changed(con, table, day, files_of(day), checksum)
    ]
    return late + partition_days, late


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
        kinds={"polars", settings.warehouse_backend},
        metadata={"landing_file": f"{extract.source}/dt=<day>/{extract.file_name}"},
        # a pulled source's files come from its pull asset (kpi_pipeline/pull/assets.py)
        deps=[AssetKey(["pull", extract.source])]
        if extract.source in settings.deployment.pulled
        else None,
    )
    @contract_errors_not_retried
    def _ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        key = pii_key(settings.artefacts_dir / ".pii_key")
        landing = settings.landing_url or settings.landing_dir
        loaded_at = _now()
        with warehouse.connection() as con:
            prepare_csv_table(con, extract)
            if not settings.deployment.has(extract.source):
                return not_declared(context, extract.source, settings)
            days, late = days_to_load(
                con,
                extract.table,
                days_in(context.partition_keys),
                settings,
                lambda d: extract_files(landing, extract.source, d, extract.file_patterns),
                csv_checksum,
            )
            results = [
                load_csv_day(con, extract, landing, day, key, loaded_at, prepared=True)
                for day in days
            ]
        return MaterializeResult(metadata=accounting_metadata(results, late))

    return _ingest


def build_ga4_asset(partitions: PartitionsDefinition, settings: Settings) -> AssetsDefinition:
    @asset(
        name=GA4_TABLE,
        key_prefix="raw",
        group_name=INGEST_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            "GA4's BigQuery export (`ga4/dt=<day>/events_*.json[.gz]` or `.parquet`, daily and "
            "intraday tables) read with DuckDB into `raw.ga4_events` (nested records as JSONB "
            "on PostgreSQL); events without a user, "
            "timestamp or session id quarantined."
        ),
        owners=["team:data-engineering"],
        retry_policy=ingest_retry_policy(settings),
        kinds={"duckdb", settings.warehouse_backend},  # DuckDB reads the files
        metadata={"landing_file": "ga4/dt=<day>/events_YYYYMMDD.json"},
    )
    @contract_errors_not_retried
    def _ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        landing = settings.landing_url or settings.landing_dir
        loaded_at = _now()
        with warehouse.connection() as con:
            prepare_ga4_table(con)
            if not settings.deployment.has(GA4_SOURCE):
                return not_declared(context, GA4_SOURCE, settings)
            days, late = days_to_load(
                con,
                GA4_TABLE,
                days_in(context.partition_keys),
                settings,
                lambda d: extract_files(landing, GA4_SOURCE, d, GA4_FILE_GLOBS),
                ga4_checksum,
            )
            results = [load_ga4_day(con, landing, day, loaded_at, prepared=True) for day in days]
        return MaterializeResult(metadata=accounting_metadata(results, late))

    return _ingest


def ingest_assets(partitions: PartitionsDefinition, settings: Settings) -> list[AssetsDefinition]:
    return [build_csv_asset(e, partitions, settings) for e in CSV_EXTRACTS] + [
        build_ga4_asset(partitions, settings)
    ]
