"""The GX suite of the daily facts follows from kpis.yml (issue 14): each KPI's value range
is derived from its formula, or declared with `range:`; a KPI added to the catalogue gets
its range with no hand edit, and the committed suite is kept in step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from kpi_pipeline.kpis.catalogue import Catalogue, CatalogueError, load_full_catalogue
from kpi_pipeline.kpis.derive import stale, sync
from kpi_pipeline.kpis.fact_expectations import (
    TABLE_EXPECTATIONS,
    derived_range,
    facts_suite,
    facts_suite_json,
    kpi_range,
)
from kpi_pipeline.quality.suites import validate_frame
from kpi_pipeline.settings import EXPECTATIONS_DIR, KPI_CATALOGUE_PATH

# The ranges written by hand in expectations/fct_kpi_daily.json before it was derived.
HAND_WRITTEN = {
    "session_conversion_rate": (0, 1),
    "user_conversion_rate": (0, 1),
    "cost_per_acquisition": (0, None),
    "customer_acquisition_cost": (0, None),
    "return_on_ad_spend": (0, None),
    "marketing_roi": (-1, None),
    "social_engagement_rate": (0, None),
    "organic_traffic": (0, None),
    "lead_to_customer_rate": (0, 1),
    "deal_win_rate": (0, 1),
    "net_revenue": (0, None),
    "average_order_value": (0, None),
    "nps": (-100, 100),
    "avg_order_processing_hours": (0, None),
}


def block(kpi_id: str, formula: str, extra: str = "") -> str:
    return f"""
  - id: {kpi_id}
    name: {kpi_id}
    family: marketing
    description: A KPI of the test.
    objective: Test the derived ranges.
    formula: {formula}
    unit: ratio
    direction: higher_is_better
    dimensions: []
    owner: tests
    review_cadence: weekly
    target: {{value: 0.5, at_risk_tolerance: 0.1}}{extra}
"""


def catalogue_with(tmp_path: Path, *blocks: str) -> Path:
    path = tmp_path / "kpis.yml"
    path.write_text(KPI_CATALOGUE_PATH.read_text() + "".join(blocks))
    return path


def ranges_in(suite: dict) -> dict[str, tuple]:
    found = {}
    for e in suite["expectations"]:
        condition = e["kwargs"].get("row_condition")
        if condition:
            assert e["type"] == "expect_column_values_to_be_between"
            assert e["kwargs"]["column"] == "value" and e["severity"] == "critical"
            key = condition["parameter"]
            assert key not in found, f"{key}: two ranges"
            found[key] = (e["kwargs"].get("min_value"), e["kwargs"].get("max_value"))
    return found


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_full_catalogue(KPI_CATALOGUE_PATH)


def test_the_shipped_kpis_keep_the_ranges_written_by_hand(shipped: Catalogue) -> None:
    assert {k.id: kpi_range(k, shipped) for k in shipped.kpis.values()} == HAND_WRITTEN
    assert ranges_in(facts_suite(shipped)) == HAND_WRITTEN
    # all derived from the formulas but NPS's (its numerator's SQL says the +1/0/-1)
    declared = {k.id for k in shipped.kpis.values() if k.range is not None}
    assert declared == {"nps"}
    assert derived_range(shipped.kpis["nps"], shipped) == (None, None)


def test_the_table_expectations_stay_as_they_were(shipped: Catalogue) -> None:
    expectations = facts_suite(shipped)["expectations"]
    table = [e for e in expectations if "row_condition" not in e["kwargs"]]
    assert [(e["type"], e["kwargs"]) for e in table] == [
        (e["type"], e["kwargs"]) for e in TABLE_EXPECTATIONS
    ]
    assert [e["kwargs"].get("column") for e in table] == [
        None,
        "kpi_date",
        "kpi_id",
        None,
        "kpi_id",
        "denominator",
    ]
    assert {e["severity"] for e in expectations} == {"critical"}


def test_the_committed_suite_is_the_derived_one(shipped: Catalogue) -> None:
    assert stale(KPI_CATALOGUE_PATH) == [], "run `kpi validate --write-seed`"
    committed = (EXPECTATIONS_DIR / "fct_kpi_daily.json").read_text()
    assert committed == facts_suite_json(shipped)
    assert json.loads(committed) == facts_suite(shipped)


def test_a_new_kpi_block_gets_its_range_in_the_written_suite(tmp_path: Path) -> None:
    path = catalogue_with(
        tmp_path,
        # a count of the count it is part of: a share
        block("organic_share", "{numerator: organic_sessions, denominator: sessions}"),
        # the same, in percent
        block(
            "organic_percent",
            "{numerator: organic_sessions, denominator: sessions, scale: 100}",
        ),
        # not part of its denominator: only >= 0
        block("orders_per_session", "{numerator: orders, denominator: sessions}"),
        # what it subtracts is not part of its denominator: no bound
        block("net_of_spend", "{numerator: net_revenue - ad_spend, denominator: orders}"),
        # declared: wins over the derived range, either end may be open
        block(
            "capped_share",
            "{numerator: organic_sessions, denominator: sessions}",
            "\n    range: [0.1, 0.5]",
        ),
        block("capped_sum", "{numerator: net_revenue}", "\n    range: [null, 1000000]"),
    )
    dbt_dir, suites_dir = tmp_path / "dbt", tmp_path / "expectations"
    written = sync(path, dbt_dir, suites_dir)
    assert suites_dir / "fct_kpi_daily.json" in written
    assert stale(path, dbt_dir, suites_dir) == []

    suite = json.loads((suites_dir / "fct_kpi_daily.json").read_text())
    ranges = ranges_in(suite)
    assert {k: ranges[k] for k in HAND_WRITTEN} == HAND_WRITTEN
    assert "net_of_spend" not in ranges
    assert {k: v for k, v in ranges.items() if k not in HAND_WRITTEN} == {
        "organic_share": (0, 1),
        "organic_percent": (0, 100),
        "orders_per_session": (0, None),
        "capped_share": (0.1, 0.5),
        "capped_sum": (None, 1000000),
    }

    # the written suite runs in GX and holds the new KPI to its range
    kpi_ids = list(load_full_catalogue(path).kpis)

    def errors(kpi_id: str, value: float) -> list[tuple[str, str | None]]:
        row = {
            "kpi_date": dt.date(2026, 3, 1),
            "kpi_id": kpi_id,
            "dimension": "all",
            "dimension_value": "all",
            "numerator": 1.0,
            "denominator": 1.0,
            "value": value,
        }
        outcome = validate_frame(
            "fct_kpi_daily", pd.DataFrame([row]), {"kpi_ids": kpi_ids}, suite=suite
        )
        return [(o.expectation, o.column) for o in outcome.errors]

    assert errors("organic_share", 0.3) == []
    assert errors("organic_share", 1.7) == [("expect_column_values_to_be_between", "value")]
    assert errors("capped_share", 0.7) == [("expect_column_values_to_be_between", "value")]
    assert errors("net_of_spend", -5.0) == []


def test_a_hand_edit_of_the_suite_is_stale_and_rewritten(tmp_path: Path) -> None:
    dbt_dir, suites_dir = tmp_path / "dbt", tmp_path / "expectations"
    sync(KPI_CATALOGUE_PATH, dbt_dir, suites_dir)
    suite = suites_dir / "fct_kpi_daily.json"
    suite.write_text(suite.read_text().replace('"max_value": 1', '"max_value": 2'))
    assert stale(KPI_CATALOGUE_PATH, dbt_dir, suites_dir) == [suite]
    assert sync(KPI_CATALOGUE_PATH, dbt_dir, suites_dir) == [suite]
    assert stale(KPI_CATALOGUE_PATH, dbt_dir, suites_dir) == []


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        # `c = 'x'` passes `c in (.. 'x' ..)`; every part of the wider filter is met
        ("outcome = 'won'", "outcome in ('won', 'lost')", (0, 1)),
        ("is_converted and channel = 'Paid'", "is_converted", (0, 1)),
        ("outcome = 'open'", "outcome in ('won', 'lost')", (0, None)),
        ("is_converted", "is_converted and channel = 'Paid'", (0, None)),
        # `or` binds looser than `and`: `a or b and c` does not imply c
        ("is_converted or channel = 'Paid' and is_new", "is_new", (0, None)),
        ("amount between 1 and 5", "amount between 1 and 10", (0, None)),
    ],
)
def test_a_filtered_count_is_part_of_a_count_whose_filter_it_implies(
    tmp_path: Path, numerator: str, denominator: str, expected: tuple
) -> None:
    metrics = f"""
  - id: part
    description: Part.
    unit: sessions
    semantic_model: sessions
    agg: count
    filter: "{numerator}"
  - id: whole
    description: Whole.
    unit: sessions
    semantic_model: sessions
    agg: count
    filter: "{denominator}"
"""
    text = KPI_CATALOGUE_PATH.read_text().replace("\nkpis:\n", metrics + "\nkpis:\n", 1)
    path = tmp_path / "kpis.yml"
    path.write_text(text + block("share", "{numerator: part, denominator: whole}"))
    catalogue = load_full_catalogue(path)
    assert kpi_range(catalogue.kpis["share"], catalogue) == expected


def test_counts_on_another_day_or_model_are_not_parts(tmp_path: Path) -> None:
    path = catalogue_with(
        tmp_path,
        # fulfilled orders are counted on the fulfilment day, orders on the order day
        block("fulfilled_share", "{numerator: fulfilled_orders, denominator: orders}"),
        block("buyers_per_session", "{numerator: purchasing_users, denominator: sessions}"),
    )
    catalogue = load_full_catalogue(path)
    assert kpi_range(catalogue.kpis["fulfilled_share"], catalogue) == (0, None)
    assert kpi_range(catalogue.kpis["buyers_per_session"], catalogue) == (0, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5", "field 'range' must be [min, max]"),
        ("[0, 1, 2]", "field 'range' must be [min, max]"),
        ("[zero, 1]", "field 'range' must be a number"),
        ("[1, 0]", "field 'range' is [1, 0]: min above max"),
    ],
)
def test_a_bad_range_is_refused_naming_the_kpi(tmp_path: Path, value: str, message: str) -> None:
    path = catalogue_with(
        tmp_path, block("bad_range", "{numerator: orders}", f"\n    range: {value}")
    )
    with pytest.raises(CatalogueError, match=r"KPI 'bad_range'.*" + message.replace("[", r"\[")):
        load_full_catalogue(path)
