"""The KPI values two warehouses published for the same day, compared: the benchmark runs
the same files on DuckDB and on Spark, and its figures mean something only if both runs
published the same KPIs. Floats agree to 1e-9 relative (the engines differ in a float's
last digits: an average computed from microseconds ends ...221 on one, ...22 on the other);
everything else exactly."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kpi_pipeline.publish.snapshot import KPIS_PARQUET, LATEST

# a snapshot row's identity within its day
SNAPSHOT_KEYS = ("kpi_id", "dimension", "dimension_value")
REL_TOL = 1e-9
ABS_TOL = 1e-12
# mismatches listed in full; the rest counted
SHOWN_MISMATCHES = 10


@dataclass
class SnapshotComparison:
    """Two published snapshots of one day, row by row (by `SNAPSHOT_KEYS`)."""

    day: str
    rows: int  # rows of the first (DuckDB's) snapshot
    values: int  # numeric values compared
    mismatches: list[str] = field(default_factory=list)
    # the largest relative difference of two numeric values that were both present
    max_relative: float = 0.0

    @property
    def agree(self) -> bool:
        return not self.mismatches and self.rows > 0

    def describe(self, left: str = "DuckDB", right: str = "Spark") -> str:
        """One sentence for the report and the terminal."""
        if self.rows == 0 and not self.mismatches:
            return f"{self.day}: no published KPI rows to compare"
        if self.agree:
            return (
                f"{self.day}: the {self.rows:,} KPI rows {left} and {right} published agree "
                f"({self.values:,} numeric values, largest relative difference "
                f"{self.max_relative:.1e}, tolerance {REL_TOL:g})"
            )
        shown = "; ".join(self.mismatches[:SHOWN_MISMATCHES])
        more = len(self.mismatches) - SHOWN_MISMATCHES
        return (
            f"{self.day}: **{left} and {right} published different KPIs** "
            f"({len(self.mismatches):,} differences): {shown}"
            + (f"; and {more:,} more" if more > 0 else "")
        )


def relative_difference(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def values_agree(a, b) -> bool:
    """Two cells of a snapshot: floats to `REL_TOL` relative (`ABS_TOL` near zero), other
    values equal; a null only equals a null, a NaN only a NaN."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def _key_text(key: tuple) -> str:
    return "/".join("null" if k is None else str(k) for k in key)


def compare_snapshots(day: str, left: pl.DataFrame, right: pl.DataFrame) -> SnapshotComparison:
    """Row by row, column by column: rows only one side has, columns only one side has and
    values that differ are each a mismatch (`left`'s value first)."""
    keys = list(SNAPSHOT_KEYS)
    mismatches = []
    columns = [c for c in left.columns if c in right.columns]
    for name in sorted(set(left.columns) ^ set(right.columns)):
        side = "DuckDB" if name in left.columns else "Spark"
        mismatches.append(f"column {name} only in {side}'s snapshot")
    by_key = {
        side: {tuple(row[k] for k in keys): row for row in frame.iter_rows(named=True)}
        for side, frame in (("left", left), ("right", right))
    }
    lefts, rights = by_key["left"], by_key["right"]
    for key in sorted(set(lefts) ^ set(rights), key=_key_text):
        side = "DuckDB" if key in lefts else "Spark"
        mismatches.append(f"{_key_text(key)} only in {side}'s snapshot")
    values, largest = 0, 0.0
    for key in sorted(set(lefts) & set(rights), key=_key_text):
        a_row, b_row = lefts[key], rights[key]
        for name in columns:
            if name in keys:
                continue
            a, b = a_row[name], b_row[name]
            numeric = isinstance(a, (int, float)) and isinstance(b, (int, float))
            if numeric and not isinstance(a, bool):
                values += 1
                if not (math.isnan(a) or math.isnan(b)):
                    largest = max(largest, relative_difference(float(a), float(b)))
            if not values_agree(a, b):
                mismatches.append(f"{_key_text(key)} {name}: {a!r} against {b!r}")
    return SnapshotComparison(day, left.height, values, mismatches, largest)


def latest_snapshot(snapshot_dir: Path, day: dt.date) -> pl.DataFrame:
    """The day's latest published KPI rows (empty when the day was never published)."""
    path = snapshot_dir / day.isoformat() / LATEST / KPIS_PARQUET
    return pl.read_parquet(path) if path.exists() else pl.DataFrame()


def compare_published(
    left_dir: Path, right_dir: Path, days: list[dt.date]
) -> list[SnapshotComparison]:
    """Each day's latest snapshot under two deployments' snapshot folders, compared."""
    found = []
    for day in days:
        left, right = latest_snapshot(left_dir, day), latest_snapshot(right_dir, day)
        if left.is_empty() and right.is_empty():
            found.append(SnapshotComparison(day.isoformat(), 0, 0))
            continue
        if left.is_empty() or right.is_empty():
            missing = "DuckDB" if left.is_empty() else "Spark"
            rows = max(left.height, right.height)
            problem = f"{missing} published nothing for the day"
            found.append(SnapshotComparison(day.isoformat(), rows, 0, [problem]))
            continue
        found.append(compare_snapshots(day.isoformat(), left, right))
    return found
