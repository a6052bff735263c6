"""Staging shapes built by dbt from hand-written extracts: Google Ads (cost or cost in
micros) and Meta Ads exports in the one spend shape; orders with several fulfilments."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.settings import DBT_PROJECT_DIR
from kpi_pipeline.transform.project import DBT_EXECUTABLE
from kpi_pipeline.warehouse import connect
from tests.ingest.test_corpus import KEY, LOADED_AT
from tests.ingest.test_deliveries import put

DAY = dt.date(2025, 3, 3)


ORDERS_DAY1 = (
    "order_id,contact_id,placed_at,fulfilled_at,status,net_amount,currency\n"
    # one row per fulfilment, the later one first
    "O-1,7,2025-03-03T09:00:00Z,2025-03-03T18:00:00Z,fulfilled,30,USD\n"
    "O-1,7,2025-03-03T09:00:00Z,2025-03-03T12:00:00Z,fulfilled,30,USD\n"
    "O-2,8,2025-03-03T10:00:00Z,,placed,10,USD\n"
)
ORDERS_DAY2 = (
    "order_id,contact_id,placed_at,fulfilled_at,status,net_amount,currency\n"
    # O-2 fulfilled twice on day 2; O-1 changes again (cancelled) and lists one fulfilment
    "O-2,8,2025-03-03T10:00:00Z,2025-03-04T09:00:00Z,fulfilled,10,USD\n"
    "O-2,8,2025-03-03T10:00:00Z,2025-03-04T08:00:00Z,fulfilled,10,USD\n"
    "O-1,7,2025-03-03T09:00:00Z,2025-03-03T18:00:00Z,cancelled,30,USD\n"
)


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("staging")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    put(landing, c.ADS_SPEND, DAY, "spend_duplicate_unknown_column.csv")
    put(landing, c.GOOGLE_ADS, DAY, "google_ads_api_micros.csv")
    put(landing, c.META_ADS, DAY, "meta_ads_currency_in_header.csv")
    for day, text in ((DAY, ORDERS_DAY1), (DAY + dt.timedelta(days=1), ORDERS_DAY2)):
        folder = landing / "orders" / f"dt={day}"
        folder.mkdir(parents=True)
        (folder / "orders.csv").write_text(text)
    with connect(warehouse) as con:
        for extract in (c.ADS_SPEND, c.GOOGLE_ADS, c.META_ADS):
            load_csv_day(con, extract, landing, DAY, KEY, LOADED_AT)
        for day in (DAY, DAY + dt.timedelta(days=1)):
            load_csv_day(con, c.ORDERS, landing, day, KEY, LOADED_AT)
    env = {**os.environ, "KPI_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    run = subprocess.run(
        [DBT_EXECUTABLE, "run", "--select", "stg_ads__spend", "int_orders__orders",
         "stg_orders__orders", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(root / "dbt_target"), "--log-path",
         str(root / "dbt_logs")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    return warehouse


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def test_platform_exports_and_the_flat_extract_share_one_spend_shape(staged: Path) -> None:
    rows = query(
        staged,
        """select spend_date, channel, campaign, spend, currency, impressions, clicks,
                  conversions
           from staging.stg_ads__spend order by channel, campaign""",
    )
    assert rows == [
        # 12,500,000 micros = 12.50; the row without any cost was quarantined
        (DAY, "google_ads", "Brand - FR", Decimal("12.500000"), "USD", 1000, 40, 2.0),
        (DAY, "google_ads", "brand", Decimal("12.500000"), "USD", 1000, 40, None),
        (DAY, "meta_ads", "Spring retarget", Decimal("42.100000"), "EUR", 5000, 120, 4.0),
    ]


def test_an_order_with_several_fulfilments_is_processed_at_the_first(staged: Path) -> None:
    rows = query(
        staged,
        "select order_id, fulfilled_at, order_status from intermediate.int_orders__orders "
        "order by order_id",
    )
    utc = dt.UTC
    assert rows == [
        ("O-1", dt.datetime(2025, 3, 3, 12, 0, tzinfo=utc), "cancelled"),
        ("O-2", dt.datetime(2025, 3, 4, 8, 0, tzinfo=utc), "fulfilled"),
    ]
