"""Which KPIs moved beyond their tolerance on a day, and why, in one sentence each: what
the report and the stakeholders' message say under a KPI that moved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from kpi_pipeline.explain.decompose import explain
from kpi_pipeline.explain.explanation import OVERLAP, Explanation, NoValue
from kpi_pipeline.explain.periods import compared_periods, vs_label
from kpi_pipeline.explain.read import breakdowns_from_rows, read_two_days
from kpi_pipeline.explain.wording import mix_subject, sentence
from kpi_pipeline.kpis.catalogue import Kpi


def moved_beyond_tolerance(
    kpi: Kpi, day: dt.date, found: Explanation, target: float | None
) -> bool:
    """The change is larger than the KPI's tolerance on `day`: a share of the day's target
    (of the value before, without a target)."""
    tolerance = (kpi.target_on(day) or kpi.target).at_risk_tolerance
    scale = abs(target) if target else abs(found.value_from)
    return abs(found.change) > tolerance * scale


def clearest(explanations: Sequence[Explanation]) -> Explanation | None:
    """The breakdown whose largest attributable part is the largest: the one that says the
    most about the change (ties: the breakdown declared first)."""

    def strength(found: Explanation) -> float:
        return max((abs(c.value) for c in found.contributions if c.effect != OVERLAP), default=0)

    ranked = sorted(explanations, key=strength, reverse=True)
    return ranked[0] if ranked and strength(ranked[0]) > 0 else None


def why_moved(
    day: dt.date,
    catalogue: Mapping[str, Kpi],
    explanations: Mapping[str, Sequence[Explanation]],
    targets: Mapping[str, float | None],
) -> dict[str, str]:
    """KPI id -> the sentence of each KPI that moved beyond its tolerance against the
    previous day (`explanations`: per KPI, one per breakdown; `targets`: the day's)."""
    label = vs_label("day", "previous")
    found = {}
    for kpi_id, candidates in explanations.items():
        kpi = catalogue[kpi_id]
        best = clearest(candidates)
        if best is None or not moved_beyond_tolerance(kpi, day, best, targets.get(kpi_id)):
            continue
        subject = mix_subject(kpi)
        found[kpi_id] = sentence(best, kpi.name, kpi.unit, label, mix_subject=subject)
    return found


def day_explanations(con, catalogue: Mapping[str, Kpi], day: dt.date) -> dict[str, list]:
    """Per KPI with breakdowns, its change against the previous day split over each of
    them, read from the daily facts in one query (KPIs without a value on either day are
    left out)."""
    before, after = compared_periods(day, "day", "previous")
    rows_of = read_two_days(con, before, after)
    found: dict[str, list[Explanation]] = {}
    for kpi in catalogue.values():
        for dimension in kpi.dimensions:
            periods = breakdowns_from_rows(rows_of.get(kpi.id, []), dimension, before, after)
            try:
                found.setdefault(kpi.id, []).append(explain(kpi, dimension, *periods))
            except NoValue:
                break
    return found
