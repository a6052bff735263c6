"""Late data: a run looks back KPI_LOOKBACK_DAYS days, reloads the extract days whose
files changed since they were loaded, and dbt restates the facts of those days."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DailyPartitionsDefinition, materialize

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.assets import build_csv_asset
from kpi_pipeline.ingest.late_data import lookback_days
from kpi_pipeline.partitions import dbt_window
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource
from tests.ingest.test_deliveries import put
from tests.landing_files import ga4_event, write_csv, write_ga4

D1, D2, D3, D4 = (dt.date(2025, 3, d) for d in (3, 4, 5, 6))


def test_lookback_days_and_the_dbt_window() -> None:
    assert lookback_days([D4], 3) == [D1, D2, D3]
    assert lookback_days([D4, dt.date(2025, 3, 7)], 0) == []
    assert dbt_window(D4, D4, 3)["min_date"] == "2025-03-03"
    assert dbt_window(D4, D4, 3)["max_date"] == "2025-03-07"
    assert Settings.from_env({}).lookback_days == 3
    assert Settings.from_env({"KPI_LOOKBACK_DAYS": "0"}).lookback_days == 0
    with pytest.raises(ValueError, match="KPI_LOOKBACK_DAYS='-1' is not a whole number"):
        Settings.from_env({"KPI_LOOKBACK_DAYS": "-1"})


def test_a_run_reloads_only_lookback_days_whose_files_changed(tmp_path: Path) -> None:
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path), "KPI_PII_KEY": "k"})
    partitions = DailyPartitionsDefinition(start_date="2025-03-01", end_offset=1)
    asset = build_csv_asset(c.NPS_RESPONSES, partitions, settings)
    resources = {"warehouse": WarehouseResource(path=str(settings.warehouse_path))}

    def run(day: dt.date) -> dict:
        result = materialize([asset], partition_key=day.isoformat(), resources=resources)
        (event,) = result.asset_materializations_for_node("raw__nps_responses")
        return {k: v.value for k, v in event.metadata.items()}

    landing = settings.landing_dir
    put(landing, c.NPS_RESPONSES, D1, "nps_mixed.csv")
    put(landing, c.NPS_RESPONSES, D2, "nps_decimal_score.csv")
    assert run(D1)["rows_read"] == 4
    assert run(D2)["lookback_days_reloaded"] == "none"  # D1 unchanged

    # a corrected D1 extract arrives late; D2's files are removed by retention
    put(landing, c.NPS_RESPONSES, D1, "nps_quoted_newlines.csv")
    (landing / "nps" / f"dt={D2}" / "responses.csv").unlink()
    meta = run(D3)
    assert meta["lookback_days_reloaded"] == "2025-03-03"
    assert (meta["rows_read"], meta["rows_loaded"], meta["rows_quarantined"]) == (2, 1, 1)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "select _extract_date, response_id from raw.nps_responses order by all"
        ).fetchall() == [(D1, "R-1")]
        # D2 was not wiped although its file is gone: its load stays as logged
        assert con.execute(
            "select _extract_date, rows_read from raw._ingest_log order by all"
        ).fetchall() == [(D1, 2), (D2, 1)]


def sessions(warehouse: Path, day: dt.date) -> tuple[int, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            """select numerator, denominator from marts.fct_kpi_daily
               where kpi_date = ? and kpi_id = 'session_conversion_rate' and dimension = 'all'""",
            [day],
        ).fetchone()


def write_required_extracts(landing: Path, day: dt.date) -> None:
    """Spend and orders every day (their volume checks block an empty day)."""
    write_csv(
        landing, "ads", "spend.csv", day, [[str(day), "google_ads", "brand", "5", "USD", 1, 1]]
    )
    write_csv(
        landing,
        "orders",
        "orders.csv",
        day,
        [[f"O-{day.day}", 1, f"{day}T08:00:00Z", "", "placed", "10", "USD"]],
    )


@pytest.mark.e2e
def test_a_restated_ga4_day_restates_its_facts(deployment) -> None:
    write_required_extracts(deployment.landing, D1)
    write_required_extracts(deployment.landing, D2)
    # D1 arrives as an intraday table: one session, no purchase
    (deployment.landing / "ga4" / f"dt={D1}").mkdir(parents=True)
    intraday = deployment.landing / "ga4" / f"dt={D1}" / "events_intraday_20250303.json"
    intraday.write_text(json.dumps(ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 1)) + "\n")
    report = deployment.run(D1)
    assert report.success, report.reason()
    assert sessions(deployment.warehouse, D1) == (0, 1)
    published = (deployment.snapshots / D1.isoformat() / "latest" / "kpis.csv").read_bytes()

    # D2's delivery holds D1's daily table (one more session, which purchased) and D2's own
    write_ga4(
        deployment.landing,
        D2,
        [
            ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 1),
            ga4_event("2025-03-03T21:00:00Z", "page_view", "u2", 2),
            ga4_event("2025-03-03T21:05:00Z", "purchase", "u2", 2, transaction_id="O-9",
                      revenue=10.0),
        ],
    )  # fmt: skip
    (deployment.landing / "ga4" / f"dt={D2}" / "events_20250303.json").write_bytes(
        (deployment.landing / "ga4" / f"dt={D2}" / "events_20250304.json").read_bytes()
    )
    (deployment.landing / "ga4" / f"dt={D2}" / "events_20250304.json").write_text(
        json.dumps(ga4_event("2025-03-04T09:00:00Z", "page_view", "u3", 3)) + "\n"
    )
    report = deployment.run(D2)
    assert report.success, report.reason()
    assert sessions(deployment.warehouse, D2) == (0, 1)
    assert sessions(deployment.warehouse, D1) == (1, 2)  # restated
    # D1's published version is never rewritten: the restated day is published as v2
    day1 = deployment.snapshots / D1.isoformat()
    assert (day1 / "v1" / "kpis.csv").read_bytes() == published
    assert (day1 / "latest").resolve() == day1 / "v2"
    restated = pl.read_parquet(day1 / "v2" / "kpis.parquet").filter(
        (pl.col("kpi_id") == "session_conversion_rate") & (pl.col("dimension") == "all")
    )
    assert restated.select("numerator", "denominator").row(0) == (1, 2)
