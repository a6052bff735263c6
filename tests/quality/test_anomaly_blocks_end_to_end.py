"""An anomaly of error severity blocks the day through the real Dagster job: sessions fall
to a third of the trailing median. Nothing is published or sent; earlier days stay intact."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from kpi_pipeline.sample import generate_sample

FIRST = dt.date(2025, 6, 2)
LAST_OF_HISTORY = dt.date(2025, 6, 8)  # 7 days: exactly min_history_days
ANOMALOUS = dt.date(2025, 6, 9)

pytestmark = pytest.mark.e2e


def keep_a_third_of_the_sessions(events_file: Path) -> tuple[int, int]:
    """Rewrite a GA4 export keeping every third session (all of its events)."""
    events = [json.loads(line) for line in events_file.read_text().splitlines()]

    def session(event: dict) -> tuple[str, str]:
        ids = [
            p["value"]["int_value"] for p in event["event_params"] if p["key"] == "ga_session_id"
        ]
        return event["user_pseudo_id"], ids[0]

    sessions = sorted({session(e) for e in events})
    kept = set(sessions[::3])
    events_file.write_text("".join(json.dumps(e) + "\n" for e in events if session(e) in kept))
    return len(sessions), len(kept)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_sessions_falling_to_a_third_block_the_day(deployment, mailbox, monkeypatch) -> None:
    monkeypatch.setenv("KPI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KPI_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("KPI_REPORT_EMAIL_TO", "stakeholders@example.invalid")
    generate_sample(FIRST, ANOMALOUS, deployment.landing, scale=0.03, seed=11)
    report = deployment.run(FIRST, LAST_OF_HISTORY)
    assert report.success, report.reason()
    assert len(mailbox.received) == 1  # one message for the backfill
    published = tree(deployment.snapshots)

    before, after = keep_a_third_of_the_sessions(
        deployment.landing / "ga4" / f"dt={ANOMALOUS}" / f"events_{ANOMALOUS:%Y%m%d}.json"
    )
    assert after * 3 <= before + 2
    report = deployment.run(ANOMALOUS)
    assert not report.success and report.blocked_by_gate
    assert any("anomalies_fct_kpi_daily" in c for c in report.failed_checks), report.reason()
    assert not (deployment.snapshots / ANOMALOUS.isoformat()).exists()
    assert tree(deployment.snapshots) == published
    assert len(mailbox.received) == 1
    failure = json.loads(report.failure_report.read_text())
    anomaly = next(c for c in failure["failed_checks"] if c["check"] == "anomalies_fct_kpi_daily")
    evidence = next(f for f in anomaly["failures"] if f["severity"] == "error")
    assert evidence["column"] == "session_conversion_rate.denominator"
    assert evidence["unexpected_count"] == 1 and "2025-06-09" in evidence["sample"][0]
