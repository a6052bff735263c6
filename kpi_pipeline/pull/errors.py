"""What can stop a pull, each said in the user's words; none ever quotes a token."""

from __future__ import annotations

from typing import Any


class PullError(Exception):
    """A pull that stopped: nothing of the day is committed and its cursor did not move."""


class PullConfigError(PullError):
    """The environment does not say how to reach the API (a missing token or URL)."""


class TokenRefusedError(PullError):
    """The API answered 401 or 403: retrying cannot help."""


class MalformedPageError(PullError):
    """A page that is not the JSON the API documents (cut short, or another shape)."""


class ApiUnavailableError(PullError):
    """The API kept throttling or failing after every retry."""


class WindowTooDenseError(PullError):
    """More records changed within one millisecond than a search may return."""


class DayNotOverError(PullError):
    """The day asked for has not ended yet in the reporting timezone."""


def require_records(
    batch: Any, marker: Any, marker_type: type, shape: str, id_key: str, answer: str, where: str
) -> list[dict[str, Any]]:
    """A page's records, each a JSON object with an id, when the page has the shape its API
    documents (`batch` a list, `marker` of `marker_type`); `MalformedPageError` in words
    otherwise, naming the answer (`answer`: "HubSpot's search answer"), the `shape` missing
    and the page (`where`)."""
    stopped = "the pull stopped and nothing was committed"
    if not isinstance(batch, list) or not isinstance(marker, marker_type):
        raise MalformedPageError(f"{answer} has no {shape} ({where}); {stopped}")
    for record in batch:
        if not isinstance(record, dict) or not record.get(id_key):
            raise MalformedPageError(
                f"{answer} holds a record without an {id_key} ({where}); {stopped}"
            )
    return batch
