"""The publish schema's tables on Spark without a JVM: their DDL, and each day's partition
computed whole from what it holds (no UPDATE or DELETE on Parquet tables)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kpi_pipeline.publish import spark_tables

DAY = dt.date(2025, 6, 2)


def row(version: int, latest: bool | None = None) -> dict:
    found = {
        "day": DAY,
        "version": version,
        "published_at": spark_tables.timestamp(f"2025-06-0{2 + version}T06:00:00+00:00"),
        "run_id": f"run-{version}",
        "checksum": f"sum-{version}",
        "rows": 10,
        "warnings": [],
        "folder": f"/snapshots/2025-06-02/v{version}",
    }
    return found if latest is None else {**found, "is_latest": latest}


def test_the_tables_are_parquet_partitioned_by_day_in_sparks_types() -> None:
    sql = spark_tables.create_table_sql("publish.kpi_snapshots", spark_tables.SNAPSHOT_SCHEMA)
    assert sql == (
        "create table if not exists publish.kpi_snapshots (`version` int, `published_at` "
        "timestamp, `run_id` string, `checksum` string, `rows` bigint, `warnings` "
        "array<string>, `folder` string, `is_latest` boolean, `day` date) using parquet "
        "partitioned by (`day`)"
    )
    ledger = spark_tables.create_table_sql(
        "publish.kpi_restatements", spark_tables.RESTATEMENT_SCHEMA
    )
    assert "`causes` array<string>" in ledger and "`recorded_at` timestamp" in ledger


def test_a_new_version_is_added_and_made_the_only_latest() -> None:
    rows, added = spark_tables.snapshot_day_rows(
        [row(1, latest=True)], {2: row(2)}, "/snapshots/2025-06-02/v2"
    )
    assert added == 1
    assert [(r["version"], r["is_latest"]) for r in rows] == [(1, False), (2, True)]
    assert rows[0] == row(1, latest=False)  # v1's row otherwise untouched


def test_a_known_version_is_not_added_twice() -> None:
    rows, added = spark_tables.snapshot_day_rows(
        [row(1, latest=True)], {1: row(1)}, "/snapshots/2025-06-02/v1"
    )
    assert (added, rows) == (0, [row(1, latest=True)])


def test_an_alert_attempt_replaces_the_row_of_its_kpi_and_kind_only() -> None:
    known = [
        {"kpi_id": "aov", "kind": "off_track", "outcome": "failed"},
        {"kpi_id": "cvr", "kind": "off_track", "outcome": "sent"},
    ]
    attempts = [{"kpi_id": "aov", "kind": "off_track", "outcome": "sent"}]
    assert spark_tables.alert_day_rows(known, attempts) == [
        {"kpi_id": "aov", "kind": "off_track", "outcome": "sent"},
        {"kpi_id": "cvr", "kind": "off_track", "outcome": "sent"},
    ]


def test_the_frames_written_keep_the_types_even_when_empty() -> None:
    frame = spark_tables.frame_of([row(1, latest=True)], spark_tables.SNAPSHOT_SCHEMA)
    assert frame.schema["warnings"] == pl.List(pl.String)
    assert frame["published_at"][0] == dt.datetime(2025, 6, 3, 6, tzinfo=dt.UTC)
    empty = spark_tables.frame_of([], spark_tables.RESTATEMENT_SCHEMA)
    assert empty.height == 0 and empty.schema["causes"] == pl.List(pl.String)
