"""A deployment declares the sources it has (deployment.yml / KPI_SOURCES): only those are
ingested, checked and required; KPIs of other sources are left out, not zero (issue 19)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from kpi_pipeline.deployment import DeploymentError, load_deployment, parse_sources
from kpi_pipeline.kpis.availability import deployment_availability
from kpi_pipeline.quality.deliveries import Requirement, missing_days, missing_message, requirements
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests import oracle

DAYS = (dt.date(2025, 6, 2), dt.date(2025, 6, 3))
GA4_KPIS = {"session_conversion_rate", "user_conversion_rate", "organic_traffic"}


def test_sources_come_from_the_environment_then_the_file_then_all(tmp_path: Path) -> None:
    declared = tmp_path / "deployment.yml"
    declared.write_text("version: 1\nsources: [ga4, Salesforce]\n")

    assert load_deployment(declared, {}).sources == {"ga4", "salesforce"}
    assert load_deployment(declared, {"KPI_SOURCES": "orders, nps"}).sources == {"orders", "nps"}
    everything = load_deployment(tmp_path / "absent.yml", {})
    assert everything.everything and "hubspot" in everything.sources


@pytest.mark.parametrize(
    ("text", "message"),
    [("ga4,shopify", "unknown source 'shopify'"), (" , ", "no source"), ("crm", "'crm'")],
)
def test_an_unknown_source_is_named_with_the_known_ones(text: str, message: str) -> None:
    with pytest.raises(DeploymentError) as error:
        parse_sources(text, "KPI_SOURCES")
    assert message in str(error.value) and "ga4, hubspot, salesforce" in str(error.value)


def test_which_kpis_a_deployment_computes_and_why_not() -> None:
    ga4 = deployment_availability(KPI_CATALOGUE_PATH, parse_sources("ga4", "test"))
    crm = deployment_availability(KPI_CATALOGUE_PATH, parse_sources("salesforce", "test"))
    shop = deployment_availability(KPI_CATALOGUE_PATH, parse_sources("orders,ads", "test"))

    assert set(ga4.available) == GA4_KPIS
    assert ga4.reason("net_revenue") == "needs orders, not declared in this deployment"
    assert set(crm.available) == {"lead_to_customer_rate", "deal_win_rate"}
    assert "cost_per_acquisition" in shop.available
    assert shop.reason("return_on_ad_spend") == "needs ga4, not declared in this deployment"


def test_a_missing_extract_is_said_in_plain_words() -> None:
    needs = requirements(parse_sources("ga4,orders", "test"))
    day = dt.date(2026, 3, 3)
    missing = missing_days(needs, {"ga4": {day}}, [day])

    assert missing == [(day, Requirement("orders", ("orders",)))]
    message = missing_message(*missing[0])
    assert message.startswith("no orders extract for 2026-03-03 (looked for orders/dt=2026-03-03/")
    assert "orders.csv" in message
    # with every source, the CRM comes from either of its exports
    everything = requirements(parse_sources(None, "default"))
    assert Requirement("crm", ("hubspot", "salesforce")) in everything
    assert not missing_days(everything[-1:], {"salesforce": {day}}, [day])


def only(landing: Path, keep: set[str]) -> None:
    for folder in landing.iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder)


@pytest.mark.e2e
def test_a_ga4_only_deployment_publishes_its_kpis_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import deploy

    monkeypatch.setenv("KPI_SOURCES", "ga4")
    site = deploy(tmp_path, monkeypatch)
    generate_sample(DAYS[0], DAYS[-1], site.landing, scale=0.05)
    only(site.landing, {"ga4"})

    report = site.run(DAYS[0], DAYS[-1])

    assert report.success, report.reason()
    sessions = oracle.build_sessions(site.landing, DAYS[-1])
    categories = oracle.load_source_categories()
    for day in DAYS:
        frame = pl.read_parquet(site.snapshots / str(day) / "latest" / "kpis.parquet")
        assert set(frame["kpi_id"]) == GA4_KPIS  # no zero net revenue, no other KPI
        overall = {
            r["kpi_id"]: r["value"]
            for r in frame.filter(pl.col("dimension") == "all").iter_rows(named=True)
        }
        expected = oracle.session_conversion_rate(sessions, day, dt.UTC, categories)
        assert overall["session_conversion_rate"] == pytest.approx(
            expected[("session_conversion_rate", "all", "all")].value
        )
        organic = oracle.organic_traffic(sessions, day, dt.UTC, categories)
        assert overall["organic_traffic"] == organic[("organic_traffic", "all", "all")].value
        users = oracle.user_conversion_rate(sessions, {day}, dt.UTC)
        assert overall["user_conversion_rate"] == pytest.approx(users.value)


@pytest.mark.e2e
def test_a_declared_source_without_its_file_blocks_the_day_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import deploy

    monkeypatch.setenv("KPI_SOURCES", "ga4,nps")
    site = deploy(tmp_path, monkeypatch)
    generate_sample(DAYS[0], DAYS[-1], site.landing, scale=0.05)
    only(site.landing, {"ga4", "nps"})
    shutil.rmtree(site.landing / "nps" / f"dt={DAYS[-1]}")

    report = site.run(DAYS[-1])

    assert not report.success and report.blocked_by_gate
    said = " ".join(report.failed_checks)
    assert f"no nps extract for {DAYS[-1]} (looked for nps/dt={DAYS[-1]}/" in said
    assert "expect_column" not in said  # the row-count expectation stays quiet about it
    assert not (site.snapshots / str(DAYS[-1])).exists()


@pytest.mark.e2e
def test_a_salesforce_only_deployment_counts_lost_and_open_deals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Daily Salesforce extracts as `sf data export`, Data Loader and a report write them
    (tests/ingest/test_salesforce_real_exports.py), nothing else: every day publishes the
    two CRM KPIs, at the rates worked out by hand there, and no other KPI."""
    from tests.conftest import deploy
    from tests.ingest.test_salesforce_real_exports import (
        DAILY,
        DAILY_LEAD_CONVERSION,
        DAILY_WIN_RATE,
    )

    monkeypatch.setenv("KPI_SOURCES", "salesforce")
    site = deploy(tmp_path, monkeypatch)
    for (extract, day), text in DAILY.items():
        folder = site.landing / "salesforce" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / extract.file_name).write_text(text, encoding="utf-8")
    days = sorted({day for _, day in DAILY})

    report = site.run(days[0], days[-1])

    assert report.success, report.reason()
    for day in days:
        frame = pl.read_parquet(site.snapshots / str(day) / "latest" / "kpis.parquet")
        assert set(frame["kpi_id"]) == {"deal_win_rate", "lead_to_customer_rate"}
        rows = {
            r["kpi_id"]: (r["numerator"], r["denominator"])
            for r in frame.filter(pl.col("dimension") == "all").iter_rows(named=True)
        }
        assert rows["deal_win_rate"] == DAILY_WIN_RATE[day]  # lost deals counted: not 100 %
        assert rows["lead_to_customer_rate"] == DAILY_LEAD_CONVERSION[day]


@pytest.mark.e2e
def test_a_missing_extract_set_to_warn_publishes_the_day_with_no_data_not_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """quality.yml `missing_extract: {sources: {nps: warn}}`: the day without an NPS file
    publishes, marked with the warning; NPS is there as no_data (no value), the GA4 KPIs
    keep their values."""
    import yaml

    from kpi_pipeline.quality import deliveries
    from kpi_pipeline.quality.config import QUALITY_CONFIG_PATH, parse_quality_config
    from tests.conftest import deploy

    raw = yaml.safe_load(QUALITY_CONFIG_PATH.read_text())
    raw["missing_extract"] = {"default": "error", "sources": {"nps": "warn"}}
    monkeypatch.setattr(
        deliveries, "load_quality_config", lambda: parse_quality_config(raw, QUALITY_CONFIG_PATH)
    )
    monkeypatch.setenv("KPI_SOURCES", "ga4,nps")
    site = deploy(tmp_path, monkeypatch)
    generate_sample(DAYS[0], DAYS[-1], site.landing, scale=0.05)
    only(site.landing, {"ga4", "nps"})
    shutil.rmtree(site.landing / "nps" / f"dt={DAYS[-1]}")

    report = site.run(DAYS[0], DAYS[-1])

    assert report.success, report.reason()
    latest = site.snapshots / str(DAYS[-1]) / "latest"
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["status"] == "published_with_warnings"
    said = json.dumps(manifest["warnings"])
    assert "extracts_delivered" in said and f"no nps extract for {DAYS[-1]}" in said
    frame = pl.read_parquet(latest / "kpis.parquet").filter(pl.col("dimension") == "all")
    nps = frame.filter(pl.col("kpi_id") == "nps").row(0, named=True)
    assert nps["value"] is None and nps["status"] == "no_data"  # missing is never a zero
    assert set(frame["kpi_id"]) == GA4_KPIS | {"nps"}
    organic = frame.filter(pl.col("kpi_id") == "organic_traffic")["value"][0]
    sessions = oracle.build_sessions(site.landing, DAYS[-1])
    expected = oracle.organic_traffic(sessions, DAYS[-1], dt.UTC, oracle.load_source_categories())
    assert organic == expected[("organic_traffic", "all", "all")].value
    # the day before had its file: a real NPS, published without warnings
    before = json.loads((site.snapshots / str(DAYS[0]) / "latest" / "manifest.json").read_text())
    assert before["status"] == "published"
