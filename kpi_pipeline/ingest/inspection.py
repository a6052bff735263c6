"""`kpi inspect`: what a landing zone would load, without loading it anywhere.

The day's files go through the same ingest code as a run (contracts, typing, quarantine
rules, limits), into a throwaway in-memory DuckDB; nothing is written to the warehouse,
the snapshots or the data folder. A team connecting its data sees, per source and day,
the files found, the rows that would load and be quarantined with the top reasons, the
sources that sent nothing, and which KPIs the deployment can compute.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from kpi_pipeline.deployment import Deployment
from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_SOURCE
from kpi_pipeline.ingest.errors import ExtractError
from kpi_pipeline.ingest.loaders import (
    load_csv_day,
    load_ga4_day,
    prepare_csv_table,
    prepare_ga4_table,
)

TOP_REASONS = 3


@dataclass
class SourceDay:
    """One source's extract of one day, as ingest would take it."""

    source: str
    day: dt.date
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)  # top quarantine reasons
    refused: str | None = None  # the whole day would fail: why

    @property
    def delivered(self) -> bool:
        return bool(self.files) or self.refused is not None


def _reasons(con, source: str, day: dt.date) -> list[tuple[str, int]]:
    rows = con.execute(
        "select reason from raw._quarantine where source = ? and _extract_date = ?",
        [source, day],
    ).fetchall()
    # "column 'x': found 'abc'" and "... found 'abd'" are one reason: cut at the value
    counted = Counter(reason.split(", found", 1)[0] for (reason,) in rows)
    return counted.most_common(TOP_REASONS)


def inspect_day(con, landing: str | Path, source: str, day: dt.date) -> SourceDay:
    """The source's files of `day` through ingest, into `con` (a scratch database)."""
    seen = SourceDay(source, day)
    loaded_at = dt.datetime.now(dt.UTC)
    try:
        if source == GA4_SOURCE:
            results = [load_ga4_day(con, landing, day, loaded_at, prepared=True)]
        else:
            key = os.urandom(32)  # hashed emails are thrown away with the scratch database
            results = [
                load_csv_day(con, extract, landing, day, key, loaded_at, prepared=True)
                for extract in CSV_EXTRACTS
                if extract.source == source
            ]
    except ExtractError as err:
        seen.refused = str(err)
        return seen
    for result in results:
        seen.files += result.files
        seen.rows_read += result.rows_read
        seen.rows_loaded += result.rows_loaded
        seen.rows_quarantined += result.rows_quarantined
    seen.reasons = _reasons(con, source, day)
    return seen


def inspect_landing(
    landing: str | Path, deployment: Deployment, days: list[dt.date]
) -> list[SourceDay]:
    """Every declared source on every day, through ingest into an in-memory database."""
    sources = sorted(deployment.sources)
    con = duckdb.connect(":memory:")
    try:
        con.execute("set TimeZone = 'UTC'")
        prepare_ga4_table(con)
        for extract in CSV_EXTRACTS:
            prepare_csv_table(con, extract)
        return [inspect_day(con, landing, source, day) for day in days for source in sources]
    finally:
        con.close()
