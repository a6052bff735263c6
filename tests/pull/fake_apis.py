"""HubSpot's and Salesforce's APIs as their documentation shapes them, served locally.

Each fake holds records and answers the requests the pull sends (HubSpot CRM v3 search
with `after` paging and its 10,000-result cap, v4 associations batch read; Salesforce
OAuth client credentials, `query` / `queryAll` with `nextRecordsUrl`), checking the
bearer token like the APIs do. `faults` are answered first, one per request: a 429 with
`Retry-After`, a 500, a body cut short.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SALESFORCE_TOKEN = "00D5e0000000001!AQ4AQFakeSessionTokenValue"
SALESFORCE_CLIENT = ("3MVG9fake.client.id", "fake-client-secret-0123456789")


def iso_ms(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def too_many_requests(retry_after: str = "2") -> Response:
    return _json(
        {
            "status": "error",
            "message": "You have reached your secondly limit.",
            "category": "RATE_LIMITS",
        },
        429,
        {"Retry-After": retry_after},
    )


def server_error() -> Response:
    return _json({"status": "error", "message": "internal error"}, 500)


def cut_short() -> Response:
    return Response('{"total": 3, "results": [{"id": "1", "prop', mimetype="application/json")


MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}


@dataclass
class FakeHubSpot:
    """Contacts and deals by id; each record's modified property decides the windows."""

    server: HTTPServer
    token: str = HUBSPOT_TOKEN
    cap: int = 10_000
    contacts: dict[str, dict] = field(default_factory=dict)
    deals: dict[str, dict] = field(default_factory=dict)
    deal_contacts: dict[str, list[str]] = field(default_factory=dict)
    faults: list[Response] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)
    # answers a request instead of the API when it returns a response (a fault mid-pull)
    intercept: Callable[[Request, dict], Response | None] | None = None

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/crm/.*")).respond_with_handler(self.handle)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def add_contact(self, record_id: str, modified: dt.datetime, **properties: str) -> None:
        self.contacts[record_id] = self._record(record_id, "lastmodifieddate", modified, properties)

    def add_deal(self, record_id: str, modified: dt.datetime, **properties: str) -> None:
        self.deals[record_id] = self._record(record_id, "hs_lastmodifieddate", modified, properties)

    @staticmethod
    def _record(record_id: str, prop: str, modified: dt.datetime, properties: dict) -> dict:
        created = properties.get("createdate", iso_ms(modified))
        return {
            "id": record_id,
            "properties": {
                "createdate": created,
                **properties,
                prop: iso_ms(modified),
                "hs_object_id": record_id,
            },
            "createdAt": created,
            "updatedAt": iso_ms(modified),
            "archived": False,
        }

    def handle(self, request: Request) -> Response:
        self.calls.append(request.path)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                {
                    "status": "error",
                    "category": "EXPIRED_AUTHENTICATION",
                    "message": "The OAuth token used to make this call expired 2 hour(s) ago.",
                },
                401,
            )
        if self.faults:
            return self.faults.pop(0)
        body = json.loads(request.get_data())
        if self.intercept and (answer := self.intercept(request, body)) is not None:
            return answer
        self.bodies.append(body)
        match = re.fullmatch(r"/crm/v3/objects/(contacts|deals)/search", request.path)
        if match:
            return self._search(match.group(1), body)
        if request.path == "/crm/v4/associations/deals/contacts/batch/read":
            return self._associations(body)
        return _json({"status": "error", "message": "not found"}, 404)

    def _search(self, kind: str, body: dict) -> Response:
        limit = int(body.get("limit", 10))
        if limit > 100:
            return _json({"status": "error", "message": "limit must be <= 100"}, 400)
        prop = MODIFIED[kind]
        records = list((self.contacts if kind == "contacts" else self.deals).values())
        for group in body.get("filterGroups", []):
            for f in group["filters"]:
                assert f["propertyName"] == prop, f"filter on {f['propertyName']}"
                bound = int(f["value"])
                op = {
                    "GTE": lambda v, b=bound: v >= b,
                    "LT": lambda v, b=bound: v < b,
                    "GT": lambda v, b=bound: v > b,
                    "LTE": lambda v, b=bound: v <= b,
                }[f["operator"]]
                records = [r for r in records if op(_ms(r["properties"][prop]))]
        assert body["sorts"] == [{"propertyName": prop, "direction": "ASCENDING"}]
        records.sort(key=lambda r: (_ms(r["properties"][prop]), int(r["id"])))
        offset = int(body.get("after", 0))
        if offset + limit > self.cap:
            return _json(
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": f"Cannot page past {self.cap} results.",
                },
                400,
            )
        wanted = set(body.get("properties") or [])
        page = [
            {
                **r,
                "properties": {
                    k: v
                    for k, v in r["properties"].items()
                    if k in wanted or k in ("hs_object_id", "createdate", prop)
                },
            }
            for r in records[offset : offset + limit]
        ]
        answer: dict = {"total": len(records), "results": page}
        if offset + limit < len(records):
            after = str(offset + limit)
            answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return _json(answer)

    def _associations(self, body: dict) -> Response:
        results = []
        for item in body["inputs"]:
            linked = self.deal_contacts.get(item["id"], [])
            if linked:
                results.append(
                    {
                        "from": {"id": item["id"]},
                        "to": [
                            {
                                "toObjectId": int(c),
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}
                                ],
                            }
                            for c in linked
                        ],
                    }
                )
        return _json(
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": "2025-01-01T00:00:00Z",
                "completedAt": "2025-01-01T00:00:01Z",
            }
        )


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


_SOQL = re.compile(
    r"SELECT (?P<fields>.+) FROM (?P<object>\w+) WHERE SystemModstamp >= (?P<start>\S+) "
    r"AND SystemModstamp < (?P<end>\S+) ORDER BY SystemModstamp, Id"
)


@dataclass
class FakeSalesforce:
    """Leads and opportunities by Id (deleted ones too: `IsDeleted`), SOQL on SystemModstamp."""

    server: HTTPServer
    token: str = SALESFORCE_TOKEN
    batch_size: int = 2000
    records: dict[str, dict[str, dict]] = field(
        default_factory=lambda: {"Lead": {}, "Opportunity": {}}
    )
    faults: list[Response] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    cursors: dict[str, list[dict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/services/.*")).respond_with_handler(self.handle)

    @property
    def instance_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def add(self, kind: str, record_id: str, modstamp: dt.datetime, **fields: object) -> None:
        stamp = modstamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        self.records[kind][record_id] = {
            "Id": record_id,
            "IsDeleted": False,
            "SystemModstamp": stamp,
            "LastModifiedDate": stamp,
            **fields,
        }

    def handle(self, request: Request) -> Response:
        self.calls.append(request.full_path)
        if request.path == "/services/oauth2/token":
            form = request.form
            if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
                "client_credentials",
                *SALESFORCE_CLIENT,
            ):
                return _json(
                    {"error": "invalid_client", "error_description": "invalid client credentials"},
                    400,
                )
            return _json(
                {
                    "access_token": self.token,
                    "instance_url": self.instance_url,
                    "token_type": "Bearer",
                    "issued_at": "1700000000000",
                }
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
            )
        if self.faults:
            return self.faults.pop(0)
        match = re.fullmatch(r"/services/data/v[\d.]+/(query|queryAll)/?", request.path)
        if match:
            return self._query(unquote(request.args["q"]), match.group(1) == "queryAll")
        match = re.fullmatch(r"/services/data/v[\d.]+/query(?:All)?/(\w+-\d+)", request.path)
        if match and match.group(1) in self.cursors:
            return self._batch(match.group(1), self.cursors[match.group(1)])
        return _json([{"message": "not found", "errorCode": "NOT_FOUND"}], 404)

    def _query(self, soql: str, include_deleted: bool) -> Response:
        self.queries.append(soql)
        match = _SOQL.fullmatch(soql)
        if not match:
            return _json(
                [{"message": f"unexpected query {soql}", "errorCode": "MALFORMED_QUERY"}], 400
            )
        fields = [f.strip() for f in match.group("fields").split(",")]
        start = dt.datetime.fromisoformat(match.group("start").replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(match.group("end").replace("Z", "+00:00"))
        kind = match.group("object")
        chosen = []
        for record in self.records[kind].values():
            stamp = dt.datetime.strptime(record["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
            if start <= stamp < end and (include_deleted or not record["IsDeleted"]):
                chosen.append(record)
        chosen.sort(key=lambda r: (r["SystemModstamp"], r["Id"]))
        rows = [
            {
                "attributes": {
                    "type": kind,
                    "url": f"/services/data/v62.0/sobjects/{kind}/{r['Id']}",
                },
                **{f: r.get(f) for f in fields},
            }
            for r in chosen
        ]
        locator = f"01g{len(self.cursors):012d}"
        return self._batch(locator + "-0", rows)

    def _batch(self, key: str, rows: list[dict]) -> Response:
        locator, offset = key.rsplit("-", 1)
        offset_n = int(offset)
        batch = rows[offset_n : offset_n + self.batch_size]
        done = offset_n + self.batch_size >= len(rows)
        answer: dict = {"totalSize": len(rows), "done": done, "records": batch}
        if not done:
            following = f"{locator}-{offset_n + self.batch_size}"
            self.cursors[following] = rows
            answer["nextRecordsUrl"] = f"/services/data/v62.0/query/{following}"
        return _json(answer)
