"""The pure window rules, the durable cursor and the atomic landing of a day's files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kpi_pipeline.pull.cursor import CursorStore
from kpi_pipeline.pull.errors import DayNotOverError
from kpi_pipeline.pull.landing import MANIFEST_NAME, Window, land_day, read_manifest
from kpi_pipeline.pull.window import day_window, pull_window

DAY = dt.date(2025, 6, 2)
UTC = dt.UTC
LATER = dt.datetime(2025, 6, 10, tzinfo=UTC)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2025, 6, day, hour, tzinfo=UTC)


def test_a_day_is_its_midnights_in_the_reporting_timezone() -> None:
    assert day_window(DAY, "UTC") == Window(at(2), at(3))
    assert day_window(DAY, "Europe/Berlin") == Window(at(1, 22), at(2, 22))  # CEST, UTC+2


def test_the_window_is_the_day_caught_up_from_a_cursor_behind_it() -> None:
    assert pull_window(DAY, "UTC", None, None, LATER) == Window(at(2), at(3))
    assert pull_window(DAY, "UTC", at(2), None, LATER) == Window(at(2), at(3))
    # two days were missed: they come in this pull, nothing is lost
    may_31 = at(1) - dt.timedelta(days=1)
    assert pull_window(DAY, "UTC", may_31, None, LATER) == Window(may_31, at(3))
    # the cursor is ahead (an old day pulled again by hand): the day's own window
    assert pull_window(DAY, "UTC", at(5), None, LATER) == Window(at(2), at(3))
    # a first pull may ask for history
    since = dt.datetime(2020, 1, 1, tzinfo=UTC)
    assert pull_window(DAY, "UTC", None, None, LATER, since) == Window(since, at(3))


def test_a_day_pulled_before_is_pulled_over_the_same_window() -> None:
    landed = Window(at(1, 5), at(3))
    assert pull_window(DAY, "UTC", at(7), landed, LATER) == landed


def test_a_day_not_over_is_refused() -> None:
    with pytest.raises(DayNotOverError, match="2025-06-02 has not ended yet in UTC"):
        pull_window(DAY, "UTC", None, None, at(2, 23))


def test_the_cursor_survives_reopening_and_only_moves_forward(tmp_path: Path) -> None:
    path = tmp_path / "state" / "pull_cursors.json"
    store = CursorStore(path)
    assert store.get("hubspot") is None
    assert store.advance("hubspot", at(3), DAY) == at(3)
    assert store.advance("hubspot", at(2), DAY) == at(3)  # an older day pulled again
    store.advance("salesforce", at(4), DAY)
    reopened = CursorStore(path)
    assert reopened.get("hubspot") == at(3) and reopened.get("salesforce") == at(4)
    assert [p.name for p in path.parent.iterdir()] == ["pull_cursors.json"]  # no temp left


def test_landing_writes_files_then_the_manifest_and_a_rerun_the_same_bytes(
    tmp_path: Path,
) -> None:
    records = {"contacts.jsonl": [{"id": "2", "b": 1, "a": "é"}], "deals.jsonl": []}
    window = Window(at(2), at(3))
    manifest = land_day(str(tmp_path), "hubspot", DAY, window, records)
    folder = tmp_path / "hubspot" / "dt=2025-06-02"
    assert sorted(p.name for p in folder.iterdir()) == [
        MANIFEST_NAME,
        "contacts.jsonl",
        "deals.jsonl",
    ]
    assert (folder / "contacts.jsonl").read_bytes() == '{"a":"é","b":1,"id":"2"}\n'.encode()
    assert (folder / "deals.jsonl").read_bytes() == b""
    assert manifest["window"] == {"from": "2025-06-02T00:00:00Z", "to": "2025-06-03T00:00:00Z"}
    assert manifest["files"]["contacts.jsonl"]["records"] == 1
    assert read_manifest(str(tmp_path), "hubspot", DAY) == manifest
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    land_day(str(tmp_path), "hubspot", DAY, window, records)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert json.loads((folder / MANIFEST_NAME).read_text()) == manifest


def test_landing_through_fsspec(tmp_path: Path) -> None:
    import fsspec

    land_day(
        "memory://landing-test",
        "salesforce",
        DAY,
        Window(at(2), at(3)),
        {"Lead.jsonl": [{"Id": "00Q1"}]},
    )
    fs = fsspec.filesystem("memory")
    assert fs.cat_file("/landing-test/salesforce/dt=2025-06-02/Lead.jsonl") == b'{"Id":"00Q1"}\n'
    assert sorted(
        p.rsplit("/", 1)[-1] for p in fs.ls("/landing-test/salesforce/dt=2025-06-02", detail=False)
    ) == ["Lead.jsonl", MANIFEST_NAME]
