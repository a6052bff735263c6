"""A long window's raw rows validated a month at a time, so a year's backfill never holds a
year of GA4 events in one pandas frame (docs/benchmarks.md, "Backfill"); the parts' results
are merged into the one outcome the check reports."""

from __future__ import annotations

import dataclasses
import datetime as dt

from kpi_pipeline.quality.suites import UNEXPECTED_SAMPLE_SIZE, ExpectationOutcome, SuiteOutcome

CHUNK_DAYS = 31


def window_chunks(days: list[dt.date], size: int = CHUNK_DAYS) -> list[list[dt.date]]:
    """The window's days in order, `size` at a time."""
    ordered = sorted(days)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _merge_expectation(parts: list[ExpectationOutcome]) -> ExpectationOutcome:
    """One expectation over the parts: it fails when a part fails; what was observed is the
    first failing part's (else the last part's); unexpected rows add up."""
    failing = [p for p in parts if not p.success]
    shown = failing[0] if failing else parts[-1]
    counts = [p.unexpected_count for p in parts if p.unexpected_count is not None]
    sample = [value for p in failing or parts for value in p.unexpected_sample]
    return dataclasses.replace(
        shown,
        success=not failing,
        unexpected_count=sum(counts) if counts else None,
        unexpected_sample=sample[:UNEXPECTED_SAMPLE_SIZE],
    )


def merge_outcomes(parts: list[SuiteOutcome]) -> SuiteOutcome:
    """The outcome of one suite validated part by part (the same suite, so the same
    expectations in the same order). Each part's stored result stays in the Data Docs; the
    merged outcome points at the first failing part's."""
    if len(parts) == 1:
        return parts[0]
    names = {p.suite for p in parts}
    shapes = {tuple((o.expectation, o.column) for o in p.outcomes) for p in parts}
    if len(names) != 1 or len(shapes) != 1:
        raise ValueError(f"cannot merge the outcomes of different suites: {sorted(names)}")
    by_expectation = zip(*(p.outcomes for p in parts), strict=True)
    failed = [p for p in parts if p.errors or p.warnings]
    known = all(p.failing_days is not None for p in parts)
    return SuiteOutcome(
        suite=parts[0].suite,
        rows=sum(p.rows for p in parts),
        outcomes=[_merge_expectation(list(group)) for group in by_expectation],
        failing_days=tuple(sorted({d for p in parts for d in p.failing_days})) if known else None,
        result_key=(failed or parts)[0].result_key,
    )
