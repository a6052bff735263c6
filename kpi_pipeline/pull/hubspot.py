"""HubSpot contacts and deals changed in a window, through the CRM v3 search API.

Each object is searched with its last-modified property `>=` the window's start and `<`
its end, sorted ascending, 100 records a page (`after`). HubSpot returns at most 10,000
results of one search (paging further is refused), so a window whose `total` is above
that is split in two halves, recursively, before it is paged. Deals carry their
associated contacts (v4 associations batch read, one call per page of deals), in the
`associations` shape of a v3 record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kpi_pipeline.pull.errors import MalformedPageError, WindowTooDenseError, require_records
from kpi_pipeline.pull.http import JsonApi, RetryPolicy
from kpi_pipeline.pull.landing import Window

DEFAULT_BASE_URL = "https://api.hubapi.com"
TOKEN_VARIABLE = "HUBSPOT_ACCESS_TOKEN"
REFUSED = f"the HubSpot token was refused: check {TOKEN_VARIABLE}"
PAGE_SIZE = 100
SEARCH_CAP = 10_000  # results one search can page through


@dataclass(frozen=True)
class HubSpotObject:
    """A searched object: its API name, the file it lands as, its modified property and the
    properties staging needs (no names or phones: ingest would drop them anyway)."""

    api_name: str
    file_name: str
    modified_property: str
    properties: tuple[str, ...]
    associate: str | None = None  # the object whose ids each record carries


CONTACTS = HubSpotObject(
    "contacts",
    "contacts.jsonl",
    "lastmodifieddate",
    (
        "email",
        "createdate",
        "lastmodifieddate",
        "lifecyclestage",
        "hs_analytics_source",
        "hs_lifecyclestage_customer_date",
    ),
)
DEALS = HubSpotObject(
    "deals",
    "deals.jsonl",
    "hs_lastmodifieddate",
    (
        "dealname",
        "dealstage",
        "pipeline",
        "amount",
        "createdate",
        "closedate",
        "deal_currency_code",
        "hs_lastmodifieddate",
    ),
    associate="contacts",
)
OBJECTS = (CONTACTS, DEALS)


def millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def search_body(
    obj: HubSpotObject, start_ms: int, end_ms: int, after: str | None
) -> dict[str, Any]:
    """The search request of one page: [start_ms, end_ms) on the modified property."""
    modified = obj.modified_property
    body: dict[str, Any] = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": modified, "operator": "GTE", "value": str(start_ms)},
                    {"propertyName": modified, "operator": "LT", "value": str(end_ms)},
                ]
            }
        ],
        "sorts": [{"propertyName": obj.modified_property, "direction": "ASCENDING"}],
        "properties": list(obj.properties),
        "limit": PAGE_SIZE,
    }
    if after is not None:
        body["after"] = after
    return body


def _page(api: JsonApi, url: str, body: Mapping[str, Any]) -> tuple[int, list[dict], str | None]:
    page = api.post(url, body)
    total = page.get("total")
    results = require_records(
        page.get("results"),
        total,
        int,
        "'results' list or 'total'",
        "id",
        "HubSpot's search answer",
        url,
    )
    after = (page.get("paging") or {}).get("next", {}).get("after")
    return total, results, str(after) if after is not None else None


def search_window(
    api: JsonApi, base_url: str, obj: HubSpotObject, start_ms: int, end_ms: int
) -> Iterator[dict[str, Any]]:
    """Every record of `obj` modified in [start_ms, end_ms), splitting over-cap windows."""
    url = f"{base_url.rstrip('/')}/crm/v3/objects/{obj.api_name}/search"
    total, results, after = _page(api, url, search_body(obj, start_ms, end_ms, None))
    if total > SEARCH_CAP:
        if end_ms - start_ms <= 1:
            raise WindowTooDenseError(
                f"more than {SEARCH_CAP:,} HubSpot {obj.api_name} were modified within one "
                f"millisecond ({start_ms}); HubSpot's search cannot page through them"
            )
        middle = start_ms + (end_ms - start_ms) // 2
        yield from search_window(api, base_url, obj, start_ms, middle)
        yield from search_window(api, base_url, obj, middle, end_ms)
        return
    yield from results
    while after is not None:
        _, results, after = _page(api, url, search_body(obj, start_ms, end_ms, after))
        yield from results


def associated_ids(
    api: JsonApi, base_url: str, obj: HubSpotObject, ids: list[str]
) -> dict[str, list[str]]:
    """`id -> [associated ids]` of one batch (v4 batch read; paged per record)."""
    url = f"{base_url.rstrip('/')}/crm/v4/associations/{obj.api_name}/{obj.associate}/batch/read"
    found: dict[str, list[str]] = {i: [] for i in ids}
    inputs: list[dict[str, str]] = [{"id": i} for i in ids]
    while inputs:
        page = api.post(url, {"inputs": inputs})
        results = page.get("results")
        if not isinstance(results, list):
            raise MalformedPageError(
                f"HubSpot's associations answer has no 'results' list ({url}); the pull "
                "stopped and nothing was committed"
            )
        inputs = []
        for result in results:
            source = str((result.get("from") or {}).get("id", ""))
            found.setdefault(source, []).extend(
                str(link["toObjectId"]) for link in result.get("to") or []
            )
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                inputs.append({"id": source, "after": str(after)})
    return found


def with_associations(record: dict[str, Any], kind: str, ids: list[str]) -> dict[str, Any]:
    """A search record with its associations as a v3 record carries them."""
    type_name = f"deal_to_{kind[:-1]}"
    results = [{"id": i, "type": type_name} for i in sorted(set(ids), key=_id_order)]
    return {**record, "associations": {kind: {"results": results}}}


def _id_order(record_id: str) -> tuple[int, str]:
    return (len(record_id), record_id)  # numeric ids in numeric order, as text


def latest_by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per id, the last one seen (pages are in ascending modified order), in
    id order: a record changed while being paged is landed once."""
    latest = {str(r["id"]): r for r in records}
    return [latest[i] for i in sorted(latest, key=_id_order)]


def pull_hubspot(
    token: str,
    window: Window,
    base_url: str = DEFAULT_BASE_URL,
    policy: RetryPolicy | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], JsonApi]:
    """`file name -> records` of every object changed in `window`, and the client (its
    request count)."""
    api = JsonApi("HubSpot", token, REFUSED, policy)
    start_ms, end_ms = millis(window.start), millis(window.end)
    files: dict[str, list[dict[str, Any]]] = {}
    for obj in OBJECTS:
        records = latest_by_id(list(search_window(api, base_url, obj, start_ms, end_ms)))
        if obj.associate:
            linked: dict[str, list[str]] = {}
            ids = [str(r["id"]) for r in records]
            for first in range(0, len(ids), PAGE_SIZE):
                linked.update(associated_ids(api, base_url, obj, ids[first : first + PAGE_SIZE]))
            records = [
                with_associations(r, obj.associate, linked.get(str(r["id"]), [])) for r in records
            ]
        files[obj.file_name] = records
    return files, api
