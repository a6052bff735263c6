"""The projection of `fct_kpi_pace` recomputed in plain Python, from the daily components,
as docs/kpis.md#where-a-kpi-is-heading words it (not from its SQL): the days still to come
of the period at the last 28 days' level times their weekday's factor over the last 56
days; a ratio's denominators to come at the last 28 days' rate; the 80 % interval
+- 1.2816 standard deviations from the 56 days' spread; naive linear pacing and no interval
without 56 complete days."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import mean

Z80 = 1.2816  # the standard normal's 90th percentile
LEVEL_DAYS, PROFILE_DAYS = 28, 56


@dataclass(frozen=True)
class Projection:
    value: float | None
    low: float | None
    high: float | None


def period_of(day: dt.date, grain: str) -> tuple[dt.date, dt.date]:
    if grain == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    first_month = day.month if grain == "month" else 3 * ((day.month - 1) // 3) + 1
    start = day.replace(month=first_month, day=1)
    months = 1 if grain == "month" else 3
    year, month = divmod(start.month - 1 + months, 12)
    end = dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)
    return start, end


def project(
    days: Mapping[dt.date, tuple[float | None, float | None]],
    day: dt.date,
    grain: str,
    is_ratio: bool,
    scale: float = 1.0,
) -> Projection:
    """`days`: each day's (numerator, denominator) of one KPI (denominator None for a sum)."""
    start, end = period_of(day, grain)
    elapsed, in_period = (day - start).days + 1, (end - start).days + 1
    # the period's days so far that have a row (a period older than the history starts
    # with its first day)
    so_far = [c for i in range(elapsed) if (c := days.get(start + dt.timedelta(i))) is not None]
    if any(c[0] is None or (is_ratio and c[1] is None) for c in so_far):
        return Projection(None, None, None)
    numerator = sum(c[0] for c in so_far)
    denominator = sum(c[1] for c in so_far) if is_ratio else None
    to_come = [day + dt.timedelta(i) for i in range(1, (end - day).days + 1)]
    past = [day - dt.timedelta(i) for i in range(PROFILE_DAYS)]
    complete = all(
        p in days and days[p][0] is not None and (not is_ratio or days[p][1] is not None)
        for p in past
    )
    if not complete:
        if is_ratio:
            value = scale * numerator / denominator if denominator else None
        else:
            value = numerator * in_period / elapsed
        return Projection(value, None, None)

    def weights(part: int) -> tuple[float, float, float]:
        """(level, sum of the days to come's factors, sum of their squares)."""
        by_weekday = {w: mean(days[p][part] for p in past if p.weekday() == w) for w in range(7)}
        overall = mean(days[p][part] for p in past)
        level = mean(days[p][part] for p in past[:LEVEL_DAYS])
        factors = [by_weekday[d.weekday()] / overall for d in to_come]
        return level, sum(factors), sum(f * f for f in factors)

    if not is_ratio:
        level, weight, weight_squared = weights(0)
        by_weekday = {w: mean(days[p][0] for p in past if p.weekday() == w) for w in range(7)}
        spread = sum(
            (days[p][0] / by_weekday[p.weekday()] - 1) ** 2
            for p in past
            if by_weekday[p.weekday()] != 0
        ) / (PROFILE_DAYS - 7)
        value = numerator + level * weight
        sd = abs(level) * math.sqrt(spread * (weight_squared + weight * weight / LEVEL_DAYS))
        return Projection(value, value - Z80 * sd, value + Z80 * sd)

    level, weight, _ = weights(1)
    denominators_to_come = level * weight
    recent = past[:LEVEL_DAYS]
    recent_denominator = sum(days[p][1] for p in recent)
    rate = sum(days[p][0] for p in recent) / recent_denominator
    total = denominator + denominators_to_come
    value = scale * (numerator + rate * denominators_to_come) / total
    rate56 = sum(days[p][0] for p in past) / sum(days[p][1] for p in past)
    counted = [p for p in past if days[p][1] > 0]
    per_unit = sum((days[p][0] - rate56 * days[p][1]) ** 2 / days[p][1] for p in counted) / (
        len(counted) - 1
    )
    variance = per_unit * (denominators_to_come + denominators_to_come**2 / recent_denominator)
    sd = abs(scale) * math.sqrt(variance) / total
    return Projection(value, value - Z80 * sd, value + Z80 * sd)
