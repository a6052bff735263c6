"""`publish.kpi_snapshots`: every published version of every day, kept in step with the disk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kpi_pipeline.publish.snapshot import latest_folder, read_manifest, version_folders

SNAPSHOTS_TABLE = "publish.kpi_snapshots"


def ensure_registry(con) -> None:
    con.execute("create schema if not exists publish")
    con.execute(
        f"""create table if not exists {SNAPSHOTS_TABLE} (
            day DATE NOT NULL, version INTEGER NOT NULL, published_at TIMESTAMPTZ NOT NULL,
            run_id VARCHAR, checksum VARCHAR NOT NULL, rows BIGINT NOT NULL,
            warnings VARCHAR[] NOT NULL, folder VARCHAR NOT NULL, is_latest BOOLEAN NOT NULL,
            primary key (day, version))"""
    )


def warning_labels(manifest: dict) -> list[str]:
    return [f"{w['asset']}:{w['check']}" for w in manifest.get("warnings", [])]


def sync_registry(con, root: Path, day: dt.date) -> int:
    """Record the day's versions found on disk that the table lacks (the disk is the truth:
    a crash between promotion and this insert is repaired by the next run), and which one
    is latest. Returns the number of rows added."""
    ensure_registry(con)
    day_folder = root / day.isoformat()
    known = {
        v
        for (v,) in con.execute(
            f"select version from {SNAPSHOTS_TABLE} where day = ?", [day]
        ).fetchall()
    }
    latest = latest_folder(day_folder)
    added = 0
    for version, folder in sorted(version_folders(day_folder).items()):
        if version in known:
            continue
        manifest = read_manifest(folder)
        con.execute(
            f"insert into {SNAPSHOTS_TABLE} values (?, ?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, false)",
            [
                day,
                version,
                manifest["published_at"],
                manifest.get("run_id"),
                manifest["data_checksum"],
                manifest["rows"],
                warning_labels(manifest),
                str(folder),
            ],
        )
        added += 1
    con.execute(
        f"update {SNAPSHOTS_TABLE} set is_latest = (folder = ?) where day = ?",
        [str(latest) if latest else "", day],
    )
    return added
