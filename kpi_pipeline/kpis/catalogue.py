"""Load and validate the KPI catalogue: a KPI that is not SMART is refused, by name.

The file has three lists, the way MetricFlow declares a semantic layer:
`semantic_models` (an entity-grain dbt model: its key, its date, the sources it is built
from and the dimensions it can be broken down by), `metrics` (an aggregation over one
semantic model: count, sum or count distinct, with an optional filter) and `kpis` (a
metric or a ratio of metrics, with an objective, an owner, a review cadence and a target,
and optionally a product `chain` of factors that telescopes to its formula).
Everything else (the daily facts' SQL, roll-ups, dbt seeds, MetricFlow metrics) is derived
from it: kpi_pipeline/kpis/derive.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kpi_pipeline.deployment import GROUPS, SOURCES

FAMILIES = ("marketing", "financial", "customer_satisfaction", "process")
DIRECTIONS = ("higher_is_better", "lower_is_better")
CADENCES = ("daily", "weekly", "monthly", "quarterly")
UNITS = (
    "ratio",
    "currency",
    "points",
    "hours",
    "sessions",
    "users",
    "customers",
    "interactions",
    "impressions",
    "leads",
    "deals",
    "orders",
    "responses",
)
# What makes a KPI SMART here: a measurable formula, a target with a tolerance, a time
# frame (the review cadence), an owner; the rest says what it is and why it matters.
REQUIRED_FIELDS = (
    "id",
    "name",
    "family",
    "description",
    "objective",
    "formula",
    "unit",
    "direction",
    "owner",
    "review_cadence",
)
METRIC_FIELDS = ("id", "description", "unit", "semantic_model", "agg")
SEMANTIC_MODEL_FIELDS = ("id", "model", "description", "key", "date")
AGGREGATIONS = ("count", "sum", "count_distinct")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_EXPRESSION = re.compile(r"^\s*[a-z_][a-z0-9_]*(\s*[+-]\s*[a-z_][a-z0-9_]*)*\s*$")
_METRIC_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# `kpi explain --by chain` splits a KPI over its product chain, so no breakdown takes the name
CHAIN = "chain"


# libyaml's loader where installed (the same YAML, marks included, several times faster):
# kpis.yml and the dbt project's YAML are read whenever the definitions load
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogueError(ValueError):
    """The catalogue file breaks its rules; the message names the KPI and the field."""


@dataclass(frozen=True)
class SemanticModel:
    """An entity-grain dbt model metrics are measured on: one row per `key`, dated by
    `date`; `dimensions` maps a breakdown's name to its column."""

    id: str
    model: str
    description: str
    key: str
    date: str
    # the landing-zone sources (or groups, `crm`) it is built from; none: a seed
    sources: tuple[str, ...] = ()
    dimensions: tuple[tuple[str, str], ...] = ()

    @property
    def dimension_columns(self) -> dict[str, str]:
        return dict(self.dimensions)


@dataclass(frozen=True)
class Metric:
    """`agg` of `expr` over the rows of semantic model `on` (kpis.yml: `semantic_model`)
    that pass `filter` (SQL over the model's columns), per day of `date` (default: the
    model's date)."""

    id: str
    description: str
    unit: str
    sources: tuple[str, ...] = ()
    on: str = ""
    agg: str = "count"
    expr: str | None = None
    filter: str | None = None
    date: str | None = None

    @property
    def is_additive(self) -> bool:
        """Daily amounts add up to a period's; a distinct count must be recounted."""
        return self.agg != "count_distinct"


@dataclass(frozen=True)
class Formula:
    """`numerator` and `denominator` are metric ids joined by + or -; no denominator
    means the KPI is the numerator itself (a plain sum); `scale` multiplies the ratio."""

    numerator: str
    denominator: str | None = None
    scale: float = 1.0

    @property
    def is_ratio(self) -> bool:
        return self.denominator is not None

    def metrics(self) -> tuple[str, ...]:
        text = f"{self.numerator} {self.denominator or ''}"
        return tuple(dict.fromkeys(_METRIC_NAME.findall(text)))


def terms(expression: str | None) -> list[tuple[int, str]]:
    """`a - b + c` -> [(1, 'a'), (-1, 'b'), (1, 'c')]; None -> []."""
    found = re.findall(r"([+-]?)\s*([a-z_][a-z0-9_]*)", expression or "")
    return [(-1 if sign == "-" else 1, name) for sign, name in found]


@dataclass(frozen=True)
class Factor:
    """One factor of a KPI's product chain: `numerator` / `denominator` (metric ids; no
    denominator: the numerator's total itself)."""

    name: str
    numerator: str
    denominator: str | None = None

    def metrics(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)


@dataclass(frozen=True)
class Target:
    """An absolute `value`, or a change on the same period a year earlier
    (`relative_to_last_year`: 0.2 means +20 %); exactly one of the two is set. In force
    from `effective_from` (None: from the first day) until the next target's day."""

    value: float | None
    at_risk_tolerance: float  # share of the target within which a miss is "at risk"
    relative_to_last_year: float | None = None
    effective_from: dt.date | None = None

    @property
    def is_relative(self) -> bool:
        return self.relative_to_last_year is not None

    def describe(self) -> str:
        if self.relative_to_last_year is not None:
            return f"{self.relative_to_last_year:+.0%} on last year"
        return f"{self.value:g}"


@dataclass(frozen=True)
class Kpi:
    id: str
    name: str
    family: str
    description: str
    objective: str
    unit: str
    direction: str
    dimensions: tuple[str, ...]
    owner: str
    review_cadence: str
    # in force one after the other, by `effective_from` (the first may have none)
    targets: tuple[Target, ...]
    formula: Formula = Formula("")
    # kpis.yml `range: [min, max]` (either may be None); None: derived (fact_expectations.py)
    range: tuple[float | None, float | None] | None = None
    # kpis.yml `chain`: factors whose product is the KPI (sessions x orders per session x
    # average order value), for `kpi explain --by chain`; () when none is declared
    chain: tuple[Factor, ...] = ()
    # kpis.yml `maturity_lag_days`: its newest days' data is still arriving, so the days
    # after (published day - lag) are provisional (kpis/maturity.py); 0: final on the day
    maturity_lag_days: int = 0

    @property
    def target(self) -> Target:
        """The latest target: the one in force from its day on."""
        return self.targets[-1]

    def target_on(self, day: dt.date) -> Target | None:
        """The target in force on `day`; None before the first one's day."""
        found = None
        for target in self.targets:
            if target.effective_from is None or target.effective_from <= day:
                found = target
        return found


def _missing(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _require(entry: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    for name in fields:
        if _missing(entry.get(name)):
            raise CatalogueError(f"{where}: missing required field '{name}'")


def _choice(value: str, allowed: tuple[str, ...], where: str, field: str) -> str:
    if value not in allowed:
        raise CatalogueError(
            f"{where}: field '{field}' is '{value}', expected one of {', '.join(allowed)}"
        )
    return value


def _number(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool):
        raise CatalogueError(f"{where}: field '{field}' must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise CatalogueError(f"{where}: field '{field}' must be a number, got {value!r}") from err


def parse_target(target: Any, where: str, effective_from: dt.date | None = None) -> Target:
    if not isinstance(target, dict):
        raise CatalogueError(f"{where}: field 'target' must be a mapping with 'value'")
    has_value = target.get("value") is not None
    has_relative = target.get("relative_to_last_year") is not None
    if has_value == has_relative:
        raise CatalogueError(
            f"{where}: field 'target' needs exactly one of 'value' (absolute) or "
            "'relative_to_last_year' (e.g. 0.2 for +20 % on the same period last year)"
        )
    if "at_risk_tolerance" not in target:
        raise CatalogueError(f"{where}: missing required field 'target.at_risk_tolerance'")
    tolerance = _number(target["at_risk_tolerance"], where, "target.at_risk_tolerance")
    if not 0 <= tolerance < 1:
        raise CatalogueError(f"{where}: field 'target.at_risk_tolerance' must be in [0, 1)")
    if has_value:
        return Target(
            _number(target["value"], where, "target.value"), tolerance, None, effective_from
        )
    relative = _number(target["relative_to_last_year"], where, "target.relative_to_last_year")
    return Target(None, tolerance, relative, effective_from)


def _day(value: Any, where: str, field: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise CatalogueError(f"{where}: field '{field}' must be a date YYYY-MM-DD, got {value!r}")
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except ValueError as err:
        raise CatalogueError(
            f"{where}: field '{field}' must be a date YYYY-MM-DD, got {value!r}"
        ) from err


def parse_targets(entry: dict[str, Any], where: str) -> tuple[Target, ...]:
    """`target: {...}` (in force on every day), or `targets:` a list of the same mappings
    with `from: YYYY-MM-DD`, each in force from its day until the next one's: a changed
    target never rewrites the days before its `from`. The first may have no `from`."""
    if _missing(entry.get("target")) and _missing(entry.get("targets")):
        raise CatalogueError(
            f"{where}: missing required field 'target' (one target for every day; or "
            "'targets', a list of targets, each with 'from: YYYY-MM-DD')"
        )
    if not _missing(entry.get("target")) and not _missing(entry.get("targets")):
        raise CatalogueError(
            f"{where}: has both 'target' and 'targets'; keep one ('targets' lists every "
            "target with the day it came into force)"
        )
    if not _missing(entry.get("target")):
        return (parse_target(entry["target"], where),)
    listed = entry["targets"]
    if not isinstance(listed, list):
        raise CatalogueError(f"{where}: field 'targets' must be a list of mappings")
    found: list[Target] = []
    for number, item in enumerate(listed, start=1):
        field = f"targets[{number}]"
        if not isinstance(item, dict):
            raise CatalogueError(f"{where}: field '{field}' must be a mapping with 'from'")
        start = item.get("from")
        if start is None and number > 1:
            raise CatalogueError(
                f"{where}: field '{field}' needs 'from: YYYY-MM-DD', the first day it is in "
                "force (only the first target may have none)"
            )
        day = None if start is None else _day(start, where, f"{field}.from")
        if found and found[-1].effective_from is not None and day <= found[-1].effective_from:
            raise CatalogueError(
                f"{where}: field '{field}.from' is {day}, not after the previous target's "
                f"{found[-1].effective_from}; list targets in the order they came into force"
            )
        rest = {k: v for k, v in item.items() if k != "from"}
        found.append(parse_target(rest, f"{where} ({field})", day))
    if not found:
        raise CatalogueError(f"{where}: field 'targets' is an empty list")
    return tuple(found)


def parse_range(value: Any, where: str) -> tuple[float | None, float | None]:
    """`[0, 1]`, `[0, null]`: the values a KPI's daily facts may take."""
    if not isinstance(value, list) or len(value) != 2:
        raise CatalogueError(
            f"{where}: field 'range' must be [min, max], e.g. [-100, 100] or [0, null]"
        )
    low, high = (None if v is None else _number(v, where, "range") for v in value)
    if low is not None and high is not None and low > high:
        raise CatalogueError(f"{where}: field 'range' is [{low:g}, {high:g}]: min above max")
    return low, high


def parse_maturity_lag(value: Any, where: str) -> int:
    """`maturity_lag_days: 2`: a whole number of days, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogueError(
            f"{where}: field 'maturity_lag_days' must be a whole number of days, 0 or more "
            f"(e.g. 2: the newest 2 days of a report are provisional), got {value!r}"
        )
    return value


def parse_formula(formula: Any, metrics: dict[str, Metric], where: str) -> Formula:
    if not isinstance(formula, dict):
        raise CatalogueError(f"{where}: field 'formula' must be a mapping with 'numerator'")
    if _missing(formula.get("numerator")):
        raise CatalogueError(f"{where}: missing required field 'formula.numerator'")
    parts = {"numerator": formula["numerator"], "denominator": formula.get("denominator")}
    for field, text in parts.items():
        if text is None:
            continue
        if not isinstance(text, str) or not _EXPRESSION.match(text):
            raise CatalogueError(
                f"{where}: field 'formula.{field}' is {text!r}, expected metric ids joined "
                "by + or - (e.g. 'attributed_revenue - ad_spend')"
            )
        for name in _METRIC_NAME.findall(text):
            if name not in metrics:
                raise CatalogueError(
                    f"{where}: field 'formula.{field}' uses unknown metric '{name}' "
                    "(define it under 'metrics')"
                )
    scale = _number(formula.get("scale", 1), where, "formula.scale")
    return Formula(parts["numerator"].strip(), (parts["denominator"] or "").strip() or None, scale)


def _dimensions(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """`[channel, country]` (the column has the breakdown's name) or `{source: platform}`."""
    if value is None:
        return ()
    if not isinstance(value, (dict, list)):
        raise CatalogueError(f"{where}: field 'dimensions' must be a list or a mapping")
    pairs = value.items() if isinstance(value, dict) else ((v, v) for v in value)
    found = []
    for name, column in pairs:
        for text, field in ((name, "dimensions"), (column, f"dimensions.{name}")):
            if not isinstance(text, str) or not _IDENTIFIER.match(text):
                raise CatalogueError(
                    f"{where}: field '{field}' is {text!r}, expected a lower-case name"
                )
        if name == CHAIN:
            raise CatalogueError(
                f"{where}: field 'dimensions' has '{CHAIN}', a reserved name (kpi explain "
                f"--by {CHAIN} splits a KPI over its product chain); name the breakdown otherwise"
            )
        found.append((name, column))
    return tuple(found)


def parse_semantic_model(entry: Any, where: str) -> SemanticModel:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: a semantic model must be a mapping with id, model, ...")
    _require(entry, SEMANTIC_MODEL_FIELDS, where)
    sources = entry.get("sources") or []
    if not isinstance(sources, list):
        raise CatalogueError(f"{where}: field 'sources' must be a list, e.g. [ga4]")
    for source in sources:
        _choice(source, (*SOURCES, *GROUPS), where, "sources")
    for field in ("model", "key", "date"):
        if not _IDENTIFIER.match(str(entry[field])):
            raise CatalogueError(f"{where}: field '{field}' must be a dbt model or column name")
    return SemanticModel(
        id=str(entry["id"]),
        model=str(entry["model"]),
        description=str(entry["description"]),
        key=str(entry["key"]),
        date=str(entry["date"]),
        sources=tuple(sources),
        dimensions=_dimensions(entry.get("dimensions"), where),
    )


def parse_metric(entry: Any, where: str, models: dict[str, SemanticModel]) -> Metric:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: a metric must be a mapping with id, description, unit")
    _require(entry, METRIC_FIELDS, where)
    model = models.get(str(entry["semantic_model"]))
    if model is None:
        raise CatalogueError(
            f"{where}: field 'semantic_model' is '{entry['semantic_model']}', not one of the "
            "semantic models: " + ", ".join(models)
        )
    agg = _choice(entry["agg"], AGGREGATIONS, where, "agg")
    expr = entry.get("expr")
    if agg != "count" and _missing(expr):
        raise CatalogueError(f"{where}: agg '{agg}' needs field 'expr' (a column or SQL)")
    date = entry.get("date")
    if date is not None and not _IDENTIFIER.match(str(date)):
        raise CatalogueError(f"{where}: field 'date' must be a column name of {model.model}")
    return Metric(
        id=str(entry["id"]),
        description=str(entry["description"]),
        unit=str(entry["unit"]),
        sources=model.sources,
        on=model.id,
        agg=agg,
        expr=None if _missing(expr) else str(expr),
        filter=None if _missing(entry.get("filter")) else str(entry["filter"]),
        date=None if date is None else str(date),
    )


def kpi_sources(kpi: Kpi, metrics: dict[str, Metric]) -> tuple[str, ...]:
    """The sources (or groups) every metric of the KPI's formula is measured from."""
    return tuple(dict.fromkeys(s for m in kpi.formula.metrics() for s in metrics[m].sources))


def _check_dimensions(
    dimensions: list[Any],
    formula: Formula,
    metrics: dict[str, Metric],
    models: dict[str, SemanticModel],
    where: str,
) -> None:
    """Every breakdown of a KPI is declared by the semantic model of each of its metrics."""
    for dimension in dimensions:
        for name in formula.metrics():
            model = models[metrics[name].on]
            if dimension not in model.dimension_columns:
                declared = ", ".join(model.dimension_columns) or "none"
                raise CatalogueError(
                    f"{where}: field 'dimensions' has '{dimension}', but metric '{name}' is "
                    f"measured on '{model.id}', which declares no such dimension "
                    f"(it has: {declared}); add it to that semantic model's 'dimensions'"
                )


def _factor(item: Any, number: int, metrics: dict[str, Metric], where: str) -> Factor:
    field = f"chain[{number}]"
    if not isinstance(item, dict):
        raise CatalogueError(
            f"{where}: field '{field}' must be a mapping with 'name', 'numerator' and "
            "'denominator' (e.g. {name: orders_per_session, numerator: orders, "
            "denominator: sessions})"
        )
    unknown = sorted(set(item) - {"name", "numerator", "denominator"})
    if unknown:
        raise CatalogueError(
            f"{where}: field '{field}' has unknown key(s) {', '.join(unknown)}; a factor has "
            "'name', 'numerator' and (optionally) 'denominator'"
        )
    for key in ("name", "numerator"):
        if _missing(item.get(key)):
            raise CatalogueError(f"{where}: missing required field '{field}.{key}'")
    name = item["name"]
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise CatalogueError(
            f"{where}: field '{field}.name' is {name!r}, expected a lower-case name"
        )
    for key in ("numerator", "denominator"):
        metric_id = item.get(key)
        if metric_id is None:
            continue
        metric = metrics.get(str(metric_id))
        if metric is None:
            raise CatalogueError(
                f"{where}: field '{field}.{key}' uses unknown metric '{metric_id}' "
                "(define it under 'metrics')"
            )
        if not metric.is_additive:
            raise CatalogueError(
                f"{where}: field '{field}.{key}' uses metric '{metric_id}', a count_distinct: "
                "its days do not add up to a week's or a month's, so it cannot be a factor of "
                "a chain; use a count or sum metric"
            )
    denominator = item.get("denominator")
    return Factor(name, str(item["numerator"]), None if denominator is None else str(denominator))


def parse_chain(
    value: Any, formula: Formula, metrics: dict[str, Metric], where: str
) -> tuple[Factor, ...]:
    """`chain:` a list of factors whose product telescopes to the KPI's formula: every
    metric cancels but the formula's numerator (and denominator), e.g. net_revenue =
    sessions x orders / sessions x net_revenue / orders."""
    if not isinstance(value, list) or len(value) < 2:
        raise CatalogueError(
            f"{where}: field 'chain' must be a list of at least two factors, each "
            "{name: ..., numerator: <metric>, denominator: <metric>}"
        )
    numerator, denominator = terms(formula.numerator), terms(formula.denominator)
    if len(numerator) != 1 or len(denominator) > 1 or formula.scale != 1:
        raise CatalogueError(
            f"{where}: declares a 'chain', but its formula is not one metric or a ratio of two "
            "(a sum or difference of metrics, or a scale other than 1, is no product of "
            "factors); remove the chain"
        )
    if any(sign < 0 for sign, _ in numerator + denominator):
        raise CatalogueError(f"{where}: declares a 'chain' on a negated metric; remove it")
    factors = tuple(_factor(item, n, metrics, where) for n, item in enumerate(value, start=1))
    names = [f.name for f in factors]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CatalogueError(
            f"{where}: field 'chain' names factor(s) {', '.join(twice)} more than once"
        )
    # the product telescopes: what is left once each denominator cancels a numerator
    tops = Counter(f.numerator for f in factors)
    bottoms = Counter(f.denominator for f in factors if f.denominator)
    top, bottom = tops - bottoms, bottoms - tops
    if top != Counter(m for _, m in numerator) or bottom != Counter(m for _, m in denominator):
        product = " x ".join(sorted(top.elements())) or "1"
        if bottom:
            product += " / " + " x ".join(sorted(bottom.elements()))
        wanted = formula.numerator + (f" / {formula.denominator}" if formula.denominator else "")
        raise CatalogueError(
            f"{where}: field 'chain' multiplies out to {product}, not to the formula {wanted} "
            "(each factor's denominator must cancel another factor's numerator)"
        )
    return factors


def parse_kpi(
    entry: dict[str, Any],
    path: Path,
    index: int,
    metrics: dict[str, Metric],
    line: int = 0,
    models: dict[str, SemanticModel] | None = None,
    chain_line: int = 0,
    lag_line: int = 0,
) -> Kpi:
    at = f"{path}:{line}" if line else str(path)
    where = f"{at}: KPI '{entry.get('id', f'#{index + 1}')}'"
    _require(entry, REQUIRED_FIELDS, where)
    if not isinstance(entry["id"], str) or not _IDENTIFIER.match(entry["id"]):
        raise CatalogueError(f"{where}: field 'id' must be lower-case letters, digits and _")
    dimensions = entry.get("dimensions") or []
    if not isinstance(dimensions, list):
        raise CatalogueError(f"{where}: field 'dimensions' must be a list")
    formula = parse_formula(entry["formula"], metrics, where)
    if models is not None:
        _check_dimensions(dimensions, formula, metrics, models, where)
    chain = ()
    if entry.get("chain") is not None:
        chain_where = f"{path}:{chain_line}: KPI '{entry['id']}'" if chain_line else where
        chain = parse_chain(entry["chain"], formula, metrics, chain_where)
    lag = 0
    if entry.get("maturity_lag_days") is not None:
        lag_where = f"{path}:{lag_line}: KPI '{entry['id']}'" if lag_line else where
        lag = parse_maturity_lag(entry["maturity_lag_days"], lag_where)
    return Kpi(
        id=str(entry["id"]),
        name=str(entry["name"]),
        family=_choice(entry["family"], FAMILIES, where, "family"),
        description=str(entry["description"]),
        objective=str(entry["objective"]),
        unit=_choice(entry["unit"], UNITS, where, "unit"),
        direction=_choice(entry["direction"], DIRECTIONS, where, "direction"),
        dimensions=tuple(dimensions),
        owner=str(entry["owner"]),
        review_cadence=_choice(entry["review_cadence"], CADENCES, where, "review_cadence"),
        targets=parse_targets(entry, where),
        formula=formula,
        range=None if entry.get("range") is None else parse_range(entry["range"], where),
        chain=chain,
        maturity_lag_days=lag,
    )


def _list_items(text: str, key: str) -> list[yaml.Node]:
    """The YAML nodes of the items of the top-level list `key` (for error messages)."""
    try:
        root = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key_node, value_node in root.value:
        if key_node.value == key and isinstance(value_node, yaml.SequenceNode):
            return list(value_node.value)
    return []


def _item_lines(text: str, key: str) -> list[int]:
    """1-based line of each item of the top-level list `key` (for error messages)."""
    return [item.start_mark.line + 1 for item in _list_items(text, key)]


def _field_lines(text: str, key: str, field: str) -> list[int]:
    """Per item of the top-level list `key`, the 1-based line of its `field` (0: none)."""
    found = []
    for item in _list_items(text, key):
        pairs = item.value if isinstance(item, yaml.MappingNode) else []
        lines = [k.start_mark.line + 1 for k, _ in pairs if k.value == field]
        found.append(lines[0] if lines else 0)
    return found


def _entries(document: dict[str, Any], path: Path, text: str, key: str, what: str):
    """(where, entry) of each item of the top-level list `key`, `where` naming its line."""
    entries = document.get(key)
    if not entries or not isinstance(entries, list):
        raise CatalogueError(f"{path}: no '{key}' list ({what})")
    lines = _item_lines(text, key)
    for index, entry in enumerate(entries):
        line = lines[index] if index < len(lines) else 0
        ident = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
        yield f"{path}:{line}", ident, entry


def load_semantic_models(
    document: dict[str, Any], path: Path, text: str
) -> dict[str, SemanticModel]:
    models: dict[str, SemanticModel] = {}
    for at, ident, entry in _entries(
        document, path, text, "semantic_models", "the dbt models metrics are measured on"
    ):
        model = parse_semantic_model(entry, f"{at}: semantic model '{ident}'")
        if model.id in models:
            raise CatalogueError(f"{at}: semantic model '{model.id}' is defined twice")
        models[model.id] = model
    return models


def load_metrics(
    document: dict[str, Any], path: Path, text: str, models: dict[str, SemanticModel]
) -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for at, ident, entry in _entries(
        document, path, text, "metrics", "the measures KPI formulas use"
    ):
        metric = parse_metric(entry, f"{at}: metric '{ident}'", models)
        if metric.id in metrics:
            raise CatalogueError(f"{at}: metric '{metric.id}' is defined twice")
        metrics[metric.id] = metric
    return metrics


@dataclass(frozen=True)
class Catalogue:
    """kpis.yml, parsed: semantic models, metrics and KPIs by id, in file order."""

    models: dict[str, SemanticModel]
    metrics: dict[str, Metric]
    kpis: dict[str, Kpi]


def load_full_catalogue(path: Path) -> Catalogue:
    """Semantic models, metrics and KPIs of `path`; raises CatalogueError on the first
    problem, naming the file, the line, the KPI and the field."""
    try:
        text = Path(path).read_text()
        document = yaml.load(text, Loader=YAML_LOADER)
    except FileNotFoundError as err:
        raise CatalogueError(f"{path}: KPI catalogue not found (set KPI_CATALOGUE)") from err
    except yaml.YAMLError as err:
        raise CatalogueError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(document, dict):
        raise CatalogueError(
            f"{path}: expected a mapping with 'semantic_models', 'metrics' and 'kpis'"
        )
    models = load_semantic_models(document, path, text)
    metrics = load_metrics(document, path, text, models)
    entries = document.get("kpis")
    if not entries or not isinstance(entries, list):
        raise CatalogueError(f"{path}: no 'kpis' list")
    lines = _item_lines(text, "kpis")
    chain_lines = _field_lines(text, "kpis", "chain")
    lag_lines = _field_lines(text, "kpis", "maturity_lag_days")
    kpis: dict[str, Kpi] = {}
    for index, entry in enumerate(entries):
        line = lines[index] if index < len(lines) else 0
        if not isinstance(entry, dict):
            raise CatalogueError(f"{path}:{line}: KPI #{index + 1} must be a mapping")
        chain_line = chain_lines[index] if index < len(chain_lines) else 0
        lag_line = lag_lines[index] if index < len(lag_lines) else 0
        kpi = parse_kpi(entry, path, index, metrics, line, models, chain_line, lag_line)
        if kpi.id in kpis:
            raise CatalogueError(f"{path}:{line}: KPI '{kpi.id}' is defined twice")
        kpis[kpi.id] = kpi
    return Catalogue(models, metrics, kpis)


def load_catalogue_with_metrics(path: Path) -> tuple[dict[str, Metric], dict[str, Kpi]]:
    """Metrics and KPIs of `path` by id, in file order (see load_full_catalogue)."""
    catalogue = load_full_catalogue(path)
    return catalogue.metrics, catalogue.kpis


def load_catalogue(path: Path) -> dict[str, Kpi]:
    """The KPIs of `path` by id, in file order; raises CatalogueError on the first problem."""
    return load_catalogue_with_metrics(path)[1]
