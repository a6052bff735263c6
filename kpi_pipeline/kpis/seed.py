"""The catalogue as dbt's `kpi_catalogue` seed (behind `dim_kpi`): one CSV row per KPI.

dbt cannot read kpis.yml, so `kpi validate --write-seed` writes this CSV next to the dbt
seeds; a test fails when the committed CSV and kpis.yml disagree.
"""

from __future__ import annotations

import csv
import io

from kpi_pipeline.deployment import GROUPS
from kpi_pipeline.kpis.catalogue import Kpi, Metric, Target, kpi_sources

SEED_COLUMNS = (
    "kpi_id",
    "kpi_name",
    "family",
    "description",
    "objective",
    "numerator_formula",
    "denominator_formula",
    "value_scale",
    "is_ratio",
    "unit",
    "direction",
    "dimensions",
    "owner",
    "review_cadence",
    "target_kind",
    "target_value",
    "target_change_on_last_year",
    "at_risk_tolerance",
    "maturity_lag_days",
)


def _target_cells(target: Target) -> dict[str, str]:
    return {
        "target_kind": "relative_to_last_year" if target.is_relative else "absolute",
        "target_value": "" if target.value is None else repr(target.value),
        "target_change_on_last_year": (
            "" if target.relative_to_last_year is None else repr(target.relative_to_last_year)
        ),
        "at_risk_tolerance": repr(target.at_risk_tolerance),
    }


def seed_rows(catalogue: dict[str, Kpi]) -> list[dict[str, str]]:
    """One row per KPI, with its latest target (the days' targets: `targets_csv`)."""
    rows = []
    for kpi in catalogue.values():
        rows.append(
            {
                "kpi_id": kpi.id,
                "kpi_name": kpi.name,
                "family": kpi.family,
                "description": kpi.description,
                "objective": kpi.objective,
                "numerator_formula": kpi.formula.numerator,
                "denominator_formula": kpi.formula.denominator or "",
                "value_scale": repr(kpi.formula.scale),
                "is_ratio": str(kpi.formula.is_ratio).lower(),
                "unit": kpi.unit,
                "direction": kpi.direction,
                "dimensions": ",".join(kpi.dimensions),
                "owner": kpi.owner,
                "review_cadence": kpi.review_cadence,
                **_target_cells(kpi.target),
                "maturity_lag_days": str(kpi.maturity_lag_days),
            }
        )
    return rows


def seed_csv(catalogue: dict[str, Kpi]) -> str:
    """The seed's exact text (LF line ends, every cell quoted only when needed)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SEED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(seed_rows(catalogue))
    return buffer.getvalue()


TARGETS_COLUMNS = (
    "kpi_id",
    "effective_from",
    "effective_to",
    "target_kind",
    "target_value",
    "target_change_on_last_year",
    "at_risk_tolerance",
)


def targets_csv(catalogue: dict[str, Kpi]) -> str:
    """dbt's `kpi_targets` seed: each KPI's targets with the days they are in force, from
    `effective_from` (empty: the first day) to the day before `effective_to` (empty: on).
    `fct_kpi_attainment` holds each day against the target of its day."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TARGETS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for kpi in catalogue.values():
        following = [t.effective_from for t in kpi.targets[1:]] + [None]
        for target, until in zip(kpi.targets, following, strict=True):
            start = target.effective_from
            writer.writerow(
                {
                    "kpi_id": kpi.id,
                    "effective_from": "" if start is None else start.isoformat(),
                    "effective_to": "" if until is None else until.isoformat(),
                    **_target_cells(target),
                }
            )
    return buffer.getvalue()


SOURCES_COLUMNS = ("kpi_id", "requirement", "source")


def sources_csv(catalogue: dict[str, Kpi], metrics: dict[str, Metric]) -> str:
    """dbt's `kpi_sources` seed: per KPI, each source requirement of its metrics and the
    landing-zone sources that meet it (`crm`: hubspot or salesforce). A day on which a
    requirement got no file has no value for that KPI (`fct_kpi_daily`), never a zero."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SOURCES_COLUMNS)
    for kpi in catalogue.values():
        for requirement in kpi_sources(kpi, metrics):
            for source in GROUPS.get(requirement, (requirement,)):
                writer.writerow((kpi.id, requirement, source))
    return buffer.getvalue()
