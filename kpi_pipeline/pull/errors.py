"""What can stop a pull, each said in the user's words; none ever quotes a token."""

from __future__ import annotations


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
