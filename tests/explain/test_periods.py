"""Which periods `--vs previous` and `--vs last_year` compare, at each grain."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_pipeline.explain.periods import compared_periods, period_after, vs_label

D = dt.date


@pytest.mark.parametrize(
    ("day", "grain", "vs", "expected"),
    [
        (D(2025, 3, 1), "day", "previous", (D(2025, 2, 28), D(2025, 3, 1))),
        (D(2025, 3, 4), "day", "last_year", (D(2024, 3, 4), D(2025, 3, 4))),
        (D(2024, 2, 29), "day", "last_year", (D(2023, 2, 28), D(2024, 2, 29))),
        (D(2024, 3, 1), "day", "previous", (D(2024, 2, 29), D(2024, 3, 1))),
        # Wednesday 5 March 2025 is in the ISO week of Monday 3 March
        (D(2025, 3, 5), "week", "previous", (D(2025, 2, 24), D(2025, 3, 3))),
        (D(2025, 3, 5), "week", "last_year", (D(2024, 3, 4), D(2025, 3, 3))),
        (D(2025, 1, 1), "week", "previous", (D(2024, 12, 23), D(2024, 12, 30))),
        (D(2025, 3, 15), "month", "previous", (D(2025, 2, 1), D(2025, 3, 1))),
        (D(2025, 1, 31), "month", "previous", (D(2024, 12, 1), D(2025, 1, 1))),
        (D(2024, 2, 29), "month", "last_year", (D(2023, 2, 1), D(2024, 2, 1))),
        (D(2025, 2, 10), "quarter", "previous", (D(2024, 10, 1), D(2025, 1, 1))),
        (D(2025, 8, 10), "quarter", "previous", (D(2025, 4, 1), D(2025, 7, 1))),
        (D(2025, 8, 10), "quarter", "last_year", (D(2024, 7, 1), D(2025, 7, 1))),
        (D(2025, 6, 1), "year", "previous", (D(2024, 1, 1), D(2025, 1, 1))),
        (D(2025, 6, 1), "year", "last_year", (D(2024, 1, 1), D(2025, 1, 1))),
    ],
)
def test_compared_periods(day, grain, vs, expected) -> None:
    assert compared_periods(day, grain, vs) == expected


def test_the_week_a_year_earlier_is_a_monday_52_weeks_back() -> None:
    for day in (D(2025, 3, 5), D(2021, 1, 4), D(2026, 12, 31)):
        before, after = compared_periods(day, "week", "last_year")
        assert before.weekday() == 0 and (after - before).days == 364


@pytest.mark.parametrize(
    ("grain", "vs", "message"),
    [("hour", "previous", "grain 'hour' is not known"), ("day", "lastyear", "'lastyear'")],
)
def test_unknown_choices_are_refused(grain, vs, message) -> None:
    with pytest.raises(ValueError, match=message):
        compared_periods(D(2025, 3, 5), grain, vs)


def test_labels() -> None:
    assert vs_label("day", "previous") == "the previous day"
    assert vs_label("month", "last_year") == "the same month last year"
    assert vs_label("year", "last_year") == "last year"


@pytest.mark.parametrize(
    ("start", "grain", "expected"),
    [
        (D(2024, 2, 29), "day", D(2024, 3, 1)),
        (D(2024, 12, 30), "week", D(2025, 1, 6)),
        (D(2024, 12, 1), "month", D(2025, 1, 1)),
        (D(2025, 2, 1), "month", D(2025, 3, 1)),
        (D(2024, 10, 1), "quarter", D(2025, 1, 1)),
        (D(2025, 7, 1), "quarter", D(2025, 10, 1)),
        (D(2025, 1, 1), "year", D(2026, 1, 1)),
    ],
)
def test_the_period_after(start: dt.date, grain: str, expected: dt.date) -> None:
    # a chain sums its metrics' days from the period's start up to the next one's
    assert period_after(start, grain) == expected
