"""The production Dagster ingest assets: row accounting as asset metadata, and a broken
file failing its own source while the other sources load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from dagster import DailyPartitionsDefinition, materialize

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.assets import build_csv_asset
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource
from tests.ingest.test_deliveries import put

DAY = dt.date(2025, 3, 3)


def setup(tmp_path: Path):
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path)})
    partitions = DailyPartitionsDefinition(start_date="2025-03-01", end_offset=1)
    resources = {"warehouse": WarehouseResource(path=str(settings.warehouse_path))}
    return settings, partitions, resources


def test_ingest_assets_record_rows_read_loaded_quarantined_and_fail_alone(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("KPI_PII_KEY", "test-key")
    settings, partitions, resources = setup(tmp_path)
    put(settings.landing_dir, c.NPS_RESPONSES, DAY, "nps_mixed.csv")
    put(settings.landing_dir, c.ORDERS, DAY, "orders_missing_required_column.csv")
    nps = build_csv_asset(c.NPS_RESPONSES, partitions, settings)
    orders = build_csv_asset(c.ORDERS, partitions, settings)

    result = materialize(
        [nps, orders], partition_key=DAY.isoformat(), resources=resources, raise_on_error=False
    )

    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["raw__orders"]
    error = failures[0].event_specific_data.error.cause
    assert error.cls_name == "MissingColumnsError"
    assert "missing required column(s) 'net_amount'" in error.message
    (materialization,) = result.asset_materializations_for_node("raw__nps_responses")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert (meta["rows_read"], meta["rows_loaded"], meta["rows_quarantined"]) == (4, 1, 3)
    assert meta["files_skipped_as_duplicates"] == 0
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.nps_responses").fetchone() == (1,)
