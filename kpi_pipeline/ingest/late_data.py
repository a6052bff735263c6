"""Late data: which extract days before a run's window to look at again, and whether the
files of such a day changed since they were loaded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kpi_pipeline.ingest import raw_tables
from kpi_pipeline.ingest.decoding import UndecodableError, decompress
from kpi_pipeline.ingest.landing import LandingFile, content_checksum


def lookback_days(days: list[dt.date], lookback: int) -> list[dt.date]:
    """The `lookback` days before the run's first day, oldest first."""
    return [days[0] - dt.timedelta(days=n) for n in range(lookback, 0, -1)] if days else []


def csv_checksum(file: LandingFile) -> str:
    """The checksum ingest logs for a CSV: of the uncompressed content."""
    try:
        return content_checksum(decompress(file.read_bytes()))
    except UndecodableError:
        return "unreadable"  # differs from any logged checksum: the reload reports the error


def ga4_checksum(file: LandingFile) -> str:
    return file.checksum()


def day_changed(
    con,
    table: str,
    day: dt.date,
    files: list[LandingFile],
    checksum: Callable[[LandingFile], str],
) -> bool:
    """True when the day's files differ from what was loaded (a late or re-delivered file).

    A day whose folder is empty now is never reloaded: files removed from the landing zone
    (retention) must not wipe what was loaded from them. The raw schema and its ingest log
    exist (the ingest step prepares them first)."""
    if not files:
        return False
    logged = set(
        con.execute(
            f"select source_file, checksum from {raw_tables.INGEST_LOG_TABLE} "
            "where raw_table = ? and _extract_date = ?",
            [table, day],
        ).fetchall()
    )
    return {(str(f), checksum(f)) for f in files} != logged
