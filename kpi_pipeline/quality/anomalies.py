"""Volume and value anomalies: a day's figure against the median of its trailing days."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from kpi_pipeline.quality.config import Thresholds
from kpi_pipeline.quality.suites import ERROR, WARN, ExpectationOutcome

ANOMALY = "anomaly_vs_trailing_median"


@dataclass(frozen=True)
class DayComparison:
    day: dt.date
    value: float | None
    median: float | None
    ratio: float | None
    history_days: int

    def as_evidence(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "value": self.value,
            "trailing_median": self.median,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
        }


def compare_days(
    series: dict[dt.date, float | None],
    days: list[dt.date],
    trailing_days: int,
    min_history_days: int,
    min_baseline: float,
) -> list[DayComparison]:
    """Each day's value divided by the median of the known values of the `trailing_days`
    before it. No ratio when the history is too short, the median is not above
    `min_baseline` (and above 0), or the day has no value."""
    comparisons = []
    for day in days:
        history = [
            v
            for i in range(1, trailing_days + 1)
            if (v := series.get(day - dt.timedelta(days=i))) is not None
        ]
        value = series.get(day)
        median = statistics.median(history) if history else None
        usable = (
            len(history) >= min_history_days
            and median is not None
            and median > max(min_baseline, 0)
            and value is not None
        )
        comparisons.append(
            DayComparison(day, value, median, value / median if usable else None, len(history))
        )
    return comparisons


def anomaly_outcomes(
    figure: str, comparisons: list[DayComparison], thresholds: Thresholds
) -> list[ExpectationOutcome]:
    """One outcome per severity: the days whose ratio trips the error band, and those that
    trip only the warn band."""
    compared = [c for c in comparisons if c.ratio is not None]
    errors = [c for c in compared if thresholds.error.trips(c.ratio)]
    warns = [c for c in compared if c not in errors and thresholds.warn.trips(c.ratio)]
    skipped = len(comparisons) - len(compared)
    outcomes = []
    for severity, band, tripped in (
        (ERROR, thresholds.error, errors),
        (WARN, thresholds.warn, warns),
    ):
        if band.below is None and band.above is None:
            continue
        worst = tripped[0] if tripped else (compared[-1] if compared else None)
        outcomes.append(
            ExpectationOutcome(
                expectation=ANOMALY,
                column=figure,
                severity=severity,
                success=not tripped,
                observed={
                    **(worst.as_evidence() if worst else {}),
                    "days_compared": len(compared),
                    "days_skipped_short_history": skipped,
                },
                expected=f"{severity} when the ratio to the trailing median is {band.text()}",
                unexpected_count=len(tripped),
                unexpected_sample=[c.as_evidence() for c in tripped[:10]],
            )
        )
    return outcomes


def tripped_days(comparisons: list[DayComparison], thresholds: Thresholds) -> list[dt.date]:
    """The days whose ratio trips the warn or the error band."""
    return [
        c.day
        for c in comparisons
        if c.ratio is not None
        and (thresholds.error.trips(c.ratio) or thresholds.warn.trips(c.ratio))
    ]
