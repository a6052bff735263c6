from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.publish.snapshot import (
    TEXT_COLUMNS,
    publish_snapshot,
    snapshot_frame,
    spreadsheet_safe,
    status_table,
)
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.facts import overall_fact
from tests.status_oracle import day_attainment

DAY = dt.date(2025, 3, 3)


def facts(conversions: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kpi_date": [DAY, DAY],
            "kpi_id": ["session_conversion_rate", "session_conversion_rate"],
            "dimension": ["all", "channel"],
            "dimension_value": ["all", '=HYPERLINK("x")'],
            "numerator": [conversions, conversions],
            "denominator": [100.0, 100.0],
            "value": [conversions / 100, conversions / 100],
        }
    )


def snapshot(frame: pl.DataFrame, catalogue) -> pl.DataFrame:
    return snapshot_frame(frame, catalogue, day_attainment(frame, catalogue))


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_snapshot_is_written_aside_and_a_change_becomes_a_new_version(tmp_path: Path) -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    first = publish_snapshot(tmp_path, DAY, snapshot(facts(3), catalogue), {"run_id": "a"})
    assert (first.outcome, first.version) == ("published", 1)
    day_folder = tmp_path / DAY.isoformat()
    assert sorted(p.name for p in (day_folder / "v1").iterdir()) == [
        "kpis.csv",
        "kpis.parquet",
        "manifest.json",
    ]
    assert os.readlink(day_folder / "latest") == "v1"
    v1 = tree(day_folder / "v1")
    manifest = json.loads(v1["manifest.json"])
    assert (manifest["rows"], manifest["run_id"], manifest["version"]) == (2, "a", 1)

    again = publish_snapshot(tmp_path, DAY, snapshot(facts(3), catalogue), {"run_id": "b"})
    assert (again.outcome, again.version) == ("unchanged", 1)
    assert sorted(p.name for p in day_folder.iterdir()) == ["latest", "v1"]

    changed = publish_snapshot(tmp_path, DAY, snapshot(facts(4), catalogue), {"run_id": "c"})
    assert (changed.outcome, changed.version) == ("published", 2)
    assert os.readlink(day_folder / "latest") == "v2"
    assert tree(day_folder / "v1") == v1
    assert json.loads((day_folder / "latest" / "manifest.json").read_text())["run_id"] == "c"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]
    assert not [p for p in day_folder.iterdir() if p.name.startswith(".latest")]


def test_overall_rows_carry_target_and_status_breakdowns_do_not() -> None:
    frame = snapshot(facts(3), load_catalogue(KPI_CATALOGUE_PATH))
    overall, channel = frame.sort("dimension").iter_rows(named=True)
    assert (overall["target"], overall["status"]) == (0.02, "on_track")  # 0.03 >= 0.02
    assert (channel["target"], channel["status"]) == (None, None)


def organic(sessions: float) -> pl.DataFrame:
    return overall_fact(DAY, "organic_traffic", sessions)


def test_targets_and_statuses_are_the_attainments_not_recomputed() -> None:
    """The snapshot states what fct_kpi_attainment holds for the day (where the status
    rule lives): a target relative to last year and its status come from there as they
    are; a KPI the attainment does not hold refuses the snapshot rather than guess."""
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)  # organic traffic: +20 % on last year
    row = snapshot_frame(organic(550.0), catalogue, {"organic_traffic": (600.0, "at_risk")})
    assert (row["target"][0], row["status"][0]) == (600.0, "at_risk")
    no_history = snapshot_frame(organic(610.0), catalogue, {"organic_traffic": (None, "no_target")})
    assert (no_history["target"][0], no_history["status"][0]) == (None, "no_target")
    with pytest.raises(ValueError, match="fct_kpi_attainment holds no status of organic_traffic"):
        snapshot_frame(organic(610.0), catalogue, {})


def test_status_table_for_the_ui_lists_overall_rows_only() -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    table = status_table(snapshot(facts(3), catalogue), catalogue).splitlines()
    assert table[2:] == ["| Session conversion rate | marketing | 0.03 | 0.02 | on_track |"]


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    frame = pl.DataFrame(
        {
            c: ["=1+1", "+x", "-y", "@z", "ok"]
            for c in TEXT_COLUMNS  # every text column of a snapshot
        }
    )
    safe = spreadsheet_safe(frame)["dimension_value"].to_list()
    assert safe == ["'=1+1", "'+x", "'-y", "'@z", "ok"]
