"""What a snapshot's manifest records besides the KPI rows: lineage and provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
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


def source_files(con, day: dt.date) -> dict[str, Any]:
    """The extract files of the day (name, checksum, rows read/loaded/quarantined) from
    `raw._ingest_log`, and one digest over every file of every extract up to the day: the
    day's KPIs depend on all of them, and the digest changes if any of them changed."""
    if not ingest_log_exists(con):
        return {"files": [], "all_extracts_digest": None, "all_extracts_files": 0}
    rows = con.execute(
        """select raw_table, source_file, checksum, rows_read, rows_loaded, rows_quarantined
           from raw._ingest_log where _extract_date = ? order by raw_table, source_file""",
        [day],
    ).fetchall()
    history = con.execute(
        """select _extract_date, raw_table, source_file, checksum from raw._ingest_log
           where _extract_date <= ? order by _extract_date, raw_table, source_file""",
        [day],
    ).fetchall()
    digest = hashlib.sha256("\n".join("|".join(map(str, r)) for r in history).encode())
    return {
        "files": [
            {
                "raw_table": r[0],
                "file": r[1],
                "sha256": r[2],
                "rows_read": r[3],
                "rows_loaded": r[4],
                "rows_quarantined": r[5],
            }
            for r in rows
        ],
        "all_extracts_digest": digest.hexdigest(),
        "all_extracts_files": len(history),
    }


def raw_row_counts(con, day: dt.date) -> dict[str, int]:
    """Rows loaded per raw table from the day's extracts."""
    if not ingest_log_exists(con):
        return {}
    return dict(
        con.execute(
            """select raw_table, sum(rows_loaded)::BIGINT from raw._ingest_log
               where _extract_date = ? group by raw_table order by raw_table""",
            [day],
        ).fetchall()
    )


def window_files(con, day: dt.date, days_around: int) -> list[dict[str, Any]]:
    """The extract files of the days `days_around` before and after `day` (the day's own
    included) with their checksums: a late or re-sent one among them can restate the day,
    and the restatement ledger names it (publish/restatements.py)."""
    if not ingest_log_exists(con):
        return []
    rows = con.execute(
        """select _extract_date, raw_table, source_file, checksum from raw._ingest_log
           where _extract_date between ? and ? order by _extract_date, raw_table, source_file""",
        [day - dt.timedelta(days=days_around), day + dt.timedelta(days=days_around)],
    ).fetchall()
    return [
        {"extract_date": str(r[0]), "raw_table": r[1], "file": r[2], "sha256": r[3]} for r in rows
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
