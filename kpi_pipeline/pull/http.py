"""A JSON-over-HTTPS client that retries what is worth retrying, and nothing else.

429 and 5xx answers and broken connections (a body cut short included) are retried up
to `RetryPolicy.attempts` times, waiting the API's `Retry-After` when it gives one, else
exponential backoff with jitter (tenacity), capped. 401/403 fail at once. A complete
answer that is not JSON fails at once too: retrying a wrong shape hides a real problem.
The token travels in the `Authorization` header only; no message, log line or exception
built here quotes a header or a request body.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from kpi_pipeline.pull.errors import ApiUnavailableError, MalformedPageError, TokenRefusedError

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
REFUSED_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `sleep` is injectable: tests wait zero seconds."""

    attempts: int = 6
    initial_wait: float = 1.0  # seconds, doubled each retry, plus up to `jitter`
    max_wait: float = 60.0  # a longer Retry-After is cut to this
    jitter: float = 1.0
    timeout: float = 60.0  # per request (connect and read)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


class RetryableResponse(Exception):
    """A 429 / 5xx answer (or a broken connection), with the wait the API asked for."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date; None if absent or
    unreadable (then backoff applies)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class _Wait:
    """The API's Retry-After when it gave one (capped), else backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_exponential_jitter(
            initial=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        )

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableResponse) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait)
        return self.backoff(state)


class BearerToken(requests.auth.AuthBase):
    """`Authorization: Bearer <token>`; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"


def where(url: str) -> str:
    """The host and path of a URL, for messages (its query may be long; never a secret)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


class JsonApi:
    """One API's JSON endpoints with a bearer token; counts the requests it sent.

    `refused` is the sentence a 401/403 raises (`TokenRefusedError`), e.g. "the HubSpot
    token was refused: check HUBSPOT_ACCESS_TOKEN"; `name` names the API in messages.
    """

    def __init__(
        self,
        name: str,
        token: str | None,
        refused: str,
        policy: RetryPolicy | None = None,
        refused_statuses: frozenset[int] = REFUSED_STATUSES,
    ) -> None:
        self.name = name
        self.refused = refused
        self.refused_statuses = refused_statuses
        self.policy = policy or RetryPolicy()
        self.session = requests.Session()  # proxies from HTTPS_PROXY / NO_PROXY apply
        if token is not None:
            self.session.auth = BearerToken(token)  # (an auth object: ~/.netrc never replaces it)
        self.session.headers["Accept"] = "application/json"
        self.requests_sent = 0
        self.retries = 0

    def get(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._call("GET", url, params=params)

    def post(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", url, json=body)

    def post_form(self, url: str, form: Mapping[str, str]) -> dict[str, Any]:
        return self._call("POST", url, data=form)

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=_Wait(self.policy),
            retry=retry_if_exception_type(RetryableResponse),
            sleep=self.policy.sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            return retrying(self._once, method, url, **kwargs)
        except RetryableResponse as err:
            raise ApiUnavailableError(
                f"{self.name} did not answer {where(url)} after {self.policy.attempts} "
                f"attempts (last: {err.what}); try again later"
            ) from None

    def _count_retry(self, _state: RetryCallState) -> None:
        self.retries += 1

    def _once(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        self.requests_sent += 1
        try:
            response = self.session.request(method, url, timeout=self.policy.timeout, **kwargs)
            body = response.content  # a body cut short raises here (ChunkedEncodingError)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as err:
            raise RetryableResponse(f"connection failed: {type(err).__name__}") from None
        status = response.status_code
        if status in self.refused_statuses:
            raise TokenRefusedError(f"{self.refused} (HTTP {status} from {where(url)})")
        if status in RETRIED_STATUSES:
            raise RetryableResponse(
                f"HTTP {status}", retry_after_seconds(response.headers.get("Retry-After"))
            )
        if status >= 400:
            raise ApiUnavailableError(
                f"{self.name} refused the request to {where(url)} with HTTP {status}"
                f"{_api_message(body)}"
            )
        try:
            page = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise MalformedPageError(
                f"{self.name} answered {where(url)} with a body that is not complete JSON "
                f"({len(body):,} bytes); the pull stopped and nothing was committed: run it again"
            ) from None
        if not isinstance(page, dict):
            raise MalformedPageError(
                f"{self.name} answered {where(url)} with JSON that is not an object; "
                "the pull stopped and nothing was committed"
            )
        return page


def _api_message(body: bytes) -> str:
    """The API's own error message (HubSpot `message`, Salesforce `[{"message"}]`),
    bounded; empty when there is none."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    first = parsed[0] if isinstance(parsed, list) and parsed else parsed
    message = first.get("message") if isinstance(first, dict) else None
    return f": {str(message)[:200]}" if message else ""
