"""The GX suite of the daily KPI facts (`expectations/fct_kpi_daily.json`), derived from
kpis.yml: the table's shape, then one value range per KPI.

A KPI's range is its `range:` in kpis.yml, or else what its formula implies:
- a metric is non-negative when it counts, or sums a column (taken as a measure that is
  never negative: amounts, hours, counts; the raw suites refuse negative spend, amounts
  and counts); a sum of SQL may be anything, so a formula with one has no derived range;
- a plain sum of such metrics is >= 0;
- so is a ratio of them whose numerator only adds; one whose numerator subtracts is
  >= -1 when what it subtracts is part of its denominator (ROI: (revenue - spend) / spend);
- a ratio is <= 1 when each metric its numerator adds is part of a distinct metric of its
  denominator: the same count over the same model and day, of rows passing at least the
  denominator's filter (converting sessions of sessions, deals won of deals closed);
- a ratio's bounds are multiplied by its `scale`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kpi_pipeline.kpis.catalogue import Catalogue, Kpi, Metric, terms

Range = tuple[float | None, float | None]

_COLUMN = re.compile(r"^\s*[a-z_][a-z0-9_]*\s*$")
# top-level `and` / `or` of a filter, outside quoted text
_OUTSIDE_QUOTES = r"(?=(?:[^']*'[^']*')*[^']*$)"
_AND = re.compile(rf"\s+and\s+{_OUTSIDE_QUOTES}", re.IGNORECASE)
# `or` binds looser than `and`, and `between` has an `and` of its own
_ATOMIC = re.compile(rf"\b(?:or|between)\b{_OUTSIDE_QUOTES}", re.IGNORECASE)
_EQUALS = re.compile(r"^([a-z_][a-z0-9_]*)\s*=\s*('[^']*')$")
_IN = re.compile(r"^([a-z_][a-z0-9_]*)\s+in\s*\(((?:\s*'[^']*'\s*,?)+)\)$", re.IGNORECASE)

# The expectations about the table itself, whatever the KPIs.
TABLE_EXPECTATIONS: list[dict[str, Any]] = [
    {
        "type": "expect_table_columns_to_match_set",
        "kwargs": {
            "column_set": [
                "kpi_date",
                "kpi_id",
                "dimension",
                "dimension_value",
                "numerator",
                "denominator",
                "value",
            ],
            "exact_match": False,
        },
    },
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "kpi_date"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "kpi_id"}},
    {
        "type": "expect_compound_columns_to_be_unique",
        "kwargs": {"column_list": ["kpi_date", "kpi_id", "dimension", "dimension_value"]},
    },
    {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "kpi_id", "value_set": {"$PARAMETER": "kpi_ids"}},
    },
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "denominator", "min_value": 0},
    },
]


def is_non_negative(metric: Metric) -> bool:
    """A count, or a sum of a column; a sum of an SQL expression may be negative."""
    return metric.agg != "sum" or bool(metric.expr and _COLUMN.match(metric.expr))


def _conjuncts(condition: str) -> list[str]:
    """`a and b in ('x', 'y')` -> the parts every passing row meets; a filter with `or` or
    `between` (or parts with unbalanced brackets) is one part, taken as written."""
    text = " ".join(condition.split())
    parts = [text] if _ATOMIC.search(text) else _AND.split(text)
    if any(p.count("(") != p.count(")") for p in parts):
        return [text]
    return [p.strip() for p in parts]


def _implies(part: str, whole: str) -> bool:
    """Every row meeting `part` meets `whole`: the same text, or `c = 'x'` of `c in (.. 'x')`."""
    if part == whole:
        return True
    equals, within = _EQUALS.match(part), _IN.match(whole)
    if not (equals and within) or equals.group(1) != within.group(1):
        return False
    return equals.group(2) in re.findall(r"'[^']*'", within.group(2))


def _passes_filter_of(narrow: str | None, wide: str | None) -> bool:
    """Every row passing `narrow` passes `wide` (no filter: every row)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    have = _conjuncts(narrow)
    return all(any(_implies(p, w) for p in have) for w in _conjuncts(wide))


def is_part_of(part: Metric, whole: Metric, catalogue: Catalogue) -> bool:
    """`part` never exceeds `whole`: the same metric, or the same count over the same
    semantic model and day, of rows passing at least `whole`'s filter."""
    if part.id == whole.id:
        return True
    day = {m.id: m.date or catalogue.models[m.on].date for m in (part, whole)}
    return (
        part.agg in ("count", "count_distinct")
        and (part.agg, part.on, part.expr) == (whole.agg, whole.on, whole.expr)
        and day[part.id] == day[whole.id]
        and _passes_filter_of(part.filter, whole.filter)
    )


def _covered(parts: list[str], wholes: list[str], catalogue: Catalogue) -> bool:
    """Each of `parts` is part of its own one of `wholes` (matched greedily)."""
    left = list(wholes)
    for name in parts:
        match = next(
            (
                w
                for w in left
                if is_part_of(catalogue.metrics[name], catalogue.metrics[w], catalogue)
            ),
            None,
        )
        if match is None:
            return False
        left.remove(match)
    return True


def derived_range(kpi: Kpi, catalogue: Catalogue) -> Range:
    """The bounds the formula implies (module docstring); None: no bound known."""
    numerator, denominator = terms(kpi.formula.numerator), terms(kpi.formula.denominator)
    metrics = [catalogue.metrics[name] for _, name in numerator + denominator]
    if not all(is_non_negative(m) for m in metrics) or any(s < 0 for s, _ in denominator):
        return None, None
    added = [name for sign, name in numerator if sign > 0]
    subtracted = [name for sign, name in numerator if sign < 0]
    if not kpi.formula.is_ratio:
        return (None if subtracted else 0.0), None
    wholes = [name for _, name in denominator]
    low = 0.0 if not subtracted else -1.0 if _covered(subtracted, wholes, catalogue) else None
    high = 1.0 if _covered(added, wholes, catalogue) else None
    scale = kpi.formula.scale
    low, high = (None if b is None else b * scale for b in (low, high))
    return (high, low) if scale < 0 else (low, high)


def kpi_range(kpi: Kpi, catalogue: Catalogue) -> Range:
    """The KPI's declared `range`, else the derived one."""
    return kpi.range if kpi.range is not None else derived_range(kpi, catalogue)


def _number(value: float) -> float | int:
    """0 rather than 0.0 in the file, as a person writes it."""
    return int(value) if float(value).is_integer() else value


def range_expectation(kpi_id: str, bounds: Range) -> dict[str, Any]:
    low, high = bounds
    kwargs: dict[str, Any] = {"column": "value"}
    if low is not None:
        kwargs["min_value"] = _number(low)
    if high is not None:
        kwargs["max_value"] = _number(high)
    kwargs["row_condition"] = {
        "column": {"name": "kpi_id"},
        "operator": "==",
        "parameter": kpi_id,
        "type": "comparison",
    }
    return {"type": "expect_column_values_to_be_between", "kwargs": kwargs}


def facts_suite(catalogue: Catalogue) -> dict[str, Any]:
    """The suite: the table's expectations, then each bounded KPI's range, in file order;
    every one critical (it blocks the day)."""
    ranges = [
        range_expectation(kpi.id, bounds)
        for kpi in catalogue.kpis.values()
        if (bounds := kpi_range(kpi, catalogue)) != (None, None)
    ]
    return {
        "name": "fct_kpi_daily",
        "expectations": [{**e, "severity": "critical"} for e in TABLE_EXPECTATIONS + ranges],
        "meta": {
            "notes": "KPI facts of the partition window. Generated from kpis.yml by "
            "kpi_pipeline/kpis/fact_expectations.py; do not edit by hand."
        },
    }


def facts_suite_json(catalogue: Catalogue) -> str:
    """The suite file's exact text."""
    return json.dumps(facts_suite(catalogue), indent=2) + "\n"
