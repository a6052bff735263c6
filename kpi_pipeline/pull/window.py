"""Which changes a day's pull asks for: pure, so every rule is tested without an API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kpi_pipeline.pull.errors import DayNotOverError
from kpi_pipeline.pull.landing import Window


def day_window(day: dt.date, timezone: str) -> Window:
    """The day in the reporting timezone, as UTC instants: [its midnight, the next one)."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return Window(start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def pull_window(
    day: dt.date,
    timezone: str,
    cursor: dt.datetime | None,
    landed: Window | None,
    now: dt.datetime,
    since: dt.datetime | None = None,
) -> Window:
    """The window of `day`'s pull.

    - A day pulled before is pulled again over the same window (`landed`, from its
      manifest): a rerun lands the same files.
    - Otherwise the day itself, started earlier when the cursor is behind it (days were
      missed: they are caught up here, nothing is lost) or when `since` asks for history
      (a first, full pull).
    - A day that has not ended is refused: its changes are not all made yet.
    """
    own = day_window(day, timezone)
    if own.end > now:
        raise DayNotOverError(
            f"{day} has not ended yet in {timezone}: pull a day once it is over "
            "(the schedule pulls yesterday)"
        )
    if landed is not None:
        return landed
    start = own.start
    if cursor is not None and cursor < start:
        start = cursor
    if since is not None and since < start:
        start = since
    return Window(start, own.end)
