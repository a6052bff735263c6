"""A long window's rows are validated a month at a time; the merged outcome says what the
whole window's validation says (verdict, failing rows, failing days)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kpi_pipeline.quality.attribution import attribute_frame
from kpi_pipeline.quality.chunks import merge_outcomes, window_chunks
from kpi_pipeline.quality.suites import SuiteOutcome, validate_frame
from tests.quality.test_attribution import NPS_SUITE

START = dt.date(2025, 1, 1)
DAYS = [START + dt.timedelta(days=n) for n in range(70)]
BAD_DAYS = {DAYS[3], DAYS[40], DAYS[41]}


def test_window_chunks_cover_the_days_in_order() -> None:
    chunks = window_chunks(list(reversed(DAYS)))
    assert [len(c) for c in chunks] == [31, 31, 8]
    assert [d for c in chunks for d in c] == DAYS
    assert window_chunks([START]) == [[START]]


def frame_of(days: list[dt.date]) -> pd.DataFrame:
    """Two scores a day; a bad day has one out of range (11)."""
    return pd.DataFrame(
        {
            "_extract_date": [d for d in days for _ in range(2)],
            "score": [s for d in days for s in ((11 if d in BAD_DAYS else 9), 7)],
        }
    )


def validated(days: list[dt.date]) -> SuiteOutcome:
    frame = frame_of(days)
    outcome = validate_frame("nps_scores", frame, suite=NPS_SUITE)
    return attribute_frame(outcome, frame, "_extract_date", days, suite=NPS_SUITE)


def test_merged_chunks_say_what_the_whole_window_says() -> None:
    whole = validated(DAYS)
    merged = merge_outcomes([validated(chunk) for chunk in window_chunks(DAYS)])
    assert merged.rows == whole.rows == 140
    assert merged.failing_days == whole.failing_days == tuple(sorted(BAD_DAYS))
    (outcome,) = merged.outcomes
    assert not outcome.success and outcome.unexpected_count == 3
    assert outcome.unexpected_sample == [11, 11, 11]
    assert [o.success for o in merged.outcomes] == [o.success for o in whole.outcomes]


def test_merged_passing_chunks_pass() -> None:
    good = [d for d in DAYS if d not in BAD_DAYS]
    merged = merge_outcomes([validated(chunk) for chunk in window_chunks(good)])
    assert merged.failing_days == () and not merged.warnings
    assert merged.outcomes[0].unexpected_count == 0


def test_outcomes_of_different_suites_do_not_merge() -> None:
    other = SuiteOutcome("other", 1, [])
    with pytest.raises(ValueError, match="different suites"):
        merge_outcomes([validated(DAYS[:2]), other])


def test_window_chunks_hold_at_most_a_row_budget() -> None:
    """At a million GA4 events a day, a month is 31 M rows: parts are cut by rows too; a day
    over the budget is a part of its own, never split or dropped."""
    days = DAYS[:10]
    rows = dict.fromkeys(days, 1_000_000) | {days[5]: 7_000_000}
    chunks = window_chunks(days, rows=rows, max_rows=3_000_000)
    assert chunks == [days[0:3], days[3:5], [days[5]], days[6:9], [days[9]]]
    assert [d for c in chunks for d in c] == days
    # days without a count weigh nothing: the month limit alone
    assert [len(c) for c in window_chunks(DAYS, rows={})] == [31, 31, 8]
