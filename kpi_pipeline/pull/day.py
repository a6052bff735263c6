"""One day's pull of one source: window, fetch, land, then (only then) the cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kpi_pipeline.pull import config, hubspot, salesforce
from kpi_pipeline.pull.cursor import CursorStore
from kpi_pipeline.pull.errors import PullConfigError
from kpi_pipeline.pull.http import JsonApi, RetryPolicy
from kpi_pipeline.pull.landing import Window, land_day, read_manifest
from kpi_pipeline.pull.window import pull_window


@dataclass(frozen=True)
class PullResult:
    """What a pull landed: per file its records; the window; the API calls it took."""

    source: str
    day: dt.date
    window: Window
    records: dict[str, int]
    api_calls: int
    retries: int
    cursor: dt.datetime
    folder: str  # `<source>/dt=<day>` inside the landing zone

    def summary(self) -> str:
        counts = ", ".join(f"{n:,} {name.split('.')[0]}" for name, n in self.records.items())
        return (
            f"{self.source} {self.day}: {counts} changed from {self.window.as_dict()['from']} "
            f"to {self.window.as_dict()['to']}; {self.api_calls} API calls "
            f"({self.retries} retried); landed in {self.folder}/"
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "window_from": self.window.as_dict()["from"],
            "window_to": self.window.as_dict()["to"],
            **{f"records_{name.split('.')[0].lower()}": n for name, n in self.records.items()},
            "api_calls": self.api_calls,
            "retries": self.retries,
            "cursor": self.cursor.isoformat(),
            "landed_in": self.folder,
        }


def fetch(
    source: str, window: Window, env: Mapping[str, str], policy: RetryPolicy | None
) -> tuple[dict[str, list[dict[str, Any]]], list[JsonApi]]:
    """The records of `source` changed in `window`, and the clients that fetched them."""
    if source == "hubspot":
        access = config.hubspot_access(env)
        files, api = hubspot.pull_hubspot(access.token, window, access.base_url, policy)
        return files, [api]
    if source == "salesforce":
        sf = config.salesforce_access(env)
        token = sf.token or salesforce.client_credentials_token(
            sf.instance_url, sf.client_id or "", sf.client_secret or "", policy
        )
        files, api = salesforce.pull_salesforce(
            sf.instance_url, token, window, policy, sf.multi_currency
        )
        return files, [api]
    raise PullConfigError(
        f"cannot pull '{source}': the sources that can be pulled are {', '.join(config.PULLABLE)}"
    )


def pull_day(
    source: str,
    day: dt.date,
    *,
    landing: str,
    timezone: str,
    cursors: CursorStore,
    env: Mapping[str, str],
    now: dt.datetime,
    policy: RetryPolicy | None = None,
    since: dt.datetime | None = None,
) -> PullResult:
    """Pull `source`'s changes of `day` into the landing zone; the cursor moves last.

    Everything is fetched before anything is written, so a failed fetch lands nothing; the
    files are then written aside and renamed, the manifest after them, the cursor after it.
    """
    manifest = read_manifest(landing, source, day)
    landed = Window.from_dict(manifest["window"]) if manifest and "window" in manifest else None
    window = pull_window(day, timezone, cursors.get(source), landed, now, since)
    files, apis = fetch(source, window, env, policy)
    land_day(landing, source, day, window, files)
    cursor = cursors.advance(source, window.end, day)
    return PullResult(
        source=source,
        day=day,
        window=window,
        records={name: len(records) for name, records in sorted(files.items())},
        api_calls=sum(api.requests_sent for api in apis),
        retries=sum(api.retries for api in apis),
        cursor=cursor,
        folder=f"{source}/dt={day.isoformat()}",
    )
