"""The result of explaining a KPI's change: contributions that add up to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# the effects of a contribution; a product chain's contributions are named by their factor
CHANGE = "change"  # a plain sum: the segment's own change
MIX = "mix"  # a ratio: the segment's share of the denominator moved
RATE = "rate"  # a ratio: the segment's own ratio moved
OVERLAP = "overlap"  # the overall change no segment explains (distinct counts, missing rows)
NOT_ATTRIBUTABLE = "(not attributable)"


class NoValue(ValueError):
    """The KPI has no value in one of the compared periods (no numerator, or a ratio whose
    overall denominator is 0 or missing): there is nothing to explain. `period` is "from"
    or "to"."""

    def __init__(self, period: str, reason: str) -> None:
        super().__init__(f"no value in the '{period}' period ({reason}): nothing to explain")
        self.period = period
        self.reason = reason


@dataclass(frozen=True)
class Contribution:
    dimension_value: str
    effect: str
    value: float


@dataclass(frozen=True)
class Explanation:
    """`change` = `value_to` - `value_from` = the sum of `contributions` (to float rounding)."""

    kpi_id: str
    dimension: str
    value_from: float
    value_to: float
    change: float
    contributions: tuple[Contribution, ...]
    # ratio KPIs: (dimension_value, share_from, share_to) of the overall denominator, which
    # says which way a segment's mix moved whatever the sign of its ratio
    shares: tuple[tuple[str, float, float], ...] = ()

    def largest(self, count: int | None = None) -> tuple[Contribution, ...]:
        """The contributions by absolute value, largest first (ties: by dimension value, then
        effect); the first `count` of them (None: all)."""
        ranked = sorted(
            self.contributions, key=lambda c: (-abs(c.value), c.dimension_value, c.effect)
        )
        return tuple(ranked if count is None else ranked[:count])

    def share_change(self, dimension_value: str) -> float | None:
        """How much the segment's share of the denominator moved (None: not a ratio)."""
        for value, share_from, share_to in self.shares:
            if value == dimension_value:
                return share_to - share_from
        return None

    def to_json_dict(self, period_from: dt.date, period_to: dt.date) -> dict[str, Any]:
        """The explanation as JSON-ready data; `period_from` / `period_to`: the first days
        of the two periods compared."""
        return {
            "kpi_id": self.kpi_id,
            "dimension": self.dimension,
            "from": period_from.isoformat(),
            "to": period_to.isoformat(),
            "value_from": self.value_from,
            "value_to": self.value_to,
            "change": self.change,
            "contributions": [
                {"dimension_value": c.dimension_value, "effect": c.effect, "value": c.value}
                for c in self.contributions
            ],
        }
