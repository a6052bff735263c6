"""An explanation in one plain sentence: the change and its two main drivers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from kpi_pipeline.explain.explanation import CHANGE, MIX, OVERLAP, RATE, Contribution, Explanation
from kpi_pipeline.kpis.catalogue import terms

DRIVERS = 2
# what a segment's own ratio is called, by the KPI's unit
_RATE_WORDS = {"ratio": "rate", "points": "score"}


def mix_subject(kpi) -> str:
    """What a ratio's segments share: "traffic" when its denominator counts sessions or
    users (the web), else "the mix"."""
    words = {name for _, name in terms(kpi.formula.denominator)}
    return "traffic" if words & {"sessions", "users"} else "the mix"


def format_change(value: float, unit: str) -> str:
    """A change with its sign, in the KPI's unit: ratios in percentage points; halves
    rounded away from zero on the shortest decimal of the value (0.00275 is +0.28 pt)."""
    exact = Decimal(repr(float(value)))
    if unit == "ratio":
        return f"{_rounded(exact * 100, 2):+,.2f} pt"
    if unit == "currency":
        return f"{_rounded(exact, 2):+,.2f}"
    if unit == "points":
        return f"{_rounded(exact, 1):+,.1f} points"
    if unit == "hours":
        return f"{_rounded(exact, 1):+,.1f} h"
    places = 0 if exact == exact.to_integral_value() else 2
    return f"{_rounded(exact, places):+,.{places}f}"


def _rounded(value: Decimal, places: int) -> Decimal:
    # enough digits for any double; a zero loses its sign ("+0", not "-0")
    with localcontext(prec=400, rounding=ROUND_HALF_UP):
        return value.quantize(Decimal(1).scaleb(-places)) + 0


def is_shown(value: float, unit: str) -> bool:
    """Whether the change is visible at the precision it is written with (else near zero)."""
    return any(digit in "123456789" for digit in format_change(value, unit))


def sentence(
    explanation: Explanation,
    kpi_name: str,
    unit: str,
    vs_label: str,
    mix_subject: str = "the mix",
) -> str:
    """E.g. "Session conversion rate +0.17 pt vs the previous day: Paid Search's rate rose
    (+0.12 pt); traffic shifted toward Organic Search (+0.05 pt)" (with `mix_subject`
    "traffic"): the largest contributions, at most two, leaving out those near zero."""
    change = explanation.change
    moved = format_change(change, unit) if is_shown(change, unit) else "unchanged"
    head = f"{kpi_name} {moved} vs {vs_label}"
    drivers = [c for c in explanation.largest() if is_shown(c.value, unit)][:DRIVERS]
    if not drivers:
        return head
    words = [_driver(c, explanation, unit, mix_subject) for c in drivers]
    return f"{head}: {'; '.join(words)}"


def _driver(
    contribution: Contribution, explanation: Explanation, unit: str, mix_subject: str
) -> str:
    name, value = contribution.dimension_value, contribution.value
    amount = format_change(value, unit)
    moved = "rose" if value > 0 else "fell"
    if contribution.effect == CHANGE:
        return f"{name} {moved} ({amount})"
    if contribution.effect == RATE:
        return f"{name}'s {_RATE_WORDS.get(unit, 'average')} {moved} ({amount})"
    if contribution.effect == MIX:
        # the share's own direction: a larger share of a negative ratio lowers the value
        share = explanation.share_change(name)
        grew = share > 0 if share is not None else value > 0
        return f"{mix_subject} shifted {'toward' if grew else 'away from'} {name} ({amount})"
    if contribution.effect == OVERLAP:
        return f"the part no single {explanation.dimension} explains ({amount})"
    # a product chain: the effect is the factor's name
    return f"{contribution.effect.replace('_', ' ')} {moved} ({amount})"
