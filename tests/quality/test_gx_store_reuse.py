"""A suite already in the GX store is validated from there, not written again: the results
GX stores are those of a store the suite is added to, passing or failing, and a suite
whose definition changed is stored anew."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kpi_pipeline.quality.suites import load_suite_dict, validate_frame
from tests.quality.gx_results import stored_results

ORDERS = pd.DataFrame({"rows": [5, 3]})
NO_ORDERS = pd.DataFrame({"rows": [5, 0]})


def stored_suite(store: Path, name: str) -> dict:
    return json.loads((store / "gx" / "expectations" / f"{name}.json").read_text())


@pytest.mark.parametrize("frame", [ORDERS, NO_ORDERS], ids=["passing", "failing"])
def test_a_stored_suite_validates_as_an_added_one(frame: pd.DataFrame, tmp_path: Path) -> None:
    kept, fresh = tmp_path / "kept", tmp_path / "fresh"
    validate_frame("raw_orders_volume", ORDERS, store=kept, run_name="first")
    suite_file = kept / "gx" / "expectations" / "raw_orders_volume.json"
    written = suite_file.stat().st_mtime_ns
    again = validate_frame("raw_orders_volume", frame, store=kept, run_name="second")
    added = validate_frame("raw_orders_volume", frame, store=fresh, run_name="second")
    assert again.outcomes == added.outcomes and again.rows == added.rows
    assert bool(again.errors) == (frame is NO_ORDERS)
    assert stored_results(kept)[1:] == stored_results(fresh)  # runs "first", "second"
    assert suite_file.stat().st_mtime_ns == written  # read, not written again


def test_a_changed_suite_is_stored_and_validated_anew(tmp_path: Path) -> None:
    suite = load_suite_dict("raw_orders_volume")
    validate_frame("raw_orders_volume", NO_ORDERS, suite=suite, store=tmp_path)
    looser = json.loads(json.dumps(suite))
    looser["expectations"][0]["kwargs"]["min_value"] = 0
    outcome = validate_frame("raw_orders_volume", NO_ORDERS, suite=looser, store=tmp_path)
    assert not outcome.errors  # a day without orders passes the looser suite
    [stored] = stored_suite(tmp_path, "raw_orders_volume")["expectations"]
    assert stored["kwargs"]["min_value"] == 0
    outcome = validate_frame("raw_orders_volume", NO_ORDERS, suite=suite, store=tmp_path)
    assert outcome.errors[0].unexpected_count == 1  # and back


def test_a_suite_gone_from_the_store_is_added_again(tmp_path: Path) -> None:
    validate_frame("raw_orders_volume", ORDERS, store=tmp_path)
    (tmp_path / "gx" / "expectations" / "raw_orders_volume.json").unlink()
    outcome = validate_frame("raw_orders_volume", NO_ORDERS, store=tmp_path)
    assert outcome.errors[0].unexpected_count == 1
    assert stored_suite(tmp_path, "raw_orders_volume")["expectations"]
