"""Every error-severity expectation of every stored suite has a fixture that trips it: a valid
frame passes the whole suite; the same frame broken in the one way that expectation forbids
fails that expectation, as an error, and nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_TABLE, Kind
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.quality.checks import lag_columns
from kpi_pipeline.quality.suites import ERROR, load_suite_dict, suite_path, validate_frame
from kpi_pipeline.settings import EXPECTATIONS_DIR, KPI_CATALOGUE_PATH

DAY = dt.date(2025, 3, 3)
KPI_IDS = list(load_catalogue(KPI_CATALOGUE_PATH))
VALID_BY_REGEX = {"^[0-9]{8}$": "20250303", "^[0-9a-f]{64}$": "ab" * 32}
SAMPLE_BY_KIND = {
    Kind.TEXT: ["a", "b"],
    Kind.ID: ["007", "cus_Nf8Xq2"],
    Kind.BOOLEAN: [True, False],
    Kind.INTEGER: [1, 2],
    Kind.DECIMAL: [10.5, 20.0],
    Kind.DATE: [DAY, DAY],
    Kind.TIMESTAMP: [pd.Timestamp("2025-03-03T10:00Z")] * 2,
    Kind.HUBSPOT_DATETIME: [pd.Timestamp("2025-03-03T10:00Z")] * 2,
}
LINEAGE = {
    "_extract_date": [DAY, DAY],
    "_source_file": ["f.csv", "f.csv"],
    "_row_number": [1, 2],
    "_loaded_at": [pd.Timestamp("2025-03-03T12:00Z")] * 2,
}


def parameters(table: str | None) -> dict[str, Any]:
    return {"accepted_currencies": ["USD"], "kpi_ids": KPI_IDS, "kpi_count": len(KPI_IDS)}


def resolve(value: Any, params: dict[str, Any]) -> Any:
    return params[value["$PARAMETER"]] if isinstance(value, dict) else value


def raw_base(table: str) -> pd.DataFrame:
    """Two valid rows of a raw table, from its landing contract."""
    if table == GA4_TABLE:
        columns = {
            "event_date": ["20250303", "20250303"],
            "event_timestamp": ["1740996000000000", "1740996001000000"],
            "event_name": ["page_view", "purchase"],
            "user_pseudo_id": ["u1", "u2"],
        }
    else:
        extract = next(e for e in CSV_EXTRACTS if e.table == table)
        columns = {
            (c.hashed_name or c.name): SAMPLE_BY_KIND[c.kind]
            for c in extract.columns
            if not c.personal or c.hashed_name
        }
    for column in lag_columns(table):
        columns[f"_lag_days__{column}"] = [0, 0]
    return pd.DataFrame({**columns, **LINEAGE})


def facts_base() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "kpi_date": DAY,
                "kpi_id": kpi,
                "dimension": "all",
                "dimension_value": "all",
                "numerator": 1.0,
                "denominator": 2.0,
                "value": 0.5,
            }
            for kpi in KPI_IDS
        ]
    )


def make_valid(frame: pd.DataFrame, suite: dict, params: dict) -> pd.DataFrame:
    """Adjust the base so it meets value sets and patterns of the suite."""
    frame = frame.copy()
    for e in suite["expectations"]:
        kwargs, column = e["kwargs"], e["kwargs"].get("column")
        if e["type"] == "expect_column_values_to_be_in_set":
            frame[column] = resolve(kwargs["value_set"], params)[0]
        elif e["type"] == "expect_column_values_to_match_regex":
            frame[column] = VALID_BY_REGEX[kwargs["regex"]]
    if "kpi_id" in frame and "kpi_ids" in params:
        frame["kpi_id"] = KPI_IDS[: len(frame)]
    return frame


def referenced(suite: dict) -> set[str]:
    columns = set()
    for e in suite["expectations"]:
        columns.add(e["kwargs"].get("column"))
        columns.update(e["kwargs"].get("column_list") or [])
    return columns


def violate(frame: pd.DataFrame, expectation: dict, params: dict, suite: dict) -> pd.DataFrame:
    """The base frame broken in exactly the way the expectation forbids."""
    frame = frame.copy()
    kind, kwargs = expectation["type"], expectation["kwargs"]
    column = kwargs.get("column")
    rows = frame.index
    condition = kwargs.get("row_condition")
    if condition:
        rows = frame.index[frame[condition["column"]["name"]] == condition["parameter"]]
    target = rows[0]
    if kind == "expect_table_columns_to_match_set":
        # a column no other expectation reads, so only this one can fail
        spare = [c for c in resolve(kwargs["column_set"], params) if c not in referenced(suite)]
        return frame.drop(columns=[spare[0]])
    if kind == "expect_column_values_to_not_be_null":
        frame[column] = frame[column].astype(object)
        frame.loc[target, column] = None
    elif kind == "expect_compound_columns_to_be_unique":
        for key in kwargs["column_list"]:
            frame.loc[frame.index[1], key] = frame.loc[frame.index[0], key]
    elif kind == "expect_column_values_to_be_between":
        low, high = (
            resolve(kwargs.get("min_value"), params),
            resolve(kwargs.get("max_value"), params),
        )
        frame[column] = frame[column].astype(float)
        frame.loc[target, column] = low - 1 if low is not None else high + 1
    elif kind == "expect_column_values_to_be_in_set":
        frame[column] = frame[column].astype(object)
        frame.loc[target, column] = "NOT-IN-SET"
    elif kind == "expect_column_values_to_match_regex":
        frame.loc[target, column] = "not matching!"
    else:
        raise AssertionError(f"no fixture for {kind}: add one to violate()")
    return frame


def cases() -> list[tuple[str, int]]:
    names = [f"raw_{e.table}" for e in CSV_EXTRACTS] + [f"raw_{GA4_TABLE}", "fct_kpi_daily"]
    found = []
    for name in names:
        if not suite_path(name).exists():
            continue
        for i, e in enumerate(load_suite_dict(name)["expectations"]):
            if e["severity"] == "critical":
                found.append((name, i))
    return found


def base_for(name: str) -> tuple[pd.DataFrame, dict, dict]:
    suite = load_suite_dict(name)
    table = name.removeprefix("raw_") if name.startswith("raw_") else None
    params = parameters(table)
    frame = raw_base(table) if table else facts_base()
    return make_valid(frame, suite, params), suite, params


@pytest.mark.parametrize("name", sorted({n for n, _ in cases()}))
def test_the_valid_fixture_passes_its_suite(name: str) -> None:
    frame, _, params = base_for(name)
    outcome = validate_frame(name, frame, params)
    assert [o.expectation for o in outcome.outcomes if not o.success] == []


@pytest.mark.parametrize(("name", "index"), cases())
def test_each_error_expectation_trips_on_its_fixture(name: str, index: int) -> None:
    frame, suite, params = base_for(name)
    expectation = suite["expectations"][index]
    outcome = validate_frame(name, violate(frame, expectation, params, suite), params)
    failed = [(o.expectation, o.column, o.severity) for o in outcome.outcomes if not o.success]
    # the broken rule fails as an error; a value may break an overlapping rule too (e.g. a
    # general "value >= 0" and a KPI's own range), never a warning in its place
    assert (expectation["type"], expectation["kwargs"].get("column"), ERROR) in failed
    assert {severity for _, _, severity in failed} == {ERROR}


def test_every_lag_column_of_a_suite_names_a_column_of_its_raw_table() -> None:
    for path in EXPECTATIONS_DIR.glob("raw_*.json"):
        table = path.stem.removeprefix("raw_")
        extract = next((e for e in CSV_EXTRACTS if e.table == table), None)
        known = {c.name for c in extract.columns} if extract else {"event_timestamp"}
        for column in lag_columns(table):
            assert column in known, f"{path}: _lag_days__{column} names no column of {table}"
