"""Errors a data engineer can act on: which file, what was expected, what was found."""

from __future__ import annotations

from pathlib import Path


class ExtractError(Exception):
    """A landing-zone file that breaks its contract; the source's ingest stops."""


class ExtractUnreadableError(ExtractError):
    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(
            f"{path}: cannot be read as expected ({detail}). "
            "Check the export settings (format, delimiter, encoding) and deliver the file again."
        )


class MissingColumnsError(ExtractError):
    def __init__(self, path: Path | str, missing: list[str], found: list[str]) -> None:
        self.missing = missing
        self.found = found
        super().__init__(
            f"{path}: missing required column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {', '.join(repr(f) for f in found) or 'no columns'}. "
            "Re-export the file with these columns (see docs/landing_zone.md)."
        )


class DuplicateColumnsError(ExtractError):
    def __init__(self, path: Path | str, duplicated: list[str], found: list[str]) -> None:
        self.duplicated = duplicated
        super().__init__(
            f"{path}: column(s) {', '.join(repr(d) for d in duplicated)} appear more than once "
            f"in the header, so which one to load is ambiguous; found "
            f"{', '.join(repr(f) for f in found)}. Re-export the file with each column once."
        )
