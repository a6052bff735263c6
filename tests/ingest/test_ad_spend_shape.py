"""Google Ads (cost or cost in micros) and Meta Ads exports -> the one spend shape."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.settings import DBT_PROJECT_DIR
from kpi_pipeline.transform.project import DBT_EXECUTABLE
from kpi_pipeline.warehouse import connect
from tests.ingest.test_corpus import KEY, LOADED_AT
from tests.ingest.test_deliveries import put

DAY = dt.date(2025, 3, 3)


def test_platform_exports_and_the_flat_extract_share_one_spend_shape(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    put(landing, c.ADS_SPEND, DAY, "spend_duplicate_unknown_column.csv")
    put(landing, c.GOOGLE_ADS, DAY, "google_ads_api_micros.csv")
    put(landing, c.META_ADS, DAY, "meta_ads_currency_in_header.csv")
    with connect(warehouse) as con:
        for extract in (c.ADS_SPEND, c.GOOGLE_ADS, c.META_ADS):
            load_csv_day(con, extract, landing, DAY, KEY, LOADED_AT)
    env = {**os.environ, "KPI_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    run = subprocess.run(
        [DBT_EXECUTABLE, "run", "--select", "stg_ads__spend", "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
         str(tmp_path / "dbt_target"), "--log-path", str(tmp_path / "dbt_logs")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """select spend_date, channel, campaign, spend, currency, impressions, clicks,
                      conversions
               from staging.stg_ads__spend order by channel, campaign"""
        ).fetchall()
    assert rows == [
        # 12,500,000 micros = 12.50; the row without any cost was quarantined
        (DAY, "google_ads", "Brand - FR", Decimal("12.500000"), "USD", 1000, 40, 2.0),
        (DAY, "google_ads", "brand", Decimal("12.500000"), "USD", 1000, 40, None),
        (DAY, "meta_ads", "Spring retarget", Decimal("42.100000"), "EUR", 5000, 120, 4.0),
    ]
