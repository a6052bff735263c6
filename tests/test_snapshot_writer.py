from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.publish.snapshot import (
    SnapshotConflictError,
    publish_snapshot,
    snapshot_frame,
    spreadsheet_safe,
)
from kpi_pipeline.settings import KPI_CATALOGUE_PATH

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


def test_snapshot_is_written_aside_and_never_overwritten(tmp_path: Path) -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    first = publish_snapshot(tmp_path, DAY, snapshot_frame(facts(3), catalogue), {"run_id": "a"})
    assert first.outcome == "published"
    folder = tmp_path / DAY.isoformat()
    assert sorted(p.name for p in folder.iterdir()) == ["kpis.csv", "kpis.parquet", "manifest.json"]
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    manifest = json.loads(before["manifest.json"])
    assert manifest["rows"] == 2 and manifest["run_id"] == "a"

    again = publish_snapshot(tmp_path, DAY, snapshot_frame(facts(3), catalogue), {"run_id": "b"})
    assert again.outcome == "unchanged"
    with pytest.raises(SnapshotConflictError, match="never overwritten"):
        publish_snapshot(tmp_path, DAY, snapshot_frame(facts(4), catalogue), {"run_id": "c"})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


def test_overall_rows_carry_target_and_status_breakdowns_do_not() -> None:
    frame = snapshot_frame(facts(3), load_catalogue(KPI_CATALOGUE_PATH))
    overall, channel = frame.sort("dimension").iter_rows(named=True)
    assert (overall["target"], overall["status"]) == (0.02, "on_track")  # 0.03 >= 0.02
    assert (channel["target"], channel["status"]) == (None, None)


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    frame = pl.DataFrame(
        {
            c: ["=1+1", "+x", "-y", "@z", "ok"]
            for c in ("kpi_id", "family", "dimension", "dimension_value", "status")
        }
    )
    safe = spreadsheet_safe(frame)["dimension_value"].to_list()
    assert safe == ["'=1+1", "'+x", "'-y", "'@z", "ok"]
