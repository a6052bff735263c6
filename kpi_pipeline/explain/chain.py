"""Split the change of a product V = f_1 x f_2 x ... (all factors positive) between its
factors with the logarithmic mean Divisia index (LMDI-I): factor k contributes
L(V1, V0) ln(f1_k / f0_k), and the contributions add up to V1 - V0 exactly.

A KPI's chain (kpis.yml `chain`) builds its factors from its metrics' totals over a period
(`factor_values`); the product must be the KPI's value (`check_identity`) before it is split
(`explain_kpi_chain`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from kpi_pipeline.explain.decompose import Components
from kpi_pipeline.explain.explanation import Contribution, Explanation, NoValue
from kpi_pipeline.kpis.catalogue import CHAIN, Factor, Kpi

# the factors' product and the KPI's value agree this closely (the marts sum decimals, then
# store doubles; a telescoping product is exact up to float rounding)
IDENTITY_TOLERANCE = 1e-9


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


def lmdi(
    before: Mapping[str, float],
    after: Mapping[str, float],
    values: tuple[float, float] | None = None,
) -> dict[str, float]:
    """Each factor's contribution to the product's change, in the order of `before`;
    `values`: the product in the two periods as the facts hold it (default: computed)."""
    _check(before, after)
    value_from, value_to = values or (math.prod(before.values()), math.prod(after.values()))
    weight = logarithmic_mean(value_to, value_from)
    # a factor equal in both periods: log(1) is exactly 0
    return {name: weight * math.log(after[name] / before[name]) + 0.0 for name in before}


def explain_chain(
    kpi_id: str,
    before: Mapping[str, float],
    after: Mapping[str, float],
    dimension: str = "all",
    dimension_value: str = "all",
    values: tuple[float, float] | None = None,
) -> Explanation:
    """The product's change with one contribution per factor, its effect the factor's name;
    `values`: the product in the two periods as the facts hold it (default: computed)."""
    contributions = lmdi(before, after, values)
    value_from, value_to = values or (math.prod(before.values()), math.prod(after.values()))
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


def factor_values(
    chain: Sequence[Factor], totals: Mapping[str, float | None], period: str
) -> dict[str, float]:
    """Each factor's value in one period from its metrics' totals there (`period`: "from"
    or "to"). NoValue when a metric has no total (a day of the period without its source's
    file); ChainError when a factor's denominator is 0."""
    found = {}
    for factor in chain:
        amounts = []
        for metric_id in factor.metrics():
            total = totals.get(metric_id)
            if total is None:
                raise NoValue(period, f"metric '{metric_id}' of factor '{factor.name}' is missing")
            amounts.append(float(total))
        if len(amounts) == 2 and amounts[1] == 0:
            raise ChainError(
                f"factor '{factor.name}' has no value in the '{period}' period: its "
                f"denominator, metric '{factor.denominator}', is 0"
            )
        found[factor.name] = amounts[0] / amounts[1] if len(amounts) == 2 else amounts[0]
    return found


def kpi_value(kpi: Kpi, overall: Components, period: str) -> float:
    """The KPI's overall value in one period from its components (NoValue: none)."""
    if overall.numerator is None:
        raise NoValue(period, "the numerator is missing")
    if not kpi.formula.is_ratio:
        return float(overall.numerator)
    if overall.denominator is None or overall.denominator == 0:
        shown = "missing" if overall.denominator is None else "0"
        raise NoValue(period, f"the denominator is {shown}")
    return kpi.formula.scale * float(overall.numerator) / float(overall.denominator)


def check_identity(kpi_id: str, factors: Mapping[str, float], value: float, period: str) -> None:
    """The factors multiply out to the KPI's value (within IDENTITY_TOLERANCE, relative),
    else a ChainError naming them."""
    product = math.prod(factors.values())
    if not math.isclose(product, value, rel_tol=IDENTITY_TOLERANCE, abs_tol=0.0):
        named = " x ".join(f"{name} ({number!r})" for name, number in factors.items())
        raise ChainError(
            f"the chain of {kpi_id} does not multiply out to its value in the '{period}' "
            f"period: {named} = {product!r}, but {kpi_id} is {value!r}; its factors' metrics "
            "and the KPI's facts disagree (is marts.fct_metric_daily built for the same days "
            "as marts.fct_kpi_daily?)"
        )


def explain_kpi_chain(
    kpi: Kpi,
    overall: tuple[Components, Components],
    totals: tuple[Mapping[str, float | None], Mapping[str, float | None]],
) -> Explanation:
    """The KPI's change between two periods split between the factors of its chain (LMDI),
    from its overall components and its chain's metric totals in each period. The
    contributions (dimension `chain`, effect: the factor's name) add up to the change."""
    if not kpi.chain:
        raise ChainError(f"{kpi.id} declares no product chain (kpis.yml 'chain')")
    values = (kpi_value(kpi, overall[0], "from"), kpi_value(kpi, overall[1], "to"))
    before = factor_values(kpi.chain, totals[0], "from")
    after = factor_values(kpi.chain, totals[1], "to")
    check_identity(kpi.id, before, values[0], "from")
    check_identity(kpi.id, after, values[1], "to")
    return explain_chain(kpi.id, before, after, dimension=CHAIN, values=values)
