"""Salesforce leads and opportunities changed in a window, through the REST API.

One SOQL query per object on `SystemModstamp` (>= the window's start, < its end, ordered
by it), sent to `queryAll` so deleted records are seen (`IsDeleted`); the next batches
follow `nextRecordsUrl` until `done`. The access token is `SALESFORCE_ACCESS_TOKEN`, or
one asked for with the OAuth 2.0 client-credentials flow (`SALESFORCE_CLIENT_ID`,
`SALESFORCE_CLIENT_SECRET`) from the instance's token endpoint.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kpi_pipeline.pull.errors import TokenRefusedError, require_records
from kpi_pipeline.pull.http import JsonApi, RetryPolicy, where
from kpi_pipeline.pull.landing import Window

API_VERSION = "v62.0"
REFUSED = (
    "the Salesforce token was refused: check SALESFORCE_ACCESS_TOKEN (or "
    "SALESFORCE_CLIENT_ID / SALESFORCE_CLIENT_SECRET) and SALESFORCE_INSTANCE_URL"
)
CLIENT_REFUSED = (
    "the Salesforce client credentials were refused: check SALESFORCE_CLIENT_ID and "
    "SALESFORCE_CLIENT_SECRET (the connected app must allow the client credentials flow)"
)


@dataclass(frozen=True)
class SalesforceObject:
    """A queried object, the file it lands as, and the fields staging needs (no names or
    phones: ingest would drop them anyway)."""

    api_name: str
    file_name: str
    fields: tuple[str, ...]


LEADS = SalesforceObject(
    "Lead",
    "Lead.jsonl",
    (
        "Id",
        "IsDeleted",
        "Email",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
        "LeadSource",
        "Status",
        "IsConverted",
        "ConvertedDate",
    ),
)
OPPORTUNITIES = SalesforceObject(
    "Opportunity",
    "Opportunity.jsonl",
    (
        "Id",
        "IsDeleted",
        "Name",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
        "StageName",
        "IsWon",
        "IsClosed",
        "Amount",
        "CloseDate",
        "CampaignId",
    ),
)
OBJECTS = (LEADS, OPPORTUNITIES)
CURRENCY_FIELD = "CurrencyIsoCode"  # exists in multi-currency orgs only


def soql_datetime(moment: dt.datetime) -> str:
    """A SOQL datetime literal (UTC, unquoted)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql(obj: SalesforceObject, window: Window, multi_currency: bool = False) -> str:
    currency = (CURRENCY_FIELD,) if multi_currency and obj is OPPORTUNITIES else ()
    fields = (*obj.fields, *currency)
    return (
        f"SELECT {', '.join(fields)} FROM {obj.api_name} "
        f"WHERE SystemModstamp >= {soql_datetime(window.start)} "
        f"AND SystemModstamp < {soql_datetime(window.end)} "
        "ORDER BY SystemModstamp, Id"
    )


def client_credentials_token(
    instance_url: str, client_id: str, client_secret: str, policy: RetryPolicy | None = None
) -> str:
    """An access token from the OAuth 2.0 client-credentials flow."""
    api = JsonApi("Salesforce", None, CLIENT_REFUSED, policy, frozenset({400, 401, 403}))
    answer = api.post_form(
        f"{instance_url.rstrip('/')}/services/oauth2/token",
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenRefusedError(CLIENT_REFUSED + " (the answer held no access_token)")
    return token


def query_all(api: JsonApi, instance_url: str, query: str) -> list[dict[str, Any]]:
    """Every record of a SOQL query, deleted ones included, following `nextRecordsUrl`."""
    base = instance_url.rstrip("/")
    url = f"{base}/services/data/{API_VERSION}/queryAll?q={quote(query, safe='')}"
    records: list[dict[str, Any]] = []
    while True:
        page = api.get(url)
        done = page.get("done")
        batch = require_records(
            page.get("records"),
            done,
            bool,
            "'records' list or 'done'",
            "Id",
            "Salesforce's query answer",
            where(url),
        )
        records.extend(batch)
        following = page.get("nextRecordsUrl")
        if done or not following:
            return records
        url = f"{base}{following}"


def latest_by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per Id, the last one seen (ordered by SystemModstamp), in Id order."""
    latest = {str(r["Id"]): r for r in records}
    return [latest[i] for i in sorted(latest)]


def pull_salesforce(
    instance_url: str,
    token: str,
    window: Window,
    policy: RetryPolicy | None = None,
    multi_currency: bool = False,
) -> tuple[dict[str, list[dict[str, Any]]], JsonApi]:
    """`file name -> records` of every object changed in `window`, and the client."""
    api = JsonApi("Salesforce", token, REFUSED, policy)
    files = {
        obj.file_name: latest_by_id(query_all(api, instance_url, soql(obj, window, multi_currency)))
        for obj in OBJECTS
    }
    return files, api
