"""MetricFlow's semantic layer, generated from the catalogue.

A KPI whose metrics all add up over days (counts and sums) becomes a metric over
`fct_kpi_daily` (semantic model `kpi_facts`, hand-written in `_semantic__models.yml`):
it sums the daily numerators and denominators over the queried grain, then divides (the
same rule as `fct_kpi_period`); `<kpi>` over the overall rows and `<kpi>_by_<dimension>`
over one breakdown (group by `kpi_fact__dimension_value`). Files: `_kpi_metrics.yml`.

A KPI with a distinct count among its metrics (distinct users) cannot be summed from
daily facts: it is recounted over the queried grain from the semantic models of its
metrics, which are generated from the catalogue's `semantic_models` with one measure per
catalogue metric (jaffle-shop's `orders.yml` layout). File: `_kpi_semantic_models.yml`.
"""

from __future__ import annotations

from typing import Any

import yaml

from kpi_pipeline.kpis.catalogue import Catalogue, Kpi, Metric, SemanticModel, terms

HEADER = (
    "# Generated from kpis.yml by `kpi validate --write-seed`; do not edit by hand.\n"
    "# MetricFlow metrics over fct_kpi_daily (semantic model kpi_facts, _semantic__models.yml).\n"
)
MODELS_HEADER = (
    "# Generated from kpis.yml by `kpi validate --write-seed`; do not edit by hand.\n"
    "# MetricFlow semantic models of the KPIs with a distinct count (recounted over the\n"
    "# queried grain, not summed from fct_kpi_daily), one measure per catalogue metric.\n"
)
# how fct_kpi_daily spells a missing breakdown value (macros/kpi_facts.sql)
NOT_SET = "(not set)"
FACT_MEASURES = ("kpi_numerator", "kpi_denominator")


def is_additive(kpi: Kpi, metrics: dict[str, Metric]) -> bool:
    """Every metric of the KPI adds up over days, so its daily facts sum to a period's."""
    return all(metrics[name].is_additive for name in kpi.formula.metrics())


def recounted_kpis(catalogue: Catalogue) -> dict[str, Kpi]:
    """The KPIs MetricFlow recounts from their entity models (a distinct count)."""
    return {k.id: k for k in catalogue.kpis.values() if not is_additive(k, catalogue.metrics)}


def _filter(kpi_id: str, dimension: str) -> list[str]:
    return [
        f"{{{{ Dimension('kpi_fact__kpi_id') }}}} = '{kpi_id}'",
        f"{{{{ Dimension('kpi_fact__dimension') }}}} = '{dimension}'",
    ]


def kpi_metrics(kpi: Kpi, dimension: str) -> list[dict[str, Any]]:
    name = kpi.id if dimension == "all" else f"{kpi.id}_by_{dimension}"
    label = kpi.name if dimension == "all" else f"{kpi.name} by {dimension}"
    described = f"{kpi.description} Sum of daily numerators / sum of daily denominators."
    where = _filter(kpi.id, dimension)
    if not kpi.formula.is_ratio:
        return [
            {
                "name": name,
                "label": label,
                "description": kpi.description,
                "type": "simple",
                "type_params": {"measure": "kpi_numerator"},
                "filter": where,
            }
        ]
    ratio = {
        "name": name if kpi.formula.scale == 1 else f"{name}_share",
        "label": label if kpi.formula.scale == 1 else f"{label} (share)",
        "description": described,
        "type": "ratio",
        "type_params": {"numerator": "kpi_numerator", "denominator": "kpi_denominator"},
        "filter": where,
    }
    if kpi.formula.scale == 1:
        return [ratio]
    scaled = {
        "name": name,
        "label": label,
        "description": f"{kpi.formula.scale:g} x {ratio['name']}. {kpi.description}",
        "type": "derived",
        "type_params": {
            "expr": f"{kpi.formula.scale:g} * {ratio['name']}",
            "metrics": [{"name": ratio["name"]}],
        },
    }
    return [ratio, scaled]


def _dump(header: str, document: dict[str, Any]) -> str:
    return header + yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)


def fact_metrics(catalogue: Catalogue) -> list[dict[str, Any]]:
    """The metrics over `kpi_facts`: its two measures, then every additive KPI."""
    metrics: list[dict[str, Any]] = [
        {
            "name": "kpi_numerator",
            "label": "KPI numerator",
            "description": "Sum of fct_kpi_daily numerators (filter kpi_id and dimension).",
            "type": "simple",
            "type_params": {"measure": "kpi_numerator"},
        },
        {
            "name": "kpi_denominator",
            "label": "KPI denominator",
            "description": "Sum of fct_kpi_daily denominators (filter kpi_id and dimension).",
            "type": "simple",
            "type_params": {"measure": "kpi_denominator"},
        },
    ]
    for kpi in catalogue.kpis.values():
        if is_additive(kpi, catalogue.metrics):
            for dimension in ("all", *kpi.dimensions):
                metrics.extend(kpi_metrics(kpi, dimension))
    return metrics


def semantic_yaml(catalogue: Catalogue) -> str:
    """`_kpi_metrics.yml`'s exact text: the metrics of the additive KPIs."""
    return _dump(HEADER, {"version": 2, "metrics": fact_metrics(catalogue)})


def entity_name(model: SemanticModel) -> str:
    """What one row is: the key without its `_key` / `_id` suffix (session_key: session)."""
    for suffix in ("_key", "_id"):
        if model.key.endswith(suffix) and len(model.key) > len(suffix):
            return model.key[: -len(suffix)]
    return model.key


def _measure(metric: Metric, model: SemanticModel) -> dict[str, Any]:
    """A catalogue metric as a measure: its filter folded into the expression, so the rows
    it leaves out count 0 (a sum) or nothing (a distinct count), as in fct_kpi_daily."""
    kept = f"({metric.filter})" if metric.filter else None
    if metric.agg == "count_distinct":
        agg = "count_distinct"
        expr = f"case when {kept} then {metric.expr} end" if kept else str(metric.expr)
    else:
        amount = "1" if metric.agg == "count" else str(metric.expr)
        agg, expr = "sum", f"case when {kept} then {amount} else 0 end" if kept else amount
    measure: dict[str, Any] = {
        "name": metric.id,
        "description": metric.description,
        "agg": agg,
        "expr": expr,
    }
    if metric.date and metric.date != model.date:
        measure["agg_time_dimension"] = metric.date
    return measure


def entity_model(model: SemanticModel, metrics: list[Metric]) -> dict[str, Any]:
    """The MetricFlow semantic model of one catalogue semantic model."""
    dates = dict.fromkeys([model.date, *(m.date for m in metrics if m.date)])
    return {
        "name": model.id,
        "description": model.description,
        "model": f"ref('{model.model}')",
        "defaults": {"agg_time_dimension": model.date},
        "entities": [{"name": entity_name(model), "type": "primary", "expr": model.key}],
        "dimensions": [
            *(
                {"name": date, "type": "time", "type_params": {"time_granularity": "day"}}
                for date in dates
            ),
            *(
                {
                    "name": name,
                    "type": "categorical",
                    "expr": f"coalesce(cast({column} as varchar), '{NOT_SET}')",
                }
                for name, column in model.dimensions
            ),
        ],
        "measures": [_measure(metric, model) for metric in metrics],
    }


def _sum_expression(expression: str | None, names: dict[str, str]) -> str:
    """`a - b` over the names MetricFlow knows the metrics by (a formula starts with +)."""
    joined = "".join(
        f"{' - ' if sign < 0 else ' + '}{names[metric]}" for sign, metric in terms(expression)
    )
    return joined.removeprefix(" + ")


def recounted_metric(kpi: Kpi, names: dict[str, str], entities: list[str]) -> dict[str, Any]:
    """A distinct-count KPI over its metrics' simple metrics (`names`: metric id to name)."""
    formula = kpi.formula
    grouped = ", ".join(f"{entity}__{d}" for entity in entities for d in kpi.dimensions)
    description = f"{kpi.description} Recounted over the queried grain" + (
        f" (breakdowns: group by {grouped})." if grouped else "."
    )
    numerator, denominator = terms(formula.numerator), terms(formula.denominator)
    metric: dict[str, Any] = {"name": kpi.id, "label": kpi.name, "description": description}
    single = len(numerator) == len(denominator) == 1 and numerator[0][0] == denominator[0][0] == 1
    if single and formula.scale == 1:
        metric["type"] = "ratio"
        metric["type_params"] = {
            "numerator": names[numerator[0][1]],
            "denominator": names[denominator[0][1]],
        }
        return metric
    expr = _sum_expression(formula.numerator, names)
    if formula.is_ratio:
        below = _sum_expression(formula.denominator, names)
        expr = f"cast({expr} as double precision) / nullif({below}, 0)"
    if formula.scale != 1:
        expr = f"{formula.scale:g} * {expr}"
    used = dict.fromkeys(names[m] for m in formula.metrics())
    metric["type"] = "derived"
    metric["type_params"] = {"expr": expr, "metrics": [{"name": n} for n in used]}
    return metric


def _label(name: str, taken: set[str]) -> str:
    label = name.replace("_", " ").capitalize()
    return f"{label} (measure)" if label in taken else label


def models_yaml(catalogue: Catalogue) -> str:
    """`_kpi_semantic_models.yml`'s exact text: the semantic models the recounted KPIs are
    measured on, a simple metric per measure, and each recounted KPI's metric."""
    recounted = recounted_kpis(catalogue)
    wanted = dict.fromkeys(
        catalogue.metrics[m].on for k in recounted.values() for m in k.formula.metrics()
    )
    # a measure's simple metric takes the metric's id, unless a KPI's metric has that name
    # (MetricFlow wants names and labels unique across the project)
    taken = {m["name"] for m in fact_metrics(catalogue)} | set(recounted)
    labels = {m["label"] for m in fact_metrics(catalogue)} | {k.name for k in recounted.values()}
    names = {
        m.id: f"{m.on}_{m.id}" if m.id in taken else m.id
        for m in catalogue.metrics.values()
        if m.on in wanted
    }
    models, metrics = [], []
    for model_id in wanted:
        model = catalogue.models[model_id]
        measured = [m for m in catalogue.metrics.values() if m.on == model_id]
        models.append(entity_model(model, measured))
        metrics.extend(
            {
                "name": names[m.id],
                "label": _label(names[m.id], labels),
                "description": m.description,
                "type": "simple",
                "type_params": {"measure": m.id},
            }
            for m in measured
        )
    for kpi in recounted.values():
        entities = list(
            dict.fromkeys(
                entity_name(catalogue.models[catalogue.metrics[m].on])
                for m in kpi.formula.metrics()
            )
        )
        metrics.append(recounted_metric(kpi, names, entities))
    document: dict[str, Any] = {"version": 2}
    if models:
        document |= {"semantic_models": models, "metrics": metrics}
    return _dump(MODELS_HEADER, document)
