"""Ad spend may arrive through any ad export (the flat spend.csv, Google Ads, Meta Ads): a
deployment sending only the platforms' own exports publishes every day, with the same KPIs;
a day with no ad export at all is blocked."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kpi_pipeline.quality.source_groups import group_volume
from tests.landing_files import folder
from tests.test_hand_worked_kpis import DAY1, DAY2, overall, read_snapshot, write_day1, write_day2

pytestmark = pytest.mark.e2e


def write_platform_exports(landing, day: dt.date) -> None:
    """Day 1's spend (google_ads spring_sale 30, meta_ads brand 20) as the platforms
    export it, instead of spend.csv."""
    ads = folder(landing, "ads", day)
    (ads / "spend.csv").unlink()
    (ads / "google_ads.csv").write_text(
        f"Day,Campaign,Currency code,Cost,Impressions,Clicks\n{day},spring_sale,USD,30.00,1000,40\n"
    )
    (ads / "meta_ads.csv").write_text(
        "Day,Campaign name,Amount spent,Currency,Impressions,Link clicks\n"
        f"{day},brand,20.00,USD,2000,30\n"
    )


def test_platform_exports_alone_publish_and_no_ad_export_blocks(deployment) -> None:
    write_day1(deployment.landing)
    write_platform_exports(deployment.landing, DAY1)
    report = deployment.run(DAY1)
    assert report.success, report.reason()
    kpis = overall(read_snapshot(deployment, DAY1))
    # the same figures as spend.csv gives (tests/test_hand_worked_kpis.py): 50 over 2
    # customers; 80 attributed revenue over 50 spend
    assert kpis["cost_per_acquisition"]["value"] == pytest.approx(25.0)
    assert kpis["return_on_ad_spend"]["value"] == pytest.approx(1.6)
    manifest = json.loads(
        (deployment.snapshots / DAY1.isoformat() / "latest" / "manifest.json").read_text()
    )
    assert manifest["status"] == "published"
    ad_checks = [c for c in manifest["checks"] if c["check"] == "gx_ad_spend_volume"]
    assert [(c["asset"], c["passed"]) for c in ad_checks] == [("marts/fct_kpi_daily", True)]

    # day 2 without any ad export: blocked (the day's ad spend did not come), nothing published
    write_day2(deployment.landing)
    (folder(deployment.landing, "ads", DAY2) / "spend.csv").unlink()
    report = deployment.run(DAY2)
    assert not report.success and report.blocked_by_gate
    assert not (deployment.snapshots / DAY2.isoformat()).exists()
    failure = json.loads(report.failure_report.read_text())
    failed = {(c["asset"], c["check"]): c for c in failure["failed_checks"]}
    delivery = failed[("marts/fct_kpi_daily", "extracts_delivered")]
    assert f"no ads extract for {DAY2} (looked for ads/dt={DAY2}/" in delivery["description"]


def test_group_volume_sums_the_tables_of_each_day() -> None:
    d1, d2, d3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
    frame = group_volume(
        {"ads_spend": {d1: 2}, "google_ads_campaigns": {d1: 1, d2: 4}, "meta_ads_campaigns": {}},
        [d1, d2, d3],
    )
    assert frame.to_dict("records") == [
        {"day": d1, "rows": 3, "tables": "ads_spend, google_ads_campaigns"},
        {"day": d2, "rows": 4, "tables": "google_ads_campaigns"},
        {"day": d3, "rows": 0, "tables": "none"},
    ]
