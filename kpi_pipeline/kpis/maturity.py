"""Data that matures late: a KPI whose data keeps arriving for days after a day declares its
`maturity_lag_days` in kpis.yml. In the report of day R, its days after R - lag are
provisional; its latest mature value is the newest day on or before R - lag that has one.
Pure choices first, then the reading of `marts.fct_kpi_attainment` (the edge)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from kpi_pipeline.kpis.catalogue import Kpi

# how far back a latest mature value is looked for (the report's trend window)
LOOKBACK_DAYS = 90


def mature_through(day: dt.date, lag: int) -> dt.date:
    """The last mature day of the report of `day`: `day - lag`."""
    return day - dt.timedelta(days=lag)


def provisional_days(day: dt.date, lag: int) -> list[dt.date]:
    """The days of the report of `day` that are still provisional, oldest first."""
    return [mature_through(day, lag) + dt.timedelta(days=i) for i in range(1, lag + 1)]


def latest_mature_day(
    values: Mapping[dt.date, float | None], day: dt.date, lag: int, lookback: int = LOOKBACK_DAYS
) -> dt.date | None:
    """The newest day on or before `day - lag` (and no more than `lookback` days before it)
    whose value is known, or None: a missing value stays missing, never 0."""
    last = mature_through(day, lag)
    for back in range(lookback):
        candidate = last - dt.timedelta(days=back)
        if values.get(candidate) is not None:
            return candidate
    return None


@dataclass(frozen=True)
class DayFigure:
    """A KPI's overall value, target and status on one day (fct_kpi_attainment)."""

    day: dt.date
    value: float | None
    target: float | None
    status: str | None


@dataclass(frozen=True)
class Maturity:
    """What the report of `day` shows for a KPI with a maturity lag: its latest mature
    day's figure (None: no mature value within the lookback), the day before that one
    (for the change), and the provisional days' figures, oldest first."""

    kpi_id: str
    day: dt.date
    lag: int
    mature: DayFigure | None
    before_mature: DayFigure | None
    provisional: tuple[DayFigure, ...]

    @property
    def mature_through(self) -> dt.date:
        return mature_through(self.day, self.lag)


def maturity_of(
    kpi_id: str, day: dt.date, lag: int, figures: Mapping[dt.date, DayFigure]
) -> Maturity:
    """The maturity of a KPI in the report of `day`, from its daily `figures`."""
    values = {d: f.value for d, f in figures.items()}
    found = latest_mature_day(values, day, lag)
    mature = None if found is None else figures[found]
    before = None if found is None else figures.get(found - dt.timedelta(days=1))
    provisional = tuple(
        figures.get(d, DayFigure(d, None, None, None)) for d in provisional_days(day, lag)
    )
    return Maturity(kpi_id, day, lag, mature, before, provisional)


def lagged(catalogue: Mapping[str, Kpi]) -> dict[str, int]:
    """KPI id -> its maturity lag, for the KPIs that declare one."""
    return {k.id: k.maturity_lag_days for k in catalogue.values() if k.maturity_lag_days > 0}


def read_maturity(con, day: dt.date, catalogue: Mapping[str, Kpi]) -> dict[str, Maturity]:
    """Each lagged KPI's maturity in the report of `day`, read from the day rows of
    `marts.fct_kpi_attainment` (value, target, status of each day)."""
    found: dict[str, Maturity] = {}
    for kpi_id, lag in lagged(catalogue).items():
        first = mature_through(day, lag) - dt.timedelta(days=LOOKBACK_DAYS)
        rows = con.execute(
            "select period_start, value, target, status from marts.fct_kpi_attainment "
            "where period_grain = 'day' and kpi_id = ? and period_start between ? and ?",
            [kpi_id, first, day],
        ).fetchall()
        figures = {d: DayFigure(d, v, t, s) for d, v, t, s in rows}
        found[kpi_id] = maturity_of(kpi_id, day, lag, figures)
    return found
