"""What a snapshot's manifest records besides the KPI rows: lineage and provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpi_pipeline.settings import PROJECT_ROOT
from kpi_pipeline.warehouse import table_exists


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def file_sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def ingest_log_exists(con) -> bool:
    return table_exists(con, "raw", "_ingest_log")


@dataclass(frozen=True)
class LoggedFile:
    """An extract file as `raw._ingest_log` records it."""

    extract_date: dt.date
    raw_table: str
    file: str
    sha256: str | None
    rows_read: int | None
    rows_loaded: int | None
    rows_quarantined: int | None


def read_ingest_log(con, through: dt.date) -> list[LoggedFile] | None:
    """Every file `raw._ingest_log` records up to `through`, by day, raw table and file, in
    one query (what a day's manifest says of its sources is computed from them below: on
    Spark each query is a round trip); None without an ingest log."""
    if not ingest_log_exists(con):
        return None
    rows = con.execute(
        """select _extract_date, raw_table, source_file, checksum, rows_read, rows_loaded,
                  rows_quarantined
           from raw._ingest_log where _extract_date <= ?
           order by _extract_date, raw_table, source_file""",
        [through],
    ).fetchall()
    return [LoggedFile(*row) for row in rows]


def source_files(log: list[LoggedFile] | None, day: dt.date) -> dict[str, Any]:
    """The extract files of the day (name, checksum, rows read/loaded/quarantined) and one
    digest over every file of every extract up to the day: the day's KPIs depend on all of
    them, and the digest changes if any of them changed."""
    if log is None:
        return {"files": [], "all_extracts_digest": None, "all_extracts_files": 0}
    history = [f for f in log if f.extract_date <= day]
    lines = (f"{f.extract_date}|{f.raw_table}|{f.file}|{f.sha256}" for f in history)
    return {
        "files": [
            {
                "raw_table": f.raw_table,
                "file": f.file,
                "sha256": f.sha256,
                "rows_read": f.rows_read,
                "rows_loaded": f.rows_loaded,
                "rows_quarantined": f.rows_quarantined,
            }
            for f in history
            if f.extract_date == day
        ],
        "all_extracts_digest": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        "all_extracts_files": len(history),
    }


def raw_row_counts(log: list[LoggedFile] | None, day: dt.date) -> dict[str, int | None]:
    """Rows loaded per raw table from the day's extracts (None where no file said)."""
    counts: dict[str, int | None] = {}
    for f in log or []:
        if f.extract_date == day:
            loaded = [n for n in (counts.get(f.raw_table), f.rows_loaded) if n is not None]
            counts[f.raw_table] = sum(loaded) if loaded else None
    return dict(sorted(counts.items()))


def window_files(log: list[LoggedFile] | None, day: dt.date, days_around: int) -> list[dict]:
    """The extract files of the days `days_around` before and after `day` (the day's own
    included) with their checksums: a late or re-sent one among them can restate the day,
    and the restatement ledger names it (publish/restatements.py). `log` must reach
    `days_around` days past `day`."""
    first, last = day - dt.timedelta(days=days_around), day + dt.timedelta(days=days_around)
    return [
        {
            "extract_date": str(f.extract_date),
            "raw_table": f.raw_table,
            "file": f.file,
            "sha256": f.sha256,
        }
        for f in log or []
        if first <= f.extract_date <= last
    ]


def kpi_definitions(catalogue_path: Path, compiled_facts_sql: Path) -> dict[str, Any]:
    """What the restatement ledger compares between versions: per KPI the digests of its
    definition and of its target in kpis.yml and the sources it is measured from
    (restatements.definition_hashes), and the digest of the daily facts' compiled SQL of the
    latest dbt run (None when dbt left none)."""
    import yaml

    from kpi_pipeline.kpis.catalogue import load_full_catalogue
    from kpi_pipeline.publish.restatements import definition_hashes, sql_digest

    document = yaml.safe_load(catalogue_path.read_text())
    compiled = compiled_facts_sql.read_text() if compiled_facts_sql.is_file() else None
    return {
        "fct_kpi_daily_sql": sql_digest(compiled),
        "kpis": definition_hashes(document, load_full_catalogue(catalogue_path)),
    }
