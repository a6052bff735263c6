"""The landing zone as an fsspec URL: fsspec's in-memory filesystem stands in for an
object store; the same loaders and Dagster assets read it."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid

import duckdb
import fsspec
import pytest
from dagster import DailyPartitionsDefinition, materialize

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.assets import build_csv_asset, build_ga4_asset
from kpi_pipeline.ingest.loaders import load_csv_day, load_ga4_day
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource
from tests.ingest.test_corpus import CORPUS, KEY, LOADED_AT
from tests.landing_files import ga4_event

DAY = dt.date(2025, 3, 3)


@pytest.fixture
def memory_landing():
    url = f"memory://landing-{uuid.uuid4().hex}"
    fs, root = fsspec.core.url_to_fs(url)
    orders = (CORPUS / "orders_bom.csv").read_bytes()
    fs.pipe(f"{root}/orders/dt={DAY}/orders.csv.gz", gzip.compress(orders, mtime=0))
    events = [ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 11)] * 2
    fs.pipe(
        f"{root}/ga4/dt={DAY}/events_20250303.json",
        "".join(json.dumps(e) + "\n" for e in events).encode(),
    )
    yield url, root
    fs.rm(root, recursive=True)


def test_loaders_read_an_in_memory_landing_zone(memory_landing) -> None:
    url, root = memory_landing
    con = duckdb.connect()
    orders = load_csv_day(con, c.ORDERS, url, DAY, KEY, LOADED_AT)
    events = load_ga4_day(con, url, DAY, LOADED_AT)
    assert (orders.rows_loaded, events.rows_loaded) == (2, 2)
    assert orders.files == [f"memory://{root}/orders/dt={DAY}/orders.csv.gz"]
    assert con.execute("select distinct _source_file from raw.ga4_events").fetchall() == [
        (f"memory://{root}/ga4/dt={DAY}/events_20250303.json",)
    ]
    assert load_csv_day(con, c.NPS_RESPONSES, url, DAY, KEY, LOADED_AT).files == []


def test_dagster_ingest_assets_take_the_landing_zone_url(memory_landing, tmp_path) -> None:
    url, _ = memory_landing
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path), "KPI_LANDING_DIR": url})
    assert settings.landing_url == url
    partitions = DailyPartitionsDefinition(start_date="2025-03-01", end_offset=1)
    result = materialize(
        [build_csv_asset(c.ORDERS, partitions, settings), build_ga4_asset(partitions, settings)],
        partition_key=DAY.isoformat(),
        resources={"warehouse": WarehouseResource(path=str(settings.warehouse_path))},
    )
    assert result.success
    for node, loaded in (("raw__orders", 2), ("raw__ga4_events", 2)):
        (event,) = result.asset_materializations_for_node(node)
        assert event.metadata["rows_loaded"].value == loaded
