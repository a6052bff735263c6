"""The durable cursor of each pulled source: up to when its changes have been landed.

One small JSON file per deployment (`<data>/pull_cursors.json`), replaced atomically
(written aside, fsynced, renamed), so a crash leaves the old cursor or the new one,
never half of one. A cursor only moves forward, and only after the day's files are
complete (`day.pull_day` advances it last).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path


class CursorStore:
    """`source -> through` (UTC, exclusive): every change before it has been landed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError(
                f"{self.path}: the pull cursors are not valid JSON; restore the file or "
                "delete it (the next pull then starts from the day it is asked for)"
            ) from None
        return data if isinstance(data, dict) else {}

    def get(self, source: str) -> dt.datetime | None:
        entry = self._read().get(source)
        return dt.datetime.fromisoformat(entry["through"]) if entry else None

    def advance(self, source: str, through: dt.datetime, day: dt.date) -> dt.datetime:
        """Move `source`'s cursor to `through` if that is later; returns the cursor now."""
        data = self._read()
        current = self.get(source)
        if current is not None and current >= through:
            return current
        data[source] = {"through": through.astimezone(dt.UTC).isoformat(), "day": day.isoformat()}
        write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")
        return through


def write_atomically(path: Path, content: bytes) -> None:
    """`content` at `path` or nothing: written to a temporary name beside it, fsynced, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
