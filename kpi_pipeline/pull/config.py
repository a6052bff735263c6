"""How to reach each pulled API: from the environment only, never written anywhere.

HubSpot: `HUBSPOT_ACCESS_TOKEN` (a private app's token), `HUBSPOT_API_BASE_URL`
(default https://api.hubapi.com). Salesforce: `SALESFORCE_INSTANCE_URL`, and
`SALESFORCE_ACCESS_TOKEN` or `SALESFORCE_CLIENT_ID` + `SALESFORCE_CLIENT_SECRET`;
`SALESFORCE_MULTI_CURRENCY=1` also pulls `CurrencyIsoCode` (multi-currency orgs only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kpi_pipeline.pull import hubspot
from kpi_pipeline.pull.errors import PullConfigError

PULLABLE = ("hubspot", "salesforce")


@dataclass(frozen=True)
class HubSpotAccess:
    base_url: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class SalesforceAccess:
    instance_url: str
    token: str | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    multi_currency: bool = False


def hubspot_access(env: Mapping[str, str]) -> HubSpotAccess:
    token = env.get(hubspot.TOKEN_VARIABLE, "").strip()
    if not token:
        raise PullConfigError(
            f"{hubspot.TOKEN_VARIABLE} is not set: create a HubSpot private app with the "
            "scopes crm.objects.contacts.read and crm.objects.deals.read and set its "
            "access token in the environment (docs/pull.md)"
        )
    return HubSpotAccess(
        env.get("HUBSPOT_API_BASE_URL", "").strip() or hubspot.DEFAULT_BASE_URL, token
    )


def salesforce_access(env: Mapping[str, str]) -> SalesforceAccess:
    instance = env.get("SALESFORCE_INSTANCE_URL", "").strip()
    if not instance:
        raise PullConfigError(
            "SALESFORCE_INSTANCE_URL is not set: set it to your org's My Domain URL, e.g. "
            "https://yourcompany.my.salesforce.com (docs/pull.md)"
        )
    token = env.get("SALESFORCE_ACCESS_TOKEN", "").strip() or None
    client_id = env.get("SALESFORCE_CLIENT_ID", "").strip() or None
    secret = env.get("SALESFORCE_CLIENT_SECRET", "").strip() or None
    if token is None and not (client_id and secret):
        raise PullConfigError(
            "no Salesforce credentials: set SALESFORCE_ACCESS_TOKEN, or SALESFORCE_CLIENT_ID "
            "and SALESFORCE_CLIENT_SECRET of a connected app with the client credentials "
            "flow (docs/pull.md)"
        )
    multi = env.get("SALESFORCE_MULTI_CURRENCY", "").strip().lower() in ("1", "true", "yes")
    return SalesforceAccess(instance, token, client_id, secret, multi)
