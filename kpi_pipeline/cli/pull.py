"""`kpi pull`: fetch a day's changed CRM records from the tool's API into the landing zone."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import typer

from kpi_pipeline.cli.common import console, fail, load_settings, parse_day
from kpi_pipeline.exit_codes import ExitCode

HINTS = {
    "TokenRefusedError": "create or rotate the token (docs/pull.md, 'Connecting'), then pull again",
    "PullConfigError": "set the variables named above in the environment (docs/pull.md)",
    "DayNotOverError": "leave out --date to pull yesterday",
    "MalformedPageError": "pull the day again; the cursor did not move and nothing was landed",
    "ApiUnavailableError": "pull the day again later; the cursor did not move",
    "WindowTooDenseError": "this cannot be split further; report it (docs/pull.md)",
}


def pull(
    source: str = typer.Argument(..., help="hubspot or salesforce"),
    date: str = typer.Option(
        None, "--date", help="The day to pull, YYYY-MM-DD (default: yesterday)."
    ),
    since: str = typer.Option(
        None,
        "--since",
        help="A first, full pull: also every change since this day (YYYY-MM-DD), landed in --date.",
    ),
) -> None:
    """Pull the records of SOURCE changed on a day (in KPI_TIMEZONE) from its API and land
    them as `<landing>/<source>/dt=<day>/*.jsonl`, then move the source's cursor. A day
    pulled before is pulled again over the same window: the same files.

    Exits 0 when the day was landed, 2 when the pull stopped (token refused, API
    unavailable, a page not as documented): then nothing was landed and the cursor did
    not move.

    Examples:
      kpi pull hubspot
      kpi pull salesforce --date 2026-03-01
      kpi pull hubspot --date 2026-03-01 --since 2020-01-01
    """
    from kpi_pipeline.deployment import PULLABLE
    from kpi_pipeline.pull.cursor import CursorStore
    from kpi_pipeline.pull.day import pull_day
    from kpi_pipeline.pull.errors import PullError

    name = source.strip().lower()
    if name not in PULLABLE:
        raise fail(
            f"cannot pull '{source}'",
            f"the sources that can be pulled are {', '.join(PULLABLE)}",
        )
    settings = load_settings()
    if not settings.deployment.has(name):
        raise fail(
            f"{name} is not a source of this deployment ({settings.deployment.origin})",
            "add it to the sources in deployment.yml (or KPI_SOURCES)",
        )
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    day = parse_day(date, "--date") if date else today - dt.timedelta(days=1)
    start = parse_day(since, "--since") if since else None
    try:
        result = pull_day(
            name,
            day,
            landing=settings.landing_url or str(settings.landing_dir),
            timezone=settings.timezone,
            cursors=CursorStore(settings.pull_cursor_file),
            env=os.environ,
            now=now,
            since=dt.datetime.combine(start, dt.time(), ZoneInfo(settings.timezone))
            if start
            else None,
        )
    except PullError as err:
        hint = HINTS.get(type(err).__name__, "pull the day again")
        raise fail(str(err), hint, ExitCode.ERROR) from None
    console.print(result.summary(), markup=False, highlight=False)
