"""Which two periods an explanation compares: the period of a day and the one before it
(`previous`), or the same period a year earlier (`last_year`)."""

from __future__ import annotations

import datetime as dt

from kpi_pipeline.kpis.show import GRAINS, period_start
from kpi_pipeline.kpis.status import same_day_last_year

COMPARISONS = ("previous", "last_year")


def compared_periods(day: dt.date, grain: str, vs: str) -> tuple[dt.date, dt.date]:
    """(first day of the earlier period, first day of the period holding `day`).

    `previous`: the day, ISO week, month, quarter or year before. `last_year`: the same day
    a year earlier (29 February: 28 February), the week 52 weeks earlier (a Monday again),
    the same month, quarter or year-before a year earlier."""
    if grain not in GRAINS:
        raise ValueError(f"grain '{grain}' is not known: use one of {', '.join(GRAINS)}")
    if vs not in COMPARISONS:
        raise ValueError(f"--vs '{vs}' is not known: use one of {', '.join(COMPARISONS)}")
    start = period_start(day, grain)
    if vs == "previous":
        return period_start(start - dt.timedelta(days=1), grain), start
    if grain == "week":
        return start - dt.timedelta(weeks=52), start
    return same_day_last_year(start), start


def period_after(start: dt.date, grain: str) -> dt.date:
    """The first day of the period after the one starting `start`."""
    if grain == "day":
        return start + dt.timedelta(days=1)
    if grain == "week":
        return start + dt.timedelta(weeks=1)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=1)


def vs_label(grain: str, vs: str) -> str:
    """How a sentence names the earlier period: "the previous day", "the same month last
    year"."""
    if vs == "previous":
        return f"the previous {grain}"
    return "last year" if grain == "year" else f"the same {grain} last year"
