"""Versions of a day: built aside, audited, promoted; `latest` moves; the registry follows."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.publish.registry import SNAPSHOTS_TABLE, sync_registry
from kpi_pipeline.publish.snapshot import latest_folder, publish_snapshot, snapshot_frame
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.facts import overall_fact
from tests.status_oracle import day_attainment

DAY = dt.date(2025, 3, 3)


def frame(revenue: float) -> pl.DataFrame:
    facts = overall_fact(DAY, "net_revenue", revenue)
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    return snapshot_frame(facts, catalogue, day_attainment(facts, catalogue))


def manifest(run: str, warnings: list[dict] | None = None) -> dict:
    return {"run_id": run, "published_at": "2025-03-04T06:00:00+00:00", "warnings": warnings or []}


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_republication_writes_v2_moves_latest_and_the_registry_lists_both(
    tmp_path: Path,
) -> None:
    root = tmp_path / "snapshots"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    publish_snapshot(
        root, DAY, frame(100.0), manifest("r1"), lambda v, _: {"report.html": b"v%d" % v}
    )
    assert sync_registry(con, root, DAY) == 1
    v1 = files(root / DAY.isoformat() / "v1")
    assert v1["report.html"] == b"v1"

    warned = [{"asset": "raw/orders", "check": "anomalies"}]
    outcome = publish_snapshot(root, DAY, frame(150.0), manifest("r2", warned))
    assert (outcome.outcome, outcome.version) == ("published", 2)
    assert sync_registry(con, root, DAY) == 1
    assert sync_registry(con, root, DAY) == 0  # idempotent
    assert files(root / DAY.isoformat() / "v1") == v1
    assert latest_folder(root / DAY.isoformat()) == root / DAY.isoformat() / "v2"
    rows = con.execute(
        f"select version, run_id, rows, warnings, is_latest from {SNAPSHOTS_TABLE} order by 1"
    ).fetchall()
    assert rows == [(1, "r1", 1, [], False), (2, "r2", 1, ["raw/orders:anomalies"], True)]
    checksums = [c for (c,) in con.execute(f"select checksum from {SNAPSHOTS_TABLE}").fetchall()]
    assert len(set(checksums)) == 2


def test_a_version_that_fails_while_being_built_is_never_promoted(tmp_path: Path) -> None:
    root = tmp_path / "snapshots"
    publish_snapshot(root, DAY, frame(100.0), manifest("r1"))
    before = files(root / DAY.isoformat() / "v1")

    def broken_report(version: int, changes: dict | None) -> dict[str, bytes]:
        raise RuntimeError("template error")

    with pytest.raises(RuntimeError, match="template error"):
        publish_snapshot(root, DAY, frame(150.0), manifest("r2"), broken_report)
    day_folder = root / DAY.isoformat()
    assert sorted(p.name for p in day_folder.iterdir()) == ["latest", "v1"]
    assert os.readlink(day_folder / "latest") == "v1"
    assert files(day_folder / "v1") == before
    assert [p.name for p in root.iterdir()] == [DAY.isoformat()]  # no staging left behind
    other_day = DAY.replace(day=4)
    with pytest.raises(RuntimeError, match="template error"):
        publish_snapshot(root, other_day, frame(150.0), manifest("r3"), broken_report)
    assert not (root / other_day.isoformat()).exists()  # no empty day folder either


def test_the_registry_repairs_a_version_promoted_before_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "snapshots"
    publish_snapshot(root, DAY, frame(100.0), manifest("r1"))
    publish_snapshot(root, DAY, frame(120.0), manifest("r2"))  # registry never told
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert sync_registry(con, root, DAY) == 2
    assert con.execute(f"select version from {SNAPSHOTS_TABLE} where is_latest").fetchall() == [
        (2,)
    ]


def test_the_registry_marks_the_latest_version_when_the_snapshot_folder_is_a_symlink(
    tmp_path: Path,
) -> None:
    """KPI_SNAPSHOT_DIR reached through a symbolic link (a mounted volume, macOS's /tmp): the
    registry's folders and `latest` are compared in the same form, so the latest version is
    still the one marked."""
    (tmp_path / "volume").mkdir()
    root = tmp_path / "snapshots"
    root.symlink_to(tmp_path / "volume", target_is_directory=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    publish_snapshot(root, DAY, frame(100.0), manifest("r1"))
    publish_snapshot(root, DAY, frame(150.0), manifest("r2"))

    assert sync_registry(con, root, DAY) == 2

    assert latest_folder(root / DAY.isoformat()) == root / DAY.isoformat() / "v2"
    rows = con.execute(
        f"select version, folder, is_latest from {SNAPSHOTS_TABLE} order by 1"
    ).fetchall()
    assert rows == [
        (1, str(root / DAY.isoformat() / "v1"), False),
        (2, str(root / DAY.isoformat() / "v2"), True),
    ]
