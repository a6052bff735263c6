"""MetricFlow metrics over `fct_kpi_daily`, generated from the catalogue.

Every KPI becomes a metric summing its daily numerators and denominators over the queried
grain, then dividing (the same rule as `fct_kpi_period`): `<kpi>` over the overall rows and
`<kpi>_by_<dimension>` over one breakdown (group by `kpi_fact__dimension_value`). The two
GA4 KPIs come from the `sessions` semantic model instead, because distinct users are not
additive over days.
"""

from __future__ import annotations

from typing import Any

import yaml

from kpi_pipeline.kpis.catalogue import Kpi

FROM_SESSIONS = ("session_conversion_rate", "user_conversion_rate")
HEADER = (
    "# Generated from kpis.yml by `kpi validate --write-seed`; do not edit by hand.\n"
    "# MetricFlow metrics over fct_kpi_daily (semantic model kpi_facts, _semantic__models.yml).\n"
)


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


def semantic_yaml(catalogue: dict[str, Kpi]) -> str:
    """The metrics file's exact text."""
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
    for kpi in catalogue.values():
        if kpi.id in FROM_SESSIONS:
            continue
        for dimension in ("all", *kpi.dimensions):
            metrics.extend(kpi_metrics(kpi, dimension))
    body = yaml.safe_dump(
        {"version": 2, "metrics": metrics}, sort_keys=False, width=100, allow_unicode=True
    )
    return HEADER + body
