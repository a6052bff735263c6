"""A failed expectation in the user's words: which table or file, what was found, what was
expected and what to do, instead of the expectation's name and GX's `observed null`. The
evidence table (check metadata, Data Docs) keeps the exact expectation for engineers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS
from kpi_pipeline.quality.suites import ExpectationOutcome

LAG_PREFIX = "_lag_days__"


def _what(suite: str) -> str:
    """`raw_orders` -> `orders.csv (raw.orders)`: the file a user delivers, then the table the
    suite validates."""
    name = suite.removesuffix("_volume")
    if name.startswith("raw_"):
        table = name[len("raw_") :]
        files = {e.table: f"{e.source}/{e.file_name}" for e in CSV_EXTRACTS}
        return f"{files[table]} (raw.{table})" if table in files else f"raw.{table}"
    if name == "ad_spend":
        return "the ad spend exports (spend.csv, Google Ads, Meta Ads)"
    return f"marts.{name}"


def _kwargs(outcome: ExpectationOutcome) -> dict[str, Any]:
    try:
        found = json.loads(outcome.expected or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _sample(outcome: ExpectationOutcome) -> str:
    values = list(dict.fromkeys(str(v) for v in outcome.unexpected_sample))[:5]
    return ", ".join(values)


def _condition_words(kwargs: dict[str, Any]) -> str:
    """` for KPI nps` from the row condition `kpi_id == 'nps'` (GX 1.x); else nothing."""
    condition = kwargs.get("row_condition")
    if not isinstance(condition, dict) or condition.get("operator") != "==":
        return ""
    column = (condition.get("column") or {}).get("name")
    return f" for {'KPI' if column == 'kpi_id' else column} {condition.get('parameter')}"


def _bounds_words(kwargs: dict[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        return "out of its range"
    if low is None:
        return f"above {_value(high)}"
    if high is None:
        return f"below {_value(low)}"
    return f"outside the range {_value(low)} to {_value(high)}"


def plain_words(outcome: ExpectationOutcome, suite: str) -> str:
    """One sentence for a failed expectation of `suite`."""
    kwargs = _kwargs(outcome)
    column = outcome.column or ""
    table = _what(suite)
    count = outcome.unexpected_count or 0
    sample = _sample(outcome)
    kind = outcome.expectation
    if kind == "expect_column_values_to_be_in_set" and column == "currency":
        accepted = ", ".join(str(v) for v in kwargs.get("value_set") or [])
        return (
            f"{table} has currency {sample or '?'} but the reporting currency is {accepted}: "
            f"set KPI_REPORTING_CURRENCY={(sample.split(', ') or ['?'])[0]} or convert the file"
        )
    if column == "overall_rows" and suite == "fct_kpi_daily_volume":
        return (
            f"marts.fct_kpi_daily has {sample or 0} KPI row(s) for a day instead of "
            f"{kwargs.get('min_value')} (one per KPI): a source the KPIs need sent nothing "
            "that day, or the models failed; see the other checks of the run"
        )
    if column == "rows" and suite.endswith("_volume"):
        return (
            f"{table} has no rows for a day of the run although its file came "
            f"(at least {kwargs.get('min_value')} expected): check the day's export"
        )
    if kind == "expect_column_values_to_be_between" and column.startswith(LAG_PREFIX):
        field = column[len(LAG_PREFIX) :]
        return (
            f"{count} row(s) of {table} have a {field} outside the extract day's window "
            f"(from {kwargs.get('max_value')} days before it to a day after, in KPI_TIMEZONE), "
            f"e.g. {sample} day(s) off: check the export's dates and KPI_TIMEZONE"
        )
    if kind == "expect_column_values_to_be_between":
        rows = f"{count} row(s) of {table}{_condition_words(kwargs)}"
        return f"{rows} have {column} {_bounds_words(kwargs)}, e.g. {sample}"
    if kind == "expect_column_values_to_be_in_set":
        allowed = ", ".join(str(v) for v in kwargs.get("value_set") or [])
        return f"{count} row(s) of {table} have {column} not in ({allowed}), e.g. {sample}"
    if kind == "expect_column_values_to_not_be_null":
        return f"{count} row(s) of {table} have no {column}"
    if kind == "expect_column_values_to_be_unique":
        return f"{count} row(s) of {table} repeat a {column}, e.g. {sample}"
    observed = json.dumps(outcome.observed, default=str)[:120]
    return f"{table}: {kind}({column}) failed: observed {observed}, e.g. {sample}"


ROWS_SAID = 3  # failing rows of a dbt test said in words; the rest are counted


def _value(value: Any) -> str:
    """A failing row's value as a person reads it: a date as YYYY-MM-DD, a number without
    float noise or trailing zeros (40.01, 40, 2)."""
    if value is None:
        return "no value"
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float | Decimal):
        text = f"{float(value):.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _row_words(row: dict[str, Any], template: str | None) -> str:
    values = {k: _value(v) for k, v in row.items()}
    if template:
        try:
            return template.format_map(values)
        except (KeyError, IndexError, ValueError):
            pass
    return ", ".join(f"{k} {v}" for k, v in values.items())


def dbt_test_words(
    check: str, count: int | None, rows: list[dict[str, Any]], template: str | None = None
) -> str:
    """A failed dbt test in words: its first failing rows (through the test's own wording,
    `meta.failing_row`, when it has one), and how many more; without rows, its count."""
    total = count if count is not None else len(rows)
    if not rows:
        found = f"{total} failing row(s)" if total else "failed"
        return f"dbt test {check}: {found}"
    said = "; ".join(_row_words(row, template) for row in rows[:ROWS_SAID])
    more = total - min(len(rows), ROWS_SAID)
    return (
        said
        + (f"; and {more} more" if more > 0 else "")
        + ("" if template else f" (dbt test {check})")
    )
