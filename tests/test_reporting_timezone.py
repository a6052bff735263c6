"""Extract days are not reporting days: exports cut at UTC midnight, a business reporting in
Europe/Paris. Every record counts on its Paris day, whichever extract brought it, and a day
of skew never blocks (issue 19). Every figure below is worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tests.landing_files import write_csv

pytestmark = pytest.mark.e2e
D1, D2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)  # winter: Paris = UTC + 1 h


def write_extracts(landing: Path) -> None:
    # the shop's export of UTC day D1: 10:00Z is Paris D1; 23:30Z is 00:30 on Paris D2;
    # order o1 was fulfilled at 23:15Z, 00:15 on Paris D2
    write_csv(
        landing,
        "orders",
        "orders.csv",
        D1,
        [
            [
                "o1",
                101,
                "2025-03-03T10:00:00Z",
                "2025-03-03T23:15:00Z",
                "fulfilled",
                "100.00",
                "USD",
            ],
            ["o2", 102, "2025-03-03T23:30:00Z", "", "placed", "40.00", "USD"],
        ],
    )
    # UTC day D2: 22:30Z is 23:30 on Paris D2; 23:30Z is 00:30 on Paris D3 (not built here)
    write_csv(
        landing,
        "orders",
        "orders.csv",
        D2,
        [
            ["o3", 103, "2025-03-04T22:30:00Z", "", "placed", "25.00", "USD"],
            ["o4", 104, "2025-03-04T23:30:00Z", "", "placed", "1000.00", "USD"],
        ],
    )
    # survey answers either side of Paris midnight, in the extract of UTC day D1
    write_csv(
        landing,
        "nps",
        "responses.csv",
        D1,
        [
            ["r1", 101, "2025-03-03T22:59:00Z", "10", ""],  # Paris D1 23:59: promoter
            ["r2", 102, "2025-03-03T23:01:00Z", "3", ""],  # Paris D2 00:01: detractor
        ],
    )
    write_csv(
        landing,
        "nps",
        "responses.csv",
        D2,
        [["r3", 103, "2025-03-04T12:00:00Z", "9", ""]],  # Paris D2: promoter
    )


def overall(snapshots: Path, day: dt.date) -> dict[str, float | None]:
    frame = pl.read_parquet(snapshots / str(day) / "latest" / "kpis.parquet")
    rows = frame.filter(pl.col("dimension") == "all").iter_rows(named=True)
    return {row["kpi_id"]: row["value"] for row in rows}


def test_records_count_on_their_paris_day_and_a_day_of_skew_never_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import deploy

    monkeypatch.setenv("KPI_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("KPI_SOURCES", "orders,nps")
    site = deploy(tmp_path, monkeypatch)
    write_extracts(site.landing)

    report = site.run(D1, D2)

    assert report.success, report.reason()
    day1, day2 = overall(site.snapshots, D1), overall(site.snapshots, D2)
    # Paris D1: o1 only; Paris D2: o2 (extract D1) and o3; o4 belongs to Paris D3
    assert (day1["net_revenue"], day2["net_revenue"]) == (100.0, 65.0)
    assert (day1["average_order_value"], day2["average_order_value"]) == (100.0, 32.5)
    # NPS: D1 = r1 (promoter) -> 100; D2 = r2 (detractor) + r3 (promoter) -> 0
    assert (day1["nps"], day2["nps"]) == (100.0, 0.0)
    # o1 placed 11:00 Paris D1, fulfilled 00:15 Paris D2: 13.25 hours, on its fulfilment day
    assert day1["avg_order_processing_hours"] is None  # nothing fulfilled on Paris D1
    assert day2["avg_order_processing_hours"] == 13.25


def test_a_later_extract_restates_an_earlier_day_as_a_new_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New York reports 5 h behind the exports' UTC cut: the evening of a New York day
    arrives in the next UTC day's extract. When that extract is run, the earlier day's
    facts change, and its snapshot gets a new version (the first one is never touched)."""
    from tests.conftest import deploy

    monkeypatch.setenv("KPI_TIMEZONE", "America/New_York")
    monkeypatch.setenv("KPI_SOURCES", "orders")
    site = deploy(tmp_path, monkeypatch)
    # UTC day D1: 15:00Z is 10:00 in New York on D1
    write_csv(
        site.landing,
        "orders",
        "orders.csv",
        D1,
        [["o1", 101, "2025-03-03T15:00:00Z", "", "placed", "100.00", "USD"]],
    )
    # UTC day D2: 02:00Z is 21:00 in New York on D1; 15:00Z is D2
    write_csv(
        site.landing,
        "orders",
        "orders.csv",
        D2,
        [
            ["o2", 102, "2025-03-04T02:00:00Z", "", "placed", "40.00", "USD"],
            ["o3", 103, "2025-03-04T15:00:00Z", "", "placed", "25.00", "USD"],
        ],
    )

    first = site.run(D1)
    assert first.success, first.reason()
    v1 = (site.snapshots / str(D1) / "v1" / "kpis.csv").read_bytes()
    assert overall(site.snapshots, D1)["net_revenue"] == 100.0  # o2 not delivered yet

    second = site.run(D2)

    assert second.success, second.reason()
    day1 = site.snapshots / str(D1)
    assert sorted(p.name for p in day1.iterdir() if p.name.startswith("v")) == ["v1", "v2"]
    assert (day1 / "latest").resolve() == day1 / "v2"
    assert (day1 / "v1" / "kpis.csv").read_bytes() == v1  # a published version never changes
    assert overall(site.snapshots, D1)["net_revenue"] == 140.0  # o1 + o2, New York's D1
    assert overall(site.snapshots, D2)["net_revenue"] == 25.0  # o3
