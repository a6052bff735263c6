"""Errors a data engineer can act on: which file, what was expected, what was found.

Whatever a message quotes from a file (a header label, a parser's complaint about a line)
goes through `excerpt`: bounded and with control characters escaped, so a hostile file
cannot flood or forge the logs and reports these messages reach.
"""

from __future__ import annotations

from pathlib import Path

from kpi_pipeline.ingest.excerpt import escape, excerpt

# Header labels quoted in a message: each cut to this, and at most this many of them.
LABEL_CHARS = 60
LABELS_SHOWN = 40


def _where(path: Path | str) -> str:
    return escape(str(path))


def quoted_labels(labels: list[str]) -> str:
    """`'a', 'b', ...` for a message: each label an excerpt, the list itself bounded."""
    shown = ", ".join(f"'{excerpt(label, LABEL_CHARS)}'" for label in labels[:LABELS_SHOWN])
    more = len(labels) - LABELS_SHOWN
    return shown + (f" and {more:,} more" if more > 0 else "")


class ExtractError(Exception):
    """A landing-zone file that breaks its contract; the source's ingest stops."""


class ExtractUnreadableError(ExtractError):
    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(
            f"{_where(path)}: cannot be read as expected ({excerpt(detail)}). "
            "Check the export settings (format, delimiter, encoding) and deliver the file again."
        )


class MissingColumnsError(ExtractError):
    def __init__(self, path: Path | str, missing: list[str], found: list[str]) -> None:
        self.missing = missing
        self.found = found
        super().__init__(
            f"{_where(path)}: missing required column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {quoted_labels(found) or 'no columns'}. "
            "Re-export the file with these columns (see docs/landing_zone.md)."
        )


class DuplicateColumnsError(ExtractError):
    def __init__(self, path: Path | str, duplicated: list[str], found: list[str]) -> None:
        self.duplicated = duplicated
        super().__init__(
            f"{_where(path)}: column(s) {', '.join(repr(d) for d in duplicated)} appear more "
            f"than once in the header, so which one to load is ambiguous; found "
            f"{quoted_labels(found)}. Re-export the file with each column once."
        )


class LandingFileRefusedError(ExtractError):
    """A landing entry that is not a regular file inside the landing zone: never opened."""

    def __init__(self, relative_path: str, what: str) -> None:
        self.relative_path = relative_path
        self.what = what
        super().__init__(
            f"{_where(relative_path)} (in the landing zone): refused, it is {what}; only "
            "regular files inside the landing zone are read, and it was not opened. "
            "Replace it with the regular file the extract should be."
        )


class TooManyRowsError(ExtractError):
    """A file over the per-file row limit: refused whole, so no row is dropped silently."""

    def __init__(self, path: Path | str, limit: int) -> None:
        super().__init__(
            f"{_where(path)}: has more than {limit:,} rows, over the per-file limit "
            "(KPI_MAX_FILE_ROWS); nothing of it was loaded. Check that the export is the "
            "day's extract and not a full dump, or raise KPI_MAX_FILE_ROWS."
        )
