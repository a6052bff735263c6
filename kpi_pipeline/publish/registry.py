"""`publish.kpi_snapshots`: every published version of every day, and
`publish.kpi_restatements`: every KPI row a later version changed and why; both kept in step
with the disk. On Spark the same tables are Parquet tables whose day partition is rewritten
whole instead of updated (`spark_tables.py`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kpi_pipeline.publish import spark_tables
from kpi_pipeline.publish.restatements import ledger_rows
from kpi_pipeline.publish.snapshot import latest_folder, read_manifest, version_folders
from kpi_pipeline.warehouse import is_spark

SNAPSHOTS_TABLE = "publish.kpi_snapshots"
RESTATEMENTS_TABLE = "publish.kpi_restatements"
LEDGER_COLUMNS = (
    "day",
    "from_version",
    "to_version",
    "kpi_id",
    "dimension",
    "dimension_value",
    "old_value",
    "new_value",
    "old_target",
    "new_target",
    "old_status",
    "new_status",
    "causes",
    "recorded_at",
)


def ensure_registry(con) -> None:
    if is_spark(con):
        spark_tables.ensure_table(con, SNAPSHOTS_TABLE, spark_tables.SNAPSHOT_SCHEMA)
        return
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
    if is_spark(con):
        return sync_registry_spark(con, root, day)
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


def ensure_ledger(con) -> None:
    if is_spark(con):
        spark_tables.ensure_table(con, RESTATEMENTS_TABLE, spark_tables.RESTATEMENT_SCHEMA)
        return
    con.execute("create schema if not exists publish")
    con.execute(
        f"""create table if not exists {RESTATEMENTS_TABLE} (
            day DATE NOT NULL, from_version INTEGER, to_version INTEGER NOT NULL,
            kpi_id VARCHAR NOT NULL, dimension VARCHAR NOT NULL, dimension_value VARCHAR NOT NULL,
            old_value DOUBLE PRECISION, new_value DOUBLE PRECISION,
            old_target DOUBLE PRECISION, new_target DOUBLE PRECISION,
            old_status VARCHAR, new_status VARCHAR, causes VARCHAR[] NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            primary key (day, to_version, kpi_id, dimension, dimension_value))"""
    )


def sync_restatements(con, root: Path, day: dt.date) -> int:
    """Record the changed KPI rows of the day's versions found on disk that the ledger lacks,
    from each version's manifest `changes` (the disk is the truth, as for the registry): one
    row per changed KPI row. A rerun that published nothing records nothing. Returns the
    number of rows added."""
    if is_spark(con):
        return sync_restatements_spark(con, root, day)
    ensure_ledger(con)
    known = {
        v
        for (v,) in con.execute(
            f"select distinct to_version from {RESTATEMENTS_TABLE} where day = ?", [day]
        ).fetchall()
    }
    recorded_at = dt.datetime.now(dt.UTC).isoformat()
    added = 0
    for version, folder in sorted(version_folders(root / day.isoformat()).items()):
        if version in known or version == 1:
            continue
        changes = read_manifest(folder).get("changes")
        for row in ledger_rows(changes or {}, version):
            con.execute(
                f"insert into {RESTATEMENTS_TABLE} ({', '.join(LEDGER_COLUMNS)}) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ)",
                [day, *(row[c] for c in LEDGER_COLUMNS[1:-1]), recorded_at],
            )
            added += 1
    return added


def registry_row(day: dt.date, version: int, folder: Path) -> dict:
    """A version's row of `publish.kpi_snapshots` from its manifest (`is_latest` aside)."""
    manifest = read_manifest(folder)
    return {
        "day": day,
        "version": version,
        "published_at": spark_tables.timestamp(manifest["published_at"]),
        "run_id": manifest.get("run_id"),
        "checksum": manifest["data_checksum"],
        "rows": manifest["rows"],
        "warnings": warning_labels(manifest),
        "folder": str(folder),
    }


def sync_registry_spark(con, root: Path, day: dt.date) -> int:
    """`sync_registry` on Spark: the day's partition read, the versions on disk it lacks
    added, `is_latest` set, and the partition written back whole (no UPDATE on Parquet)."""
    ensure_registry(con)
    day_folder = root / day.isoformat()
    known = spark_tables.day_rows(con, SNAPSHOTS_TABLE, day)
    versions = {int(row["version"]) for row in known}
    found = {
        version: registry_row(day, version, folder)
        for version, folder in version_folders(day_folder).items()
        if version not in versions
    }
    latest = latest_folder(day_folder)
    rows, added = spark_tables.snapshot_day_rows(known, found, str(latest) if latest else "")
    schema = spark_tables.SNAPSHOT_SCHEMA
    spark_tables.overwrite_day(con, SNAPSHOTS_TABLE, schema, day, rows)
    return added


def sync_restatements_spark(con, root: Path, day: dt.date) -> int:
    """`sync_restatements` on Spark: the ledger only grows, so the rows of the versions it
    lacks are inserted, in one insert."""
    ensure_ledger(con)
    known = {int(row["to_version"]) for row in spark_tables.day_rows(con, RESTATEMENTS_TABLE, day)}
    recorded_at = dt.datetime.now(dt.UTC)
    rows = [
        {**row, "day": day, "recorded_at": recorded_at}
        for version, folder in sorted(version_folders(root / day.isoformat()).items())
        if version not in known and version != 1
        for row in ledger_rows(read_manifest(folder).get("changes") or {}, version)
    ]
    spark_tables.append_rows(con, RESTATEMENTS_TABLE, spark_tables.RESTATEMENT_SCHEMA, rows)
    return len(rows)
