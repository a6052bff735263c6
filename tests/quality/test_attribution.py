"""A failed check over several days names the days whose data fails, so a backfill marks
only those days' snapshots."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from kpi_pipeline.quality.attribution import (
    FAILING_DAYS,
    applies_to,
    attribute_frame,
    failing_days,
    with_days,
)
from kpi_pipeline.quality.suites import SuiteOutcome, validate_frame
from tests.test_hand_worked_kpis import DAY1, DAY2, write_day1, write_day2

D1, D2, D3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
NPS_SUITE = {
    "name": "nps_scores",
    "expectations": [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "score", "min_value": 0, "max_value": 10},
            "severity": "warning",
        }
    ],
}


def test_the_days_whose_own_rows_fail_are_named() -> None:
    frame = pd.DataFrame(
        {
            "_extract_date": [D1, D1, D2, D3, D3],
            "score": [9, 10, 3, 11, 12],  # D3 holds the two scores out of range
        }
    )
    outcome = validate_frame("nps_scores", frame, suite=NPS_SUITE)
    assert outcome.warnings  # the window fails as a whole
    attributed = attribute_frame(outcome, frame, "_extract_date", [D1, D2, D3], suite=NPS_SUITE)
    assert attributed.failing_days == (D3,)
    assert failing_days([attributed]) == ["2025-03-05"]


def test_a_passing_suite_names_no_day_and_an_unknown_one_names_none() -> None:
    passed = SuiteOutcome("s", 2, [])
    assert attribute_frame(passed, pd.DataFrame({"day": []}), "day", [D1, D2]).failing_days == ()
    unknown = SuiteOutcome(
        "cross_checks",
        2,
        validate_frame("nps_scores", pd.DataFrame({"score": [11]}), suite=NPS_SUITE).outcomes,
    )
    known = with_days(unknown, [D2, D2])
    assert known.failing_days == (D2,)
    assert failing_days([known]) == ["2025-03-04"]
    assert failing_days([known, unknown]) is None  # one suite cannot tell: every day


@pytest.mark.parametrize(
    ("check", "day", "expected"),
    [
        ({FAILING_DAYS: ["2025-03-04"]}, D2, True),
        ({FAILING_DAYS: ["2025-03-04"]}, D1, False),
        ({FAILING_DAYS: None}, D1, True),  # not known: applies to every day
        ({}, D1, True),
    ],
)
def test_a_warning_applies_to_its_days(check: dict, day: dt.date, expected: bool) -> None:
    assert applies_to(check, day) is expected


@pytest.mark.e2e
def test_a_backfill_marks_only_the_day_with_the_missing_extract(deployment) -> None:
    write_day1(deployment.landing)
    write_day2(deployment.landing)  # day 2 has no HubSpot contacts extract: a warning
    report = deployment.run(DAY1, DAY2)
    assert report.success, report.reason()

    def manifest(day: dt.date) -> dict:
        folder = deployment.snapshots / day.isoformat() / "latest"
        return json.loads((folder / "manifest.json").read_text())

    first, second = manifest(DAY1), manifest(DAY2)
    assert (first["status"], first["warnings"]) == ("published", [])
    assert second["status"] == "published_with_warnings"
    contacts = [w for w in second["warnings"] if w["asset"] == "raw/hubspot_contacts"]
    assert contacts and all(w[FAILING_DAYS] == [DAY2.isoformat()] for w in contacts)
    # each day's manifest lists the run's checks once each (those recorded per day: that
    # day's), with the days they failed on
    listed = [sorted((c["asset"], c["check"]) for c in m["checks"]) for m in (first, second)]
    assert listed[0] == listed[1] and len(set(listed[0])) == len(listed[0])
    assert all(c["partition"] in (None, DAY1.isoformat()) for c in first["checks"])
    day1_report = (deployment.snapshots / DAY1.isoformat() / "latest" / "report.html").read_text()
    assert "raw/hubspot_contacts" not in day1_report
    assert (
        "raw/hubspot_contacts"
        in (deployment.snapshots / DAY2.isoformat() / "latest" / "report.html").read_text()
    )
