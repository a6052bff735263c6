"""What the tests of the incremental marts share: a run of days, dbt runs of a mart on a
DuckDB file, its rows by key, and an incremental table held against the one a full refresh
builds, row by row."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from kpi_pipeline.partitions import dbt_window_env
from tests.dbt_cli import run_dbt
from tests.mart_keys import FACT_MART_KEYS

DAY = dt.timedelta(days=1)


def days_from(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + i * DAY for i in range((last - first).days + 1)]


def mart_rows(warehouse: Path, mart: str) -> dict[tuple, dict]:
    """The rows of `mart` in the DuckDB file `warehouse`, each as {column: value}, by its
    key (tests/mart_keys.py); a key found twice fails."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(f"select * from marts.{mart}")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    found = {tuple(row[column] for column in FACT_MART_KEYS[mart]): row for row in rows}
    assert len(found) == len(rows), f"a key of {mart} twice"
    return found


def differing(found: dict[tuple, dict], expected: dict[tuple, dict]) -> list:
    """The rows of `found` that are not those of `expected` (with the first column that
    differs), and the rows missing or added. Dates, texts and integers are compared
    exactly; doubles to 1e-12 relative: DuckDB adds a group's doubles in the order its
    threads deliver them, so two full builds of the same facts already differ in the last
    bit or two of those."""
    wrong = sorted(set(found) ^ set(expected))
    for key in set(found) & set(expected):
        for column, want in expected[key].items():
            got = found[key][column]
            if isinstance(want, float) and isinstance(got, float):
                if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9):
                    wrong.append((key, column, got, want))
                    break
            elif got != want:
                wrong.append((key, column, got, want))
                break
    return wrong


def run_models(
    models: list[str],
    warehouse: Path,
    root: Path,
    *args: str,
    window: dict[str, str] | None = None,
):
    """`dbt run` of `models` on the DuckDB file `warehouse` (over `window`, else all days),
    which must succeed."""
    run = run_dbt(
        ["run", "--select", *models, *args], warehouse, root, env=dbt_window_env(window or {})
    )
    assert run.returncode == 0, run.stdout[-3000:]
    return run


def full_rebuild(
    warehouse: Path,
    root: Path,
    models: list[str],
    read: Callable[[Path], dict[tuple, dict]],
) -> dict[tuple, dict]:
    """The rows `read` finds after a full refresh of `models` on a copy of `warehouse`."""
    copy = root / "full_rebuild.duckdb"
    shutil.copyfile(warehouse, copy)
    run_models(models, copy, root, "--full-refresh")
    rebuilt = read(copy)
    copy.unlink()
    return rebuilt


def copy_of(warehouse: Path, folder: Path) -> Path:
    """A copy of `warehouse` in `folder`, for a test to change."""
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    return copy
