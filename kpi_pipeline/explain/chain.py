"""Split the change of a product V = f_1 x f_2 x ... (all factors positive) between its
factors with the logarithmic mean Divisia index (LMDI-I): factor k contributes
L(V1, V0) ln(f1_k / f0_k), and the contributions add up to V1 - V0 exactly."""

from __future__ import annotations

import math
from collections.abc import Mapping

from kpi_pipeline.explain.explanation import Contribution, Explanation


class ChainError(ValueError):
    """The factors cannot be compared: a factor missing in a period, or not positive."""


def logarithmic_mean(a: float, b: float) -> float:
    """(a - b) / ln(a / b) for positive a, b; a when they are equal."""
    if a == b:
        return a
    if abs(a - b) < b / 2:
        # close values: log1p of the exact difference keeps the digits log(a / b) loses
        return (a - b) / math.log1p((a - b) / b)
    return (a - b) / math.log(a / b)


def lmdi(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """Each factor's contribution to the product's change, in the order of `before`."""
    _check(before, after)
    value_from, value_to = math.prod(before.values()), math.prod(after.values())
    weight = logarithmic_mean(value_to, value_from)
    # a factor equal in both periods: log(1) is exactly 0
    return {name: weight * math.log(after[name] / before[name]) + 0.0 for name in before}


def explain_chain(
    kpi_id: str,
    before: Mapping[str, float],
    after: Mapping[str, float],
    dimension: str = "all",
    dimension_value: str = "all",
) -> Explanation:
    """The product's change with one contribution per factor, its effect the factor's name."""
    contributions = lmdi(before, after)
    value_from, value_to = math.prod(before.values()), math.prod(after.values())
    return Explanation(
        kpi_id,
        dimension,
        value_from,
        value_to,
        value_to - value_from,
        tuple(Contribution(dimension_value, name, value) for name, value in contributions.items()),
    )


def _check(before: Mapping[str, float], after: Mapping[str, float]) -> None:
    if not before:
        raise ChainError("a product chain needs at least one factor")
    if set(before) != set(after):
        missing = sorted(set(before) ^ set(after))
        raise ChainError(f"factor(s) {', '.join(missing)} given for one period only")
    for period, factors in (("from", before), ("to", after)):
        for name, value in factors.items():
            if not (math.isfinite(value) and value > 0):
                raise ChainError(
                    f"factor '{name}' is {value!r} in the '{period}' period: a product chain "
                    "needs positive factors (log of a non-positive number is undefined)"
                )
