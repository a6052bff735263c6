"""A long window's raw rows validated a part at a time (at most a month, and at most
`CHUNK_ROWS` rows unless one day alone has more), so a year's backfill never holds a year
of GA4 events in one pandas frame (docs/benchmarks.md, "Backfill"): at a million events a
day, a month was 31 M rows and 15 GiB. The parts' results are merged into the one outcome
the check reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from kpi_pipeline.quality.suites import UNEXPECTED_SAMPLE_SIZE, ExpectationOutcome, SuiteOutcome

CHUNK_DAYS = 31
CHUNK_ROWS = 3_000_000


def window_chunks(
    days: list[dt.date],
    size: int = CHUNK_DAYS,
    rows: Mapping[dt.date, int] | None = None,
    max_rows: int = CHUNK_ROWS,
) -> list[list[dt.date]]:
    """The window's days in order, at most `size` at a time and, given each day's `rows`,
    at most `max_rows` rows at a time (a day with more is a part of its own)."""
    chunks: list[list[dt.date]] = []
    held = 0
    for day in sorted(days):
        count = (rows or {}).get(day, 0)
        if not chunks or len(chunks[-1]) == size or (chunks[-1] and held + count > max_rows):
            chunks.append([])
            held = 0
        chunks[-1].append(day)
        held += count
    return chunks


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
