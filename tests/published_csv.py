"""A published snapshot's `kpis.csv` in a canonical form, for comparing the same days computed
on two warehouses: its numbers rounded to DECIMALS places, its rows sorted by their key."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

# the canonical CSV's numbers are compared rounded to this many decimals: the engines agree
# to about 1e-15 relative (a sum of doubles in another order), never to the last bit
DECIMALS = 9


def canonical_rows(path: Path) -> list[dict]:
    """The snapshot's CSV, its numbers rounded to DECIMALS places, sorted by its key."""

    def rounded(text: str) -> str:
        try:
            number = float(text)
        except ValueError:
            return text
        return f"{round(number, DECIMALS):.{DECIMALS}f}"

    rows = [
        {column: rounded(value) for column, value in row.items()}
        for row in csv.DictReader(io.StringIO(path.read_text()))
    ]
    return sorted(rows, key=lambda r: (r["kpi_id"], r["dimension"], r["dimension_value"]))


def latest(snapshot_dir: Path, day: dt.date) -> Path:
    """The folder of `day`'s latest published version."""
    return snapshot_dir / day.isoformat() / "latest"
