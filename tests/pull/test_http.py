"""The retrying client against a local server: what is retried, how long it waits (the
waits are recorded, never slept), what fails at once, and that no message quotes a token."""

from __future__ import annotations

import datetime as dt

import pytest
from pytest_httpserver import HTTPServer

from kpi_pipeline.pull.errors import ApiUnavailableError, MalformedPageError, TokenRefusedError
from kpi_pipeline.pull.http import JsonApi, RetryPolicy, retry_after_seconds
from tests.pull.fake_apis import cut_short, server_error, too_many_requests

TOKEN = "secret-token-value-123"


def client(waits: list[float], attempts: int = 4) -> JsonApi:
    policy = RetryPolicy(
        attempts=attempts, initial_wait=1.0, max_wait=30.0, jitter=0.5, sleep=waits.append
    )
    return JsonApi("Test API", TOKEN, "the token was refused: check TEST_TOKEN", policy)


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = dt.datetime(2025, 6, 2, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Mon, 02 Jun 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 02 Jun 2025 11:00:00 GMT", now) == 0.0  # past: no wait
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("soon", now) is None


def test_429_waits_what_retry_after_says_then_succeeds(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_response(too_many_requests("3"))
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    waits: list[float] = []
    api = client(waits)
    assert api.get(httpserver.url_for("/x")) == {"ok": 1}
    assert waits == [3.0]
    assert (api.requests_sent, api.retries) == (2, 1)


def test_a_long_retry_after_is_capped(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_response(too_many_requests("3600"))
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    waits: list[float] = []
    client(waits).get(httpserver.url_for("/x"))
    assert waits == [30.0]


def test_a_500_is_retried_with_exponential_backoff_and_jitter(httpserver: HTTPServer) -> None:
    for _ in range(3):
        httpserver.expect_ordered_request("/x").respond_with_response(server_error())
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 2})
    waits: list[float] = []
    assert client(waits).get(httpserver.url_for("/x")) == {"ok": 2}
    assert len(waits) == 3
    for wait, base in zip(waits, (1.0, 2.0, 4.0), strict=True):
        assert base <= wait <= base + 0.5


def test_retries_are_bounded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_response(server_error())
    waits: list[float] = []
    api = client(waits, attempts=3)
    with pytest.raises(ApiUnavailableError) as error:
        api.get(httpserver.url_for("/x"))
    assert api.requests_sent == 3 and len(waits) == 2
    assert "after 3 attempts (last: HTTP 500)" in str(error.value)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_fails_at_once_without_quoting_it(
    httpserver: HTTPServer, status: int
) -> None:
    httpserver.expect_request("/x").respond_with_json({"message": "expired"}, status=status)
    waits: list[float] = []
    api = client(waits)
    with pytest.raises(TokenRefusedError) as error:
        api.get(httpserver.url_for("/x"))
    assert str(error.value).startswith("the token was refused: check TEST_TOKEN")
    assert api.requests_sent == 1 and waits == []
    assert TOKEN not in str(error.value) and TOKEN not in repr(api.session.auth)
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_body_cut_short_is_a_malformed_page_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_response(cut_short())
    waits: list[float] = []
    api = client(waits)
    with pytest.raises(MalformedPageError, match="not complete JSON"):
        api.post(httpserver.url_for("/x"), {"a": 1})
    assert api.requests_sent == 1


def test_another_client_error_names_the_api_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_json({"message": "bad filter"}, status=400)
    with pytest.raises(ApiUnavailableError, match="HTTP 400: bad filter"):
        client([]).get(httpserver.url_for("/x"))
