"""One KPI's values against its targets over a range, at a grain, optionally by a dimension
(`kpi show`): read from the marts, shaped by pure functions."""

from __future__ import annotations

import datetime as dt
import difflib

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi
from kpi_pipeline.warehouse import query_polars

GRAINS = ("day", "week", "month", "quarter", "year")
# how many periods back `--from` defaults to, counting the period of `--to`
DEFAULT_PERIODS = {"day": 14, "week": 12, "month": 12, "quarter": 8, "year": 5}
OVERALL = "all"

COLUMNS = {
    "period_start": pl.Date,
    "period_end": pl.Date,
    "kpi_id": pl.String,
    "dimension": pl.String,
    "dimension_value": pl.String,
    "days_covered": pl.Int64,
    "value": pl.Float64,
    "target": pl.Float64,
    "status": pl.String,
    "previous_year_value": pl.Float64,
    "change_ratio": pl.Float64,
    # the first day of the target in force (None: the KPI's first target), and whether the
    # target changed within the period
    "target_from": pl.Date,
    "target_changed": pl.Boolean,
}


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period holding `day` (weeks are ISO, Monday first)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def default_first(last: dt.date, grain: str) -> dt.date:
    """The start of the period DEFAULT_PERIODS[grain] - 1 periods before the one of `last`."""
    start = period_start(last, grain)
    for _ in range(DEFAULT_PERIODS[grain] - 1):
        start = period_start(start - dt.timedelta(days=1), grain)
    return start


def facts_range(con, kpi_id: str) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day with facts of the KPI (None, None: none yet)."""
    [(first, last)] = con.execute(
        "select min(kpi_date), max(kpi_date) from marts.fct_kpi_daily where kpi_id = ?",
        [kpi_id],
    ).fetchall()
    return first, last


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def find_kpi(catalogue: dict[str, Kpi], text: str) -> tuple[Kpi | None, list[str]]:
    """The KPI named by its id or its display name (any case, `_` or spaces), or None and
    the ids closest to `text` (for "did you mean")."""
    by_name = {_normal(k.id): k for k in catalogue.values()}
    by_name.update({_normal(k.name): k for k in catalogue.values()})
    found = by_name.get(_normal(text))
    if found:
        return found, []
    close = difflib.get_close_matches(_normal(text), list(by_name), n=3, cutoff=0.5)
    return None, list(dict.fromkeys(by_name[c].id for c in close))


def _dimensions(by: str | None) -> list[str]:
    """The two dimensions to read: the overall value, and the breakdown if one is asked."""
    return [OVERALL, by or OVERALL]


def read_days(con, kpi: Kpi, first: dt.date, last: dt.date, by: str | None) -> pl.DataFrame:
    """Daily values of the range; for the overall row the day's target, status and last
    year's value from fct_kpi_attainment (as the day's snapshot states them)."""
    frame = query_polars(
        con,
        """select d.kpi_date as period_start, d.kpi_date as period_end, d.kpi_id, d.dimension,
                  d.dimension_value, cast(1 as bigint) as days_covered, d.value,
                  a.target, a.status, a.previous_year_value, a.change_ratio,
                  a.target_from, a.target_changed
           from marts.fct_kpi_daily as d
           left join marts.fct_kpi_attainment as a
             on a.period_grain = 'day' and a.period_start = d.kpi_date
            and a.kpi_id = d.kpi_id and d.dimension = 'all'
           where d.kpi_id = ? and d.kpi_date between ? and ? and d.dimension in (?, ?)""",
        [kpi.id, first, last, *_dimensions(by)],
    )
    return ordered(frame.cast(COLUMNS))


def read_periods(
    con, kpi: Kpi, grain: str, first: dt.date, last: dt.date, by: str | None
) -> pl.DataFrame:
    """Periods overlapping [first, last]: values from fct_kpi_period, and for the overall
    row the target, status and last year's value from fct_kpi_attainment."""
    frame = query_polars(
        con,
        """select p.period_start, p.period_end, p.kpi_id, p.dimension, p.dimension_value,
                  cast(p.days_covered as bigint) as days_covered, p.value,
                  a.target, a.status, a.previous_year_value, a.change_ratio,
                  a.target_from, a.target_changed
           from marts.fct_kpi_period as p
           left join marts.fct_kpi_attainment as a
             on a.period_grain = p.period_grain and a.period_start = p.period_start
            and a.kpi_id = p.kpi_id and p.dimension = 'all'
           where p.kpi_id = ? and p.period_grain = ? and p.dimension in (?, ?)
             and p.period_end >= ? and p.period_start <= ?""",
        [kpi.id, grain, *_dimensions(by), first, last],
    )
    return ordered(frame.cast(COLUMNS))


def targets_in_range(kpi: Kpi, first: dt.date, last: dt.date) -> list[str]:
    """The KPI's targets in force over [first, last], in words, when more than one is:
    ["8,000 until 2026-06-30", "9,000 from 2026-07-01"]; [] for one target."""
    shown = []
    for index, target in enumerate(kpi.targets):
        start = target.effective_from
        following = kpi.targets[index + 1].effective_from if index + 1 < len(kpi.targets) else None
        end = following - dt.timedelta(days=1) if following else None
        if (start and start > last) or (end and end < first):
            continue
        if start is None:
            shown.append(f"{target.describe()} until {end}" if end else target.describe())
        else:
            shown.append(f"{target.describe()} from {start}" + (f" to {end}" if end else ""))
    return shown if len(shown) > 1 else []


def with_provisional(frame: pl.DataFrame, kpi: Kpi, seen_from: dt.date) -> pl.DataFrame:
    """A KPI whose data matures late gets a `provisional` column: true for the rows whose
    period reaches past its last mature day seen from `seen_from` (the newest day with
    facts): their value may still change. A KPI without a lag is returned as it is."""
    if not kpi.maturity_lag_days:
        return frame
    through = seen_from - dt.timedelta(days=kpi.maturity_lag_days)
    return frame.with_columns((pl.col("period_end") > through).alias("provisional"))


def ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """By period, the overall row first, then the dimension's values."""
    return frame.sort("period_start", pl.col("dimension") != OVERALL, "dimension_value").select(
        list(COLUMNS)
    )
