"""Salesforce pulls against the fake REST API: SOQL on SystemModstamp through queryAll
(deleted records seen), `nextRecordsUrl` paging, the client-credentials flow, failures."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer

from kpi_pipeline.pull.cursor import CursorStore
from kpi_pipeline.pull.day import pull_day
from kpi_pipeline.pull.errors import (
    ApiUnavailableError,
    MalformedPageError,
    PullConfigError,
    TokenRefusedError,
)
from kpi_pipeline.pull.http import RetryPolicy
from tests.pull.fake_apis import (
    SALESFORCE_CLIENT,
    SALESFORCE_TOKEN,
    FakeSalesforce,
    cut_short,
    server_error,
    too_many_requests,
)

DAY = dt.date(2025, 6, 2)
NOW = dt.datetime(2025, 6, 3, 5, 0, tzinfo=dt.UTC)
START = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)


@pytest.fixture
def salesforce(httpserver: HTTPServer) -> FakeSalesforce:
    api = FakeSalesforce(httpserver, batch_size=4)
    for i in range(10):
        api.add(
            "Lead",
            f"00Q{i:015d}",
            START + dt.timedelta(hours=2 * i, minutes=1),
            Email=f"lead{i}@example.com",
            CreatedDate="2025-06-01T09:00:00.000+0000",
            LastModifiedDate="2025-06-02T10:00:00.000+0000",
            LeadSource="Web",
            Status="Open",
            IsConverted=i % 3 == 0,
            ConvertedDate=None,
        )
    api.records["Lead"]["00Q000000000000003"]["IsDeleted"] = True
    api.add("Lead", "00Qbefore", START - dt.timedelta(seconds=1))
    api.add("Lead", "00Qafter", START + dt.timedelta(days=1))
    for i in range(3):
        api.add(
            "Opportunity",
            f"006{i:015d}",
            START + dt.timedelta(hours=5 * i),
            Name=f"Deal {i}",
            StageName="Closed Won",
            IsWon=True,
            IsClosed=True,
            Amount=1500.5,
            CloseDate="2025-06-02",
            CreatedDate="2025-06-01T08:00:00.000+0000",
        )
    return api


def env(api: FakeSalesforce, **extra: str) -> dict[str, str]:
    return {"SALESFORCE_INSTANCE_URL": api.instance_url, **extra}


def pull(api: FakeSalesforce, tmp_path: Path, environ: dict[str, str], waits: list | None = None):
    return pull_day(
        "salesforce",
        DAY,
        landing=str(tmp_path / "landing"),
        timezone="UTC",
        cursors=CursorStore(tmp_path / "pull_cursors.json"),
        env=environ,
        now=NOW,
        policy=RetryPolicy(sleep=(waits if waits is not None else []).append),
    )


def landed(tmp_path: Path, name: str) -> list[dict]:
    path = tmp_path / "landing" / "salesforce" / f"dt={DAY}" / name
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_pull_pages_through_queryall_and_sees_deleted_records(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    result = pull(salesforce, tmp_path, env(salesforce, SALESFORCE_ACCESS_TOKEN=SALESFORCE_TOKEN))

    leads = landed(tmp_path, "Lead.jsonl")
    assert [r["Id"] for r in leads] == [f"00Q{i:015d}" for i in range(10)]
    assert [r["Id"] for r in leads if r["IsDeleted"]] == ["00Q000000000000003"]
    assert "FirstName" not in leads[0] and leads[0]["Email"] == "lead0@example.com"
    assert len(landed(tmp_path, "Opportunity.jsonl")) == 3
    # 10 leads in batches of 4: the query and two nextRecordsUrl; one query of opportunities
    assert result.api_calls == 4 and result.records == {"Lead.jsonl": 10, "Opportunity.jsonl": 3}
    first = urlsplit(salesforce.calls[0])
    assert first.path == "/services/data/v62.0/queryAll"
    assert parse_qs(first.query)["q"][0].endswith(
        "FROM Lead WHERE SystemModstamp >= 2025-06-02T00:00:00Z "
        "AND SystemModstamp < 2025-06-03T00:00:00Z ORDER BY SystemModstamp, Id"
    )
    assert CursorStore(tmp_path / "pull_cursors.json").get("salesforce") == NOW.replace(hour=0)


def test_the_client_credentials_flow_asks_for_a_token_first(
    salesforce: FakeSalesforce, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client_id, secret = SALESFORCE_CLIENT
    caplog.set_level(logging.DEBUG)
    pull(
        salesforce,
        tmp_path,
        env(salesforce, SALESFORCE_CLIENT_ID=client_id, SALESFORCE_CLIENT_SECRET=secret),
    )
    assert salesforce.calls[0] == "/services/oauth2/token?"
    assert len(landed(tmp_path, "Lead.jsonl")) == 10
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret_text in (SALESFORCE_TOKEN, secret):
        assert secret_text.encode() not in written and secret_text not in caplog.text


def test_refused_client_credentials_are_said_plainly(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    with pytest.raises(TokenRefusedError, match="client credentials were refused") as error:
        pull(
            salesforce,
            tmp_path,
            env(
                salesforce, SALESFORCE_CLIENT_ID="x", SALESFORCE_CLIENT_SECRET="wrong-secret-value"
            ),
        )
    assert "wrong-secret-value" not in str(error.value)


def test_an_expired_session_fails_at_once_and_moves_nothing(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    with pytest.raises(TokenRefusedError) as error:
        pull(salesforce, tmp_path, env(salesforce, SALESFORCE_ACCESS_TOKEN="00Dexpired!token"))
    assert str(error.value).startswith("the Salesforce token was refused: check")
    assert "00Dexpired!token" not in str(error.value)
    assert len(salesforce.calls) == 1 and not (tmp_path / "landing").exists()
    assert CursorStore(tmp_path / "pull_cursors.json").get("salesforce") is None


def test_throttling_and_server_errors_mid_paging_lose_nothing(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    salesforce.faults = [too_many_requests("5"), server_error()]
    waits: list[float] = []
    result = pull(
        salesforce, tmp_path, env(salesforce, SALESFORCE_ACCESS_TOKEN=SALESFORCE_TOKEN), waits
    )
    assert waits[0] == 5.0 and result.retries == 2
    ids = [r["Id"] for r in landed(tmp_path, "Lead.jsonl")]
    assert len(ids) == len(set(ids)) == 10


def test_a_page_cut_short_or_errors_to_the_end_keep_the_cursor(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    environ = env(salesforce, SALESFORCE_ACCESS_TOKEN=SALESFORCE_TOKEN)
    salesforce.faults = [cut_short()]
    with pytest.raises(MalformedPageError):
        pull(salesforce, tmp_path, environ)
    salesforce.faults = [server_error()] * 6
    with pytest.raises(ApiUnavailableError, match="after 6 attempts"):
        pull(salesforce, tmp_path, environ)
    assert not (tmp_path / "landing").exists()
    assert CursorStore(tmp_path / "pull_cursors.json").get("salesforce") is None
    # and the rerun that works lands the day
    pull(salesforce, tmp_path, environ)
    assert len(landed(tmp_path, "Lead.jsonl")) == 10


def test_missing_settings_name_the_variables(tmp_path: Path) -> None:
    with pytest.raises(PullConfigError, match="SALESFORCE_INSTANCE_URL is not set"):
        pull_day(
            "salesforce",
            DAY,
            landing=str(tmp_path),
            timezone="UTC",
            cursors=CursorStore(tmp_path / "c.json"),
            env={},
            now=NOW,
        )
    with pytest.raises(PullConfigError, match="set SALESFORCE_ACCESS_TOKEN, or SALESFORCE_CLIENT"):
        pull_day(
            "salesforce",
            DAY,
            landing=str(tmp_path),
            timezone="UTC",
            cursors=CursorStore(tmp_path / "c.json"),
            env={"SALESFORCE_INSTANCE_URL": "https://x.my.salesforce.com"},
            now=NOW,
        )
