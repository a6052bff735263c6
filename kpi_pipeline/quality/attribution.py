"""Which days of a multi-day window a failed check is about, so a backfill marks only the
days whose data failed, not every day it published.

A check validates the whole window at once. When it fails over a window of several days,
the failing suites are validated again day by day (the same GX suites, on each day's
rows); the days that fail are kept in the check's metadata as `failing_days`. A check
without that metadata applies to every day of its run."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import MetadataValue

from kpi_pipeline.quality.suites import SuiteOutcome, validate_frame

FAILING_DAYS = "failing_days"


def _failed(outcome: SuiteOutcome) -> bool:
    return bool(outcome.errors or outcome.warnings)


def attribute_frame(
    outcome: SuiteOutcome,
    frame: pd.DataFrame,
    day_column: str,
    days: list[dt.date],
    parameters: dict[str, Any] | None = None,
    suite: dict[str, Any] | None = None,
) -> SuiteOutcome:
    """The outcome with the days whose own rows fail the suite (none when it passed)."""
    if not _failed(outcome):
        return dataclasses.replace(outcome, failing_days=())
    if len(days) == 1:
        return dataclasses.replace(outcome, failing_days=tuple(days))
    column = pd.to_datetime(frame[day_column]).dt.date if len(frame) else frame[day_column]
    failing = tuple(
        day
        for day in days
        if _failed(
            validate_frame(
                outcome.suite, frame[column == day].reset_index(drop=True), parameters, suite=suite
            )
        )
    )
    return dataclasses.replace(outcome, failing_days=failing)


def validate_days(
    suite_name: str,
    frame: pd.DataFrame,
    day_column: str,
    days: list[dt.date],
    parameters: dict[str, Any] | None = None,
    suite: dict[str, Any] | None = None,
    store: Path | None = None,
    run_name: str | None = None,
) -> SuiteOutcome:
    """Validate the window's `frame` with a suite (kept under `store` for the run's Data
    Docs, see `validate_frame`) and name the days whose own rows fail."""
    validated = validate_frame(
        suite_name, frame, parameters, suite=suite, store=store, run_name=run_name
    )
    return attribute_frame(validated, frame, day_column, days, parameters, suite)


def with_days(outcome: SuiteOutcome, days: Iterable[dt.date]) -> SuiteOutcome:
    """The outcome with failing days known by its own computation (e.g. anomalies)."""
    return dataclasses.replace(outcome, failing_days=tuple(sorted(set(days))))


def failing_days(outcomes: list[SuiteOutcome]) -> list[str] | None:
    """The days the failed suites are about, or None when one of them cannot tell."""
    failed = [o for o in outcomes if _failed(o)]
    if any(o.failing_days is None for o in failed):
        return None
    return sorted({d.isoformat() for o in failed for d in o.failing_days})


def days_metadata(days: list[str] | None) -> dict[str, MetadataValue]:
    return {} if days is None else {FAILING_DAYS: MetadataValue.json(days)}


def applies_to(check: Mapping[str, Any], day: dt.date) -> bool:
    """A failed check concerns `day` unless it names its failing days and `day` is not
    one of them."""
    days = check.get(FAILING_DAYS)
    return days is None or day.isoformat() in days
