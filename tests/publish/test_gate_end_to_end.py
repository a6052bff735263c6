"""The gate and the publication through the real Dagster job: what stakeholders and data
engineers receive, what is written, and what is never touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from tests.landing_files import write_csv
from tests.test_hand_worked_kpis import (
    DAY1,
    DAY2,
    DAY3,
    write_day1,
    write_day2,
    write_day2_like_day3,
)

pytestmark = pytest.mark.e2e


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def registry(deployment) -> list[tuple]:
    with duckdb.connect(str(deployment.warehouse), read_only=True) as con:
        return con.execute(
            "select day::VARCHAR, version, len(warnings) > 0, is_latest "
            "from publish.kpi_snapshots order by day, version"
        ).fetchall()


def test_publish_warn_block_and_republish(deployment, mailbox, webhook, monkeypatch) -> None:
    monkeypatch.setenv("KPI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KPI_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("KPI_REPORT_EMAIL_TO", "stakeholders@example.invalid")
    monkeypatch.setenv("KPI_ALERT_WEBHOOK_URL", webhook.url)

    write_day1(deployment.landing)
    assert deployment.run(DAY1).success
    assert [m[2]["Subject"] for m in mailbox.received] == [f"KPIs of {DAY1} (v1)"]

    # day 2 lacks the contacts extract: a warn-severity check; published, and marked
    write_day2(deployment.landing)
    report = deployment.run(DAY2)
    assert report.success, report.reason()
    day2 = deployment.snapshots / DAY2.isoformat() / "latest"
    manifest = json.loads((day2 / "manifest.json").read_text())
    assert manifest["status"] == "published_with_warnings"
    assert any(w["asset"] == "raw/hubspot_contacts" for w in manifest["warnings"])
    html = (day2 / "report.html").read_text()
    assert "Published with warnings" in html and "raw/hubspot_contacts" in html
    assert mailbox.received[-1][2]["Subject"] == f"KPIs of {DAY2} (v1) (with warnings)"
    assert manifest["sources"]["files"] and all(
        len(f["sha256"]) == 64 for f in manifest["sources"]["files"]
    )
    assert manifest["dbt_manifest_sha256"] and manifest["row_counts"]["kpis"] == manifest["rows"]

    # day 3 breaks an error-severity expectation (NPS score 11): nothing published or sent
    published = tree(deployment.snapshots)
    write_day2_like_day3(deployment.landing)
    report = deployment.run(DAY3)
    assert not report.success and report.blocked_by_gate
    assert tree(deployment.snapshots) == published  # no snapshot, no pointer, v1s intact
    assert len(mailbox.received) == 2  # stakeholders hear nothing
    failure = json.loads(report.failure_report.read_text())
    assert report.failure_report == deployment.root / "failures" / report.run_id / "failure.json"
    nps = next(c for c in failure["failed_checks"] if c["asset"] == "raw/nps_responses")
    assert any(f["unexpected_count"] == 1 and "11" in f["sample"] for f in nps["failures"])
    assert (report.failure_report.parent / "failure.md").exists()
    assert "raw_nps_responses" in (deployment.root / "gx_docs" / "index.html").read_text()
    assert len(webhook.received) == 1  # the data engineers are told
    assert "raw/nps_responses" in webhook.received[0]["json"]["text"]

    # day 2's extract restated day 1 (its run looks back): day 1 is at v1, or at v2 when
    # its data changed, v1 intact either way
    day1 = deployment.snapshots / DAY1.isoformat()
    n = int(os.readlink(day1 / "latest")[1:])
    assert n in (1, 2)
    # late data for day 1: one more order of 5.00 placed that day -> a new version; latest
    # moves; the earlier versions intact
    v1 = tree(deployment.snapshots / DAY1.isoformat() / "v1")
    orders = deployment.landing / "orders" / f"dt={DAY1}" / "orders.csv"
    lines = orders.read_text().splitlines()
    write_csv(
        deployment.landing,
        "orders",
        "orders.csv",
        DAY1,
        [line.split(",") for line in lines[1:]]
        + [["O-10", "102", "2025-03-03T18:00:00Z", "", "placed", "5.00", "USD"]],
    )
    report = deployment.run(DAY1)
    assert report.success, report.reason()
    assert os.readlink(day1 / "latest") == f"v{n + 1}"
    assert tree(day1 / "v1") == v1
    assert mailbox.received[-1][2]["Subject"] == f"KPIs of {DAY1} (v{n + 1})"
    assert "Net revenue: 125.00 USD" in mailbox.received[-1][2].get_body(("plain",)).get_content()
    assert registry(deployment) == [
        *[(DAY1.isoformat(), v, False, False) for v in range(1, n + 1)],
        (DAY1.isoformat(), n + 1, False, True),
        (DAY2.isoformat(), 1, True, True),
    ]

    # the same data again: nothing written, nothing sent
    before, sent = tree(deployment.snapshots), len(mailbox.received)
    assert deployment.run(DAY1).success
    assert tree(deployment.snapshots) == before and len(mailbox.received) == sent
