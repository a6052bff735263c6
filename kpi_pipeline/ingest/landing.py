"""Find the files of one source and extract day in the landing zone (Hive-style folders)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path


def day_folder(landing: Path, source: str, day: dt.date) -> Path:
    return landing / source / f"dt={day.isoformat()}"


def extract_files(
    landing: Path, source: str, day: dt.date, pattern: str | tuple[str, ...]
) -> list[Path]:
    """The day's files matching `pattern`(s), sorted; empty when the extract has not arrived."""
    folder = day_folder(landing, source, day)
    if not folder.is_dir():
        return []
    patterns = (pattern,) if isinstance(pattern, str) else pattern
    return sorted({path for p in patterns for path in folder.glob(p)})


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
