"""HubSpot pulls against the fake API: exactly the changed records, nothing lost or
duplicated across pages, retries, the 10,000-result cap and reruns; a failure moves no
cursor and lands nothing; the token is in no file, log or message."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from kpi_pipeline.pull.cursor import CursorStore
from kpi_pipeline.pull.day import pull_day
from kpi_pipeline.pull.errors import MalformedPageError, PullConfigError, TokenRefusedError
from kpi_pipeline.pull.http import RetryPolicy
from kpi_pipeline.pull.landing import MANIFEST_NAME
from tests.pull.fake_apis import (
    HUBSPOT_TOKEN,
    FakeHubSpot,
    cut_short,
    server_error,
    too_many_requests,
)

DAY = dt.date(2025, 6, 2)
NOW = dt.datetime(2025, 6, 3, 5, 0, tzinfo=dt.UTC)
START = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)


@pytest.fixture
def hubspot(httpserver: HTTPServer) -> FakeHubSpot:
    return FakeHubSpot(httpserver)


def env(api: FakeHubSpot, token: str = HUBSPOT_TOKEN) -> dict[str, str]:
    return {"HUBSPOT_ACCESS_TOKEN": token, "HUBSPOT_API_BASE_URL": api.base_url}


def pull(
    api: FakeHubSpot,
    tmp_path: Path,
    day: dt.date = DAY,
    waits: list | None = None,
    token: str = HUBSPOT_TOKEN,
    now: dt.datetime = NOW,
):
    return pull_day(
        "hubspot",
        day,
        landing=str(tmp_path / "landing"),
        timezone="UTC",
        cursors=CursorStore(tmp_path / "pull_cursors.json"),
        env=env(api, token),
        now=now,
        policy=RetryPolicy(sleep=(waits if waits is not None else []).append),
    )


def landed(tmp_path: Path, name: str, day: dt.date = DAY) -> list[dict]:
    path = tmp_path / "landing" / "hubspot" / f"dt={day}" / name
    return [json.loads(line) for line in path.read_text().splitlines()]


def seed(api: FakeHubSpot, contacts: int, deals: int = 0) -> None:
    """Contacts and deals modified through the day (and one before and one after it)."""
    for i in range(contacts):
        api.add_contact(
            str(1000 + i),
            START + dt.timedelta(seconds=37 * i + 1),
            email=f"person{i}@example.com",
            lifecyclestage="lead",
            hs_analytics_source="ORGANIC_SEARCH",
        )
    for i in range(deals):
        api.add_deal(
            str(5000 + i),
            START + dt.timedelta(seconds=53 * i + 2),
            dealstage="closedwon",
            pipeline="default",
            amount="1200.50",
        )
    api.add_contact("1", START - dt.timedelta(milliseconds=1), email="before@example.com")
    api.add_contact("2", START + dt.timedelta(days=1), email="after@example.com")


def test_an_incremental_pull_fetches_exactly_the_records_changed_in_the_window(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    seed(hubspot, contacts=250, deals=3)
    hubspot.deal_contacts = {"5000": ["1001", "1000"], "5002": ["1002"]}

    result = pull(hubspot, tmp_path)

    contacts = landed(tmp_path, "contacts.jsonl")
    assert [c["id"] for c in contacts] == [str(1000 + i) for i in range(250)]  # no 1, no 2
    assert contacts[0]["properties"]["email"] == "person0@example.com"
    deals = landed(tmp_path, "deals.jsonl")
    assert deals[0]["associations"] == {
        "contacts": {
            "results": [
                {"id": "1000", "type": "deal_to_contact"},
                {"id": "1001", "type": "deal_to_contact"},
            ]
        }
    }
    assert deals[1]["associations"] == {"contacts": {"results": []}}
    assert result.records == {"contacts.jsonl": 250, "deals.jsonl": 3}
    # 3 pages of contacts, 1 of deals, 1 association batch
    assert result.api_calls == 5 and hubspot.calls.count("/crm/v3/objects/contacts/search") == 3
    searched = hubspot.bodies[0]
    assert searched["filterGroups"][0]["filters"][0] == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": "1748822400000",
    }
    assert searched["limit"] == 100 and "firstname" not in searched["properties"]
    manifest = json.loads((tmp_path / "landing/hubspot/dt=2025-06-02" / MANIFEST_NAME).read_text())
    assert manifest["window"] == {"from": "2025-06-02T00:00:00Z", "to": "2025-06-03T00:00:00Z"}
    assert CursorStore(tmp_path / "pull_cursors.json").get("hubspot") == START + dt.timedelta(1)

    # the next day starts at the cursor: only the record changed since then
    hubspot.calls.clear()
    after = pull(hubspot, tmp_path, DAY + dt.timedelta(1), now=NOW + dt.timedelta(1))
    assert [c["id"] for c in landed(tmp_path, "contacts.jsonl", DAY + dt.timedelta(1))] == ["2"]
    assert after.records["deals.jsonl"] == 0 and after.api_calls == 2  # no association call


def test_throttling_and_a_server_error_lose_and_duplicate_nothing(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    seed(hubspot, contacts=230, deals=120)
    hubspot.faults = [too_many_requests("2"), server_error()]
    waits: list[float] = []
    clean_root = tmp_path / "clean"

    result = pull(hubspot, tmp_path, waits=waits)

    assert waits[0] == 2.0 and len(waits) == 2 and result.retries == 2
    contacts = [c["id"] for c in landed(tmp_path, "contacts.jsonl")]
    assert len(contacts) == len(set(contacts)) == 230
    assert len(landed(tmp_path, "deals.jsonl")) == 120
    # the same pull without faults lands the same bytes
    pull(hubspot, clean_root)
    folder = "landing/hubspot/dt=2025-06-02"
    for name in ("contacts.jsonl", "deals.jsonl", MANIFEST_NAME):
        assert (tmp_path / folder / name).read_bytes() == (clean_root / folder / name).read_bytes()


def test_a_window_over_10000_results_is_split_and_paged_whole(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    for i in range(12_345):  # 6 s apart: all within the day
        hubspot.add_contact(str(1000 + i), START + dt.timedelta(seconds=6 * i + 1))

    result = pull(hubspot, tmp_path)

    ids = [c["id"] for c in landed(tmp_path, "contacts.jsonl")]
    assert len(ids) == len(set(ids)) == 12_345
    first = hubspot.bodies[0]["filterGroups"][0]["filters"]
    halves = [b["filterGroups"][0]["filters"] for b in hubspot.bodies if "after" not in b]
    assert halves[1][0]["value"] == first[0]["value"]  # first half starts with the window...
    assert int(halves[1][1]["value"]) < int(first[1]["value"])  # ...and ends before its end
    assert result.records["contacts.jsonl"] == 12_345


def test_a_record_changed_between_pages_is_landed_once_in_its_latest_version() -> None:
    from kpi_pipeline.pull.hubspot import latest_by_id

    old = {"id": "7", "properties": {"lifecyclestage": "lead"}}
    new = {"id": "7", "properties": {"lifecyclestage": "customer"}}
    assert latest_by_id([old, {"id": "10"}, new]) == [new, {"id": "10"}]


def test_an_expired_token_fails_at_once_and_moves_nothing(
    hubspot: FakeHubSpot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(hubspot, contacts=5)
    wrong = "pat-na1-expired-token-value"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TokenRefusedError) as error:
        pull(hubspot, tmp_path, token=wrong)
    assert str(error.value).startswith(
        "the HubSpot token was refused: check HUBSPOT_ACCESS_TOKEN (HTTP 401"
    )
    assert wrong not in str(error.value) and wrong not in caplog.text
    assert len(hubspot.calls) == 1
    assert not (tmp_path / "landing").exists()
    assert CursorStore(tmp_path / "pull_cursors.json").get("hubspot") is None


def test_a_truncated_page_fails_the_pull_lands_nothing_and_keeps_the_cursor(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    seed(hubspot, contacts=150, deals=2)
    pull(hubspot, tmp_path, DAY - dt.timedelta(1), now=NOW)  # cursor: the end of June 1
    cursor_file = (tmp_path / "pull_cursors.json").read_bytes()
    # the second page of contacts is cut short
    hubspot.intercept = lambda request, body: cut_short() if body.get("after") else None

    with pytest.raises(MalformedPageError, match="not complete JSON"):
        pull(hubspot, tmp_path)
    assert not (tmp_path / "landing" / "hubspot" / "dt=2025-06-02").exists()
    assert (tmp_path / "pull_cursors.json").read_bytes() == cursor_file


def test_the_token_is_in_no_landed_file_manifest_cursor_or_log(
    hubspot: FakeHubSpot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(hubspot, contacts=120, deals=1)
    hubspot.faults = [too_many_requests("1")]
    caplog.set_level(logging.DEBUG)
    result = pull(hubspot, tmp_path)
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert HUBSPOT_TOKEN.encode() not in written
    assert HUBSPOT_TOKEN not in caplog.text
    assert HUBSPOT_TOKEN not in result.summary() and HUBSPOT_TOKEN not in str(result.metadata())


def test_a_missing_token_says_which_variable_and_scopes(tmp_path: Path) -> None:
    with pytest.raises(PullConfigError, match="HUBSPOT_ACCESS_TOKEN is not set") as error:
        pull_day(
            "hubspot",
            DAY,
            landing=str(tmp_path),
            timezone="UTC",
            cursors=CursorStore(tmp_path / "c.json"),
            env={},
            now=NOW,
        )
    assert "crm.objects.contacts.read" in str(error.value)


def test_more_than_10000_changes_in_one_millisecond_is_said_not_looped(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    from kpi_pipeline.pull.errors import WindowTooDenseError

    same_moment = START + dt.timedelta(hours=3)
    for i in range(10_001):
        hubspot.add_contact(str(1000 + i), same_moment)
    with pytest.raises(WindowTooDenseError, match="more than 10,000 HubSpot contacts"):
        pull(hubspot, tmp_path)
    assert len(hubspot.calls) < 60  # halving a day down to one millisecond: ~27 levels
    assert CursorStore(tmp_path / "pull_cursors.json").get("hubspot") is None
