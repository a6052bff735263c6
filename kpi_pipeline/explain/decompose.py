"""Split a KPI's change between two periods into per-segment contributions, exactly.

A plain sum: each segment contributes its own change. A ratio V = scale x N / D =
scale x sum(s_i r_i), with s_i = d_i / D the segment's share of the overall denominator and
r_i = n_i / d_i its own ratio: the symmetric (Kitagawa) shift-share gives each segment
mix_i = scale (s1 - s0)(r1 + r0) / 2 and rate_i = scale (r1 - r0)(s1 + s0) / 2, which add
up to V1 - V0. When the segments do not add up to the overall (distinct counts counted in
several segments, rows without a segment), the rest is one `overlap` contribution, so the
contributions always add up to the overall change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kpi_pipeline.explain.explanation import (
    CHANGE,
    MIX,
    NOT_ATTRIBUTABLE,
    OVERLAP,
    RATE,
    Contribution,
    Explanation,
    NoValue,
)
from kpi_pipeline.kpis.catalogue import Kpi

# components agreeing this closely add up (the marts sum decimals, then store doubles)
_ADDS_UP_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Components:
    """A KPI's numerator and denominator (None for a plain sum) for one segment or overall;
    a None numerator: no value (the facts had no data)."""

    numerator: float | None
    denominator: float | None = None


@dataclass(frozen=True)
class Breakdown:
    """One period of a KPI: its overall components and those of each dimension value."""

    overall: Components
    segments: Mapping[str, Components] = field(default_factory=dict)


def explain(kpi: Kpi, dimension: str, before: Breakdown, after: Breakdown) -> Explanation:
    """The KPI's change from `before` to `after` by `dimension`, as its formula asks."""
    if kpi.formula.is_ratio:
        return explain_ratio(kpi.id, dimension, before, after, kpi.formula.scale)
    return explain_additive(kpi.id, dimension, before, after)


def explain_additive(
    kpi_id: str, dimension: str, before: Breakdown, after: Breakdown
) -> Explanation:
    """A plain sum: each segment contributes its change (a segment in one period only, all
    of its value); the overall change the segments do not make up is the `overlap`."""
    value_from = _numerator(before.overall, "from")
    value_to = _numerator(after.overall, "to")
    old, new = _present(before.segments), _present(after.segments)
    contributions = [
        Contribution(name, CHANGE, _clean(_amount(new.get(name)) - _amount(old.get(name))))
        for name in _names(old, new)
    ]
    return _explanation(kpi_id, dimension, value_from, value_to, contributions, before, after)


def explain_ratio(
    kpi_id: str, dimension: str, before: Breakdown, after: Breakdown, scale: float = 1.0
) -> Explanation:
    """A ratio scale x N / D: each segment's `mix` and `rate` effects (Kitagawa), plus the
    `overlap` when the segments do not add up to the overall.

    A segment absent in one period has share 0 there and takes the other period's ratio,
    so all of its part is mix. A segment with a denominator of 0 but a numerator (spend
    without a customer) adds n / D to the value with no share: that term is rate.
    Raises NoValue when a period's overall numerator is missing or denominator 0 / missing.
    """
    total_from = _denominator(before.overall, "from")
    total_to = _denominator(after.overall, "to")
    value_from = scale * _numerator(before.overall, "from") / total_from
    value_to = scale * _numerator(after.overall, "to") / total_to
    old, new = _present(before.segments), _present(after.segments)
    contributions: list[Contribution] = []
    shares: list[tuple[str, float, float]] = []
    for name in _names(old, new):
        share_from, ratio_from, stray_from = _terms(old.get(name), total_from)
        share_to, ratio_to, stray_to = _terms(new.get(name), total_to)
        # no ratio in a period (absent, or no denominator): the other period's, so the
        # segment's appearing or vanishing is all mix
        ratio_from = _first(ratio_from, ratio_to, 0.0)
        ratio_to = _first(ratio_to, ratio_from, 0.0)
        mix = scale * (share_to - share_from) * (ratio_to + ratio_from) / 2
        rate = scale * (
            (ratio_to - ratio_from) * (share_to + share_from) / 2 + (stray_to - stray_from)
        )
        contributions += [
            Contribution(name, MIX, _clean(mix)),
            Contribution(name, RATE, _clean(rate)),
        ]
        shares.append((name, share_from, share_to))
    explanation = _explanation(
        kpi_id, dimension, value_from, value_to, contributions, before, after
    )
    return replace(explanation, shares=tuple(shares))


def _explanation(
    kpi_id: str,
    dimension: str,
    value_from: float,
    value_to: float,
    contributions: list[Contribution],
    before: Breakdown,
    after: Breakdown,
) -> Explanation:
    """The explanation, with the `overlap` the segments leave unexplained unless they add
    up to the overall in both periods."""
    change = value_to - value_from
    residual = _clean(change - math.fsum(c.value for c in contributions))
    if residual != 0 and not (_adds_up(before) and _adds_up(after)):
        contributions = [*contributions, Contribution(NOT_ATTRIBUTABLE, OVERLAP, residual)]
    return Explanation(kpi_id, dimension, value_from, value_to, change, tuple(contributions))


def _numerator(overall: Components, period: str) -> float:
    if overall.numerator is None:
        raise NoValue(period, "the numerator is missing")
    return float(overall.numerator)


def _denominator(overall: Components, period: str) -> float:
    if overall.denominator is None or overall.denominator == 0:
        shown = "missing" if overall.denominator is None else "0"
        raise NoValue(period, f"the denominator is {shown}")
    return float(overall.denominator)


def _present(segments: Mapping[str, Components]) -> dict[str, Components]:
    """The segments with a value (a None numerator means the facts had no data)."""
    return {name: parts for name, parts in segments.items() if parts.numerator is not None}


def _names(old: Mapping[str, Components], new: Mapping[str, Components]) -> list[str]:
    """Every segment of either period, in one order whatever the input's."""
    return sorted(set(old) | set(new))


def _amount(parts: Components | None) -> float:
    return 0.0 if parts is None else float(parts.numerator)


def _terms(parts: Components | None, total: float) -> tuple[float, float | None, float]:
    """(share of the overall denominator, own ratio, stray term n / D of a segment with no
    denominator); an absent segment has share 0 and no ratio."""
    if parts is None:
        return 0.0, None, 0.0
    numerator, denominator = float(parts.numerator), float(parts.denominator or 0.0)
    if denominator == 0:
        return 0.0, None, numerator / total
    return denominator / total, numerator / denominator, 0.0


def _first(*values: float | None) -> float:
    return next(value for value in values if value is not None)


def _adds_up(period: Breakdown) -> bool:
    """Whether the segments' numerators (and denominators) sum to the overall ones."""
    present = _present(period.segments).values()
    pairs = [(period.overall.numerator, [p.numerator for p in present])]
    if period.overall.denominator is not None:
        pairs.append((period.overall.denominator, [p.denominator or 0.0 for p in present]))
    return all(
        math.isclose(
            total, math.fsum(parts), rel_tol=_ADDS_UP_TOLERANCE, abs_tol=_ADDS_UP_TOLERANCE
        )
        for total, parts in pairs
    )


def _clean(value: float) -> float:
    """-0.0 as 0.0 (a zero contribution prints as 0)."""
    return value + 0.0
