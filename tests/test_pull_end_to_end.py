"""Pulled, then ingested, transformed, gated and published: the same KPIs as the same
records delivered as export files.

HubSpot: the sample's daily contacts and deals exports are published once as files;
then a fake HubSpot API (tests/pull/fake_apis.py) holds the same records, each day's
versions added as that day ends, and the `crm_pull` job pulls each night into a second
deployment whose other sources are the same files. Both publish the same KPI rows.
Salesforce: the three daily extracts worked by hand in
tests/ingest/test_salesforce_real_exports.py, as the REST API returns them (plus a lead
deleted in Salesforce, which queryAll returns and no KPI counts), publish the rates
worked out there.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from pytest_httpserver import HTTPServer

from kpi_pipeline.sample import generate_sample
from tests.pull.fake_apis import HUBSPOT_TOKEN, SALESFORCE_TOKEN, FakeHubSpot, FakeSalesforce

FIRST = dt.date(2025, 6, 2)
LAST = dt.date(2025, 6, 4)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]

pytestmark = pytest.mark.e2e


def published(snapshots: Path, day: dt.date) -> pl.DataFrame:
    frame = pl.read_parquet(snapshots / day.isoformat() / "latest" / "kpis.parquet")
    return frame.sort("kpi_id", "dimension", "dimension_value")


def hubspot_iso(text: str) -> str | None:
    """An export's `YYYY-MM-DD HH:MM` (UTC) as the API writes a date-time property."""
    if not text:
        return None
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").strftime("%Y-%m-%dT%H:%M:%S.000Z")


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def add_day_to_hubspot(api: FakeHubSpot, landing: Path, day: dt.date) -> None:
    """The day's exported versions become the API's current records (the day has ended)."""
    folder = landing / "hubspot" / f"dt={day}"
    for row in csv_rows(folder / "contacts.csv"):
        api.add_contact(
            row["Record ID"],
            dt.datetime.fromisoformat(
                hubspot_iso(row["Last Modified Date"]).replace("Z", "+00:00")
            ),
            createdate=hubspot_iso(row["Create Date"]),
            email=row["Email"],
            firstname=row["First Name"],
            lifecyclestage=row["Lifecycle Stage"],
            hs_analytics_source=row["Original Source"],
        )
    for row in csv_rows(folder / "deals.csv"):
        api.add_deal(
            row["Record ID"],
            dt.datetime.fromisoformat(
                hubspot_iso(row["Last Modified Date"]).replace("Z", "+00:00")
            ),
            createdate=hubspot_iso(row["Create Date"]),
            dealname=row["Deal Name"],
            dealstage=row["Deal Stage"],
            pipeline=row["Pipeline"],
            amount=row["Amount"],
            closedate=hubspot_iso(row["Close Date"]),
        )


def pull_nightly(monkeypatch: pytest.MonkeyPatch, days: list[dt.date], before_each) -> None:
    """The `crm_pull` job of a deployment, one partition a night, as its schedule runs it."""
    from dagster import DagsterInstance

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.settings import Settings

    defs = build_definitions(Settings.from_env())
    job = defs.resolve_job_def("crm_pull")
    with DagsterInstance.ephemeral() as instance:
        for day in days:
            before_each(day)
            result = job.execute_in_process(instance=instance, partition_key=day.isoformat())
            assert result.success


def test_pulled_hubspot_records_publish_the_same_kpis_as_their_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    from tests.conftest import deploy

    exported = deploy(tmp_path / "exported", monkeypatch)
    generate_sample(FIRST, LAST, exported.landing, scale=0.03, seed=11)
    report = exported.run(FIRST, LAST)
    assert report.success, report.reason()
    expected = {day: published(exported.snapshots, day) for day in DAYS}

    api = FakeHubSpot(httpserver)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", HUBSPOT_TOKEN)
    monkeypatch.setenv("HUBSPOT_API_BASE_URL", api.base_url)
    monkeypatch.setenv("KPI_PULL", "hubspot")
    pulled_root = tmp_path / "pulled"
    shutil.copytree(
        exported.landing,
        pulled_root / "landing",
        ignore=lambda folder, _: ["hubspot"] if folder == str(exported.landing) else [],
    )
    pulled = deploy(pulled_root, monkeypatch)
    assert not (pulled.landing / "hubspot").exists()

    pull_nightly(monkeypatch, DAYS, lambda day: add_day_to_hubspot(api, exported.landing, day))
    for day in DAYS:
        folder = pulled.landing / "hubspot" / f"dt={day}"
        assert sorted(p.name for p in folder.iterdir()) == [
            "_pull_manifest.json",
            "contacts.jsonl",
            "deals.jsonl",
        ]
    report = pulled.run(FIRST, LAST)
    assert report.success, report.reason()

    for day in DAYS:
        got = published(pulled.snapshots, day)
        assert got.height > 0 and got.filter(pl.col("kpi_id") == "lead_to_customer_rate").height
        assert got.equals(expected[day]), f"{day}: pulled KPIs differ from exported ones"
    written = b"".join(p.read_bytes() for p in pulled_root.rglob("*") if p.is_file())
    assert HUBSPOT_TOKEN.encode() not in written


SF_LEADS = [
    # (day landed, Id, created, modified, source, converted, converted date)
    (0, "00Q5e00000XyZ01AAA", "2025-03-03T07:00:00", "2025-03-03T07:00:00", "Web", False, None),
    (
        0,
        "00Q5e00000XyZ02AAA",
        "2025-03-03T08:00:00",
        "2025-03-03T11:00:00",
        "Web",
        True,
        "2025-03-03",
    ),
    (0, "00Q5e00000XyZ03AAA", "2025-03-03T09:00:00", "2025-03-03T09:00:00", "Partner", False, None),
    (
        1,
        "00Q5e00000XyZ01AAA",
        "2025-03-03T07:00:00",
        "2025-03-04T12:00:00",
        "Web",
        True,
        "2025-03-04",
    ),
    (1, "00Q5e00000XyZ04AAA", "2025-03-04T07:00:00", "2025-03-04T07:00:00", None, False, None),
    (2, "00Q5e00000XyZ05AAA", "2025-03-05T07:00:00", "2025-03-05T08:00:00", "Web", True, None),
]
SF_OPPORTUNITIES = [
    # (day landed, Id, created, modified, stage, closed, won, amount, close date)
    (
        0,
        "0065e00000AbCd1AAA",
        "2025-03-03T09:00:00",
        "2025-03-03T09:00:00",
        "Prospecting",
        False,
        False,
        1000,
        "2025-03-20",
    ),
    (
        0,
        "0065e00000AbCd2AAA",
        "2025-03-01T10:00:00",
        "2025-03-03T15:00:00",
        "Closed Lost",
        True,
        False,
        500,
        "2025-03-03",
    ),
    (
        0,
        "0065e00000AbCd3AAA",
        "2025-03-03T08:00:00",
        "2025-03-03T16:00:00",
        "Closed Won",
        True,
        True,
        250.5,
        "2025-03-03",
    ),
    (
        1,
        "0065e00000AbCd1AAA",
        "2025-03-03T09:00:00",
        "2025-03-04T10:00:00",
        "Closed Lost",
        True,
        False,
        1000,
        "2025-03-04",
    ),
    (
        1,
        "0065e00000AbCd4AAA",
        "2025-03-04T08:00:00",
        "2025-03-04T09:00:00",
        "Closed Won",
        True,
        True,
        80,
        "2025-03-04",
    ),
    (
        1,
        "0065e00000AbCd5AAA",
        "2025-03-04T08:30:00",
        "2025-03-04T08:30:00",
        "Qualification",
        False,
        False,
        60,
        "2025-04-30",
    ),
    (
        2,
        "0065e00000AbCd5AAA",
        "2025-03-04T08:30:00",
        "2025-03-05T10:00:00",
        "Closed Lost",
        True,
        False,
        60,
        "2025-03-05",
    ),
]


def sf_time(text: str) -> str:
    return text + ".000+0000"


def add_day_to_salesforce(api: FakeSalesforce, days: list[dt.date], day: dt.date) -> None:
    index = days.index(day)
    for landed, lead_id, created, modified, source, converted, converted_on in SF_LEADS:
        if landed == index:
            api.add(
                "Lead",
                lead_id,
                dt.datetime.fromisoformat(modified + "+00:00"),
                Email=f"{lead_id}@example.com",
                CreatedDate=sf_time(created),
                LeadSource=source,
                Status="Open",
                IsConverted=converted,
                ConvertedDate=converted_on,
            )
    for landed, opp_id, created, modified, stage, closed, won, amount, close in SF_OPPORTUNITIES:
        if landed == index:
            api.add(
                "Opportunity",
                opp_id,
                dt.datetime.fromisoformat(modified + "+00:00"),
                Name=opp_id[-6:],
                CreatedDate=sf_time(created),
                StageName=stage,
                IsClosed=closed,
                IsWon=won,
                Amount=amount,
                CloseDate=close,
                CampaignId=None,
            )
    if index == 2:  # a lead created and deleted that day: queryAll returns it, no KPI counts it
        api.add(
            "Lead",
            "00Q5e00000XyZ06AAA",
            dt.datetime(2025, 3, 5, 9, tzinfo=dt.UTC),
            Email="gone@example.com",
            CreatedDate=sf_time("2025-03-05T08:30:00"),
            LeadSource="Web",
            Status="Open",
            IsConverted=False,
            ConvertedDate=None,
        )
        api.records["Lead"]["00Q5e00000XyZ06AAA"]["IsDeleted"] = True


def test_pulled_salesforce_records_publish_the_rates_worked_out_for_their_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    from tests.conftest import deploy
    from tests.ingest.test_salesforce_real_exports import (
        DAILY_LEAD_CONVERSION,
        DAILY_WIN_RATE,
    )

    days = sorted(DAILY_WIN_RATE)
    api = FakeSalesforce(httpserver, batch_size=2)
    monkeypatch.setenv("KPI_SOURCES", "salesforce")
    monkeypatch.setenv("KPI_PULL", "salesforce")
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", api.instance_url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", SALESFORCE_TOKEN)
    site = deploy(tmp_path, monkeypatch)

    pull_nightly(monkeypatch, days, lambda day: add_day_to_salesforce(api, days, day))
    report = site.run(days[0], days[-1])

    assert report.success, report.reason()
    for day in days:
        frame = published(site.snapshots, day)
        rows = {
            r["kpi_id"]: (r["numerator"], r["denominator"])
            for r in frame.filter(pl.col("dimension") == "all").iter_rows(named=True)
        }
        assert rows["deal_win_rate"] == DAILY_WIN_RATE[day]
        assert rows["lead_to_customer_rate"] == DAILY_LEAD_CONVERSION[day]  # deleted: not counted
