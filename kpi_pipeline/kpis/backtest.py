"""How good the projections of `fct_kpi_pace` were: over the history the warehouse holds,
the projection made at given days of each month against the month's final value, next to
naive linear pacing, and how often the 80 % interval held the final value.

Naive linear pacing: a plain sum's value to date times days in the month / days elapsed;
a ratio's value to date as it is. Errors are absolute, relative to the final value (months
whose final value is 0 are left out). `kpi pace --backtest` prints it; docs/kpis.md holds
the figures of the sample's two years."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import mean
from typing import Any

DAYS = (10, 20)

READ = """
    select pace.kpi_id, pace.period_start, pace.days_elapsed, pace.days_in_period,
           pace.period_to_date_value, pace.projected_value, pace.projected_low,
           pace.projected_high, final.value as final_value
    from marts.fct_kpi_pace as pace
    inner join marts.fct_kpi_period as final
        on final.kpi_id = pace.kpi_id and final.period_grain = pace.period_grain
        and final.period_start = pace.period_start and final.dimension = 'all'
    where pace.period_grain = 'month' and final.value is not null
      and final.days_covered = pace.days_in_period
      and pace.projected_value is not null and pace.period_to_date_value is not null
"""


@dataclass(frozen=True)
class Score:
    """One KPI (or all of them) at one day of the month."""

    kpi_id: str
    day: int
    months: int
    projection_error: float | None  # mean absolute relative error
    naive_error: float | None
    with_interval: int
    covered: int

    @property
    def coverage(self) -> float | None:
        return self.covered / self.with_interval if self.with_interval else None

    @property
    def beats_naive(self) -> bool | None:
        if self.projection_error is None or self.naive_error is None:
            return None
        return self.projection_error < self.naive_error


def naive(row: Mapping[str, Any], is_sum: bool) -> float:
    """Linear pacing: the value to date scaled to the month (a sum), or as it is (a ratio)."""
    to_date = row["period_to_date_value"]
    return to_date * row["days_in_period"] / row["days_elapsed"] if is_sum else to_date


def score(
    rows: Iterable[Mapping[str, Any]], sums: set[str], days: tuple[int, ...] = DAYS
) -> list[Score]:
    """Per KPI and day of the month, then per day over every KPI (kpi_id `all`)."""
    found: dict[tuple[str, int], list[tuple[float, float, bool | None]]] = {}
    for row in rows:
        final, day = row["final_value"], row["days_elapsed"]
        if day not in days or not final:
            continue
        projected = abs(row["projected_value"] - final) / abs(final)
        linear = abs(naive(row, row["kpi_id"] in sums) - final) / abs(final)
        low, high = row["projected_low"], row["projected_high"]
        inside = None if low is None or high is None else low <= final <= high
        for key in ((row["kpi_id"], day), ("all", day)):
            found.setdefault(key, []).append((projected, linear, inside))
    scores = []
    for (kpi_id, day), errors in sorted(found.items(), key=lambda i: (i[0][0] == "all", i[0])):
        intervals = [inside for _, _, inside in errors if inside is not None]
        scores.append(
            Score(
                kpi_id,
                day,
                len(errors),
                mean(e for e, _, _ in errors),
                mean(n for _, n, _ in errors),
                len(intervals),
                sum(intervals),
            )
        )
    return scores
