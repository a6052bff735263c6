"""Ingest every extract of some days from a landing zone into a warehouse connection, as the
ingest assets load them (one `load_*_day` per extract and day), for tests that compare
warehouses on the same files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS
from kpi_pipeline.ingest.loaders import DayResult, load_csv_day, load_ga4_day

# the key tests/conftest.py's deployments hash personal data with (KPI_PII_KEY)
PII_KEY = b"test-key-not-a-secret"


def ingest_days(
    con, landing: Path, days: list[dt.date], loaded_at: dt.datetime, key: bytes = PII_KEY
) -> list[DayResult]:
    """Each day's CSV extracts, then its GA4 export; their row accounting."""
    results = []
    for day in days:
        for extract in CSV_EXTRACTS:
            results.append(load_csv_day(con, extract, landing, day, key, loaded_at))
        results.append(load_ga4_day(con, landing, day, loaded_at))
    return results
