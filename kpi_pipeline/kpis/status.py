"""The statuses a KPI value can have against its target.

The rule itself lives once, in SQL (`dbt_project/macros/kpi_status.sql`, applied by
`fct_kpi_attainment` to every day and period): the snapshots, `kpi show` and `kpi list`
read the status from there instead of recomputing it."""

from __future__ import annotations

import datetime as dt

ON_TRACK = "on_track"
AT_RISK = "at_risk"
OFF_TRACK = "off_track"
NO_DATA = "no_data"
NO_TARGET = "no_target"
STATUSES = (ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA, NO_TARGET)


def same_day_last_year(day: dt.date) -> dt.date:
    """The day a year earlier; 29 February compares with 28 February (as SQL's
    `day - interval '1 year'`)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
