"""Blocking Dagster asset checks: each raw table and the KPI facts against their GX suites."""

import datetime as dt

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    PartitionsDefinition,
    asset_check,
)

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_TABLE
from kpi_pipeline.partitions import days_in
from kpi_pipeline.quality.evidence import check_result
from kpi_pipeline.quality.suites import validate_frame
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource

# Nested GA4 columns are not validated row by row; their typed forms are checked in dbt.
RAW_COLUMNS_SKIPPED = {"event_params", "traffic_source", "geo", "device", "ecommerce"}
FACTS_KEY = AssetKey(["marts", "fct_kpi_daily"])


def _window(days: list[dt.date]) -> tuple[dt.date, dt.date]:
    return days[0], days[-1]


def raw_partition_frames(con, table: str, days: list[dt.date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw rows of the window, and the row count of every day of it (0 when missing)."""
    first, last = _window(days)
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        if name not in RAW_COLUMNS_SKIPPED
    ]
    rows = con.execute(
        f"select {', '.join(columns)} from raw.{table} where _extract_date between ? and ?",
        [first, last],
    ).df()
    volume = con.execute(
        f"""select days.day, count(t._extract_date) as rows
            from (select unnest(?::DATE[]) as day) as days
            left join raw.{table} as t on t._extract_date = days.day
            group by days.day order by days.day""",
        [days],
    ).df()
    return rows, volume


def facts_partition_frames(con, days: list[dt.date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    first, last = _window(days)
    rows = con.execute(
        "select * from marts.fct_kpi_daily where kpi_date between ? and ?", [first, last]
    ).df()
    volume = con.execute(
        """select days.day,
                  count(f.kpi_id) filter (where f.dimension = 'all') as overall_rows
           from (select unnest(?::DATE[]) as day) as days
           left join marts.fct_kpi_daily as f on f.kpi_date = days.day
           group by days.day order by days.day""",
        [days],
    ).df()
    return rows, volume


def build_raw_check(
    table: str, partitions: PartitionsDefinition, settings: Settings
) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(["raw", table]),
        name=f"gx_raw_{table}",
        blocking=True,
        partitions_def=partitions,
        description=(
            f"Great Expectations suites `expectations/raw_{table}.json` (rows) and "
            f"`raw_{table}_volume.json` (rows per day) on the partition's extract."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        with warehouse.connection() as con:
            rows, volume = raw_partition_frames(con, table, days)
        parameters = {"accepted_currencies": [settings.reporting_currency]}
        return check_result(
            [
                validate_frame(f"raw_{table}", rows, parameters),
                validate_frame(f"raw_{table}_volume", volume, parameters),
            ]
        )

    return _check


def build_facts_check(
    partitions: PartitionsDefinition, kpi_ids: list[str]
) -> AssetChecksDefinition:
    @asset_check(
        asset=FACTS_KEY,
        name="gx_fct_kpi_daily",
        blocking=True,
        partitions_def=partitions,
        description=(
            "Great Expectations suites `expectations/fct_kpi_daily.json` (value ranges, ids) "
            "and `fct_kpi_daily_volume.json` (every KPI present every day)."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        with warehouse.connection() as con:
            rows, volume = facts_partition_frames(con, days)
        parameters = {"kpi_ids": kpi_ids, "kpi_count": len(kpi_ids)}
        return check_result(
            [
                validate_frame("fct_kpi_daily", rows, parameters),
                validate_frame("fct_kpi_daily_volume", volume, parameters),
            ]
        )

    return _check


def quality_checks(
    partitions: PartitionsDefinition, settings: Settings, kpi_ids: list[str]
) -> list[AssetChecksDefinition]:
    tables = [e.table for e in CSV_EXTRACTS] + [GA4_TABLE]
    return [build_raw_check(t, partitions, settings) for t in tables] + [
        build_facts_check(partitions, kpi_ids)
    ]
