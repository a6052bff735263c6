"""Failed dbt tests in the user's words.

dagster-dbt records each dbt test's result as an asset check (verdict, severity, the
number of failing rows in `dagster_dbt/failed_row_count`), without the rows. A test that
keeps its failing rows (`store_failures`: a table in `dbt_test__audit`, replaced on each
run) and says how to word one (`meta: {failing_row: "... {column} ..."}`) is described
from them, e.g. the cross-checks under dbt_project/tests/: the day and the two numbers that
disagree. The readers of a run's checks (`kpi run`'s summary, the failure report, the
snapshot's manifest) call `failed_dbt_tests` after the run, once dbt has closed the
warehouse; any other failed dbt test is said with its count (`wording.dbt_test_words`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kpi_pipeline.quality.wording import dbt_test_words

# what dagster-dbt puts in the metadata of a dbt test's check result
UNIQUE_ID = "unique_id"
FAILED_ROW_COUNT = "dagster_dbt/failed_row_count"
ROWS_KEPT = 10  # failing rows read back as evidence; the words show the first few


@dataclass(frozen=True)
class FailedTest:
    """A failed dbt test: its failing rows' count, the first of them, and what they say."""

    check: str
    count: int | None
    words: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def metadata_value(evaluation, key: str) -> Any:
    """The plain value of one metadata entry of a check evaluation (None when absent)."""
    entry = (getattr(evaluation, "metadata", None) or {}).get(key)
    return getattr(entry, "value", entry)


def dbt_test_id(evaluation) -> str | None:
    """The dbt unique id of the test a check evaluation is the result of; None for a check
    the pipeline evaluates itself (GX suites, anomalies, deliveries)."""
    unique_id = metadata_value(evaluation, UNIQUE_ID)
    return unique_id if isinstance(unique_id, str) and unique_id.startswith("test.") else None


def check_key(evaluation) -> tuple[str, str]:
    return evaluation.asset_key.to_user_string(), evaluation.check_name


@lru_cache(maxsize=4)
def _manifest(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def read_manifest(path: Path) -> dict[str, Any]:
    """dbt's manifest (the tests' configuration), read again only when it changed."""
    path = Path(path)
    return _manifest(str(path), path.stat().st_mtime) if path.exists() else {}


def default_manifest_path() -> Path:
    from kpi_pipeline.transform.project import dbt_project

    return Path(dbt_project.manifest_path)


def stored_failures(manifest: Mapping[str, Any], unique_id: str) -> tuple[str, str | None] | None:
    """The table dbt keeps a test's failing rows in (`"schema"."alias"`) and the test's
    wording of one row (`meta.failing_row`); None for a test that keeps no rows."""
    node = (manifest.get("nodes") or {}).get(unique_id) or {}
    config = node.get("config") or {}
    if not config.get("store_failures"):
        return None
    meta = config.get("meta") or node.get("meta") or {}
    return f'"{node["schema"]}"."{node["alias"]}"', meta.get("failing_row")


def spark_relation(relation: str) -> str:
    """`"schema"."alias"` as Spark SQL quotes it: `` `schema`.`alias` ``."""
    return ".".join(
        "`" + part.replace('""', '"').replace("`", "``") + "`"
        for part in relation[1:-1].split('"."')
    )


def failing_rows(con, relation: str) -> list[dict[str, Any]]:
    from kpi_pipeline.warehouse import is_spark, query_polars

    named = spark_relation(relation) if is_spark(con) else relation
    return query_polars(con, f"select * from {named} limit {ROWS_KEPT}").to_dicts()


def failed_dbt_tests(
    evaluations: Iterable,
    con=None,
    location: Path | str | None = None,
    manifest: Path | None = None,
) -> dict[tuple[str, str], FailedTest]:
    """Each failed dbt test among `evaluations` (Dagster check evaluations), keyed by
    (asset, check), said in words: from its stored failing rows when it keeps them (read
    through `con`, or a read-only connection to `location`), else with its count. Reading
    the rows never fails the caller: a warehouse it cannot read leaves the count."""
    failed = [(e, dbt_test_id(e)) for e in evaluations if not e.passed]
    failed = [(e, unique_id) for e, unique_id in failed if unique_id]
    if not failed:
        return {}
    tests = read_manifest(manifest or default_manifest_path())
    stored = {unique_id: stored_failures(tests, unique_id) for _, unique_id in failed}
    rows: dict[str, list[dict[str, Any]]] = {}
    if any(stored.values()):
        rows = _read_rows({u: s[0] for u, s in stored.items() if s}, con, location)
    found = {}
    for evaluation, unique_id in failed:
        count = failed_row_count(evaluation)
        template = (stored[unique_id] or (None, None))[1]
        kept = rows.get(unique_id, [])
        words = dbt_test_words(evaluation.check_name, count, kept, template)
        found[check_key(evaluation)] = FailedTest(evaluation.check_name, count, words, kept)
    return found


def _read_rows(
    relations: dict[str, str], con, location: Path | str | None
) -> dict[str, list[dict[str, Any]]]:
    from kpi_pipeline.warehouse import WAREHOUSE_ERRORS, connect
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    def read(con) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for unique_id, relation in relations.items():
            try:
                found[unique_id] = failing_rows(con, relation)
            except WAREHOUSE_ERRORS:
                continue
        return found

    if con is not None:
        return read(con)
    if location is None:
        from kpi_pipeline.settings import Settings

        location = Settings.from_env().warehouse_location
    try:
        with connect(location, read_only=True) as opened:
            return read(opened)
    except (*WAREHOUSE_ERRORS, WarehouseBusyError, OSError):
        return {}


def failed_row_count(evaluation) -> int | None:
    count = metadata_value(evaluation, FAILED_ROW_COUNT)
    return int(count) if isinstance(count, int | float) else None


def describe(evaluation, failed: Mapping[tuple[str, str], FailedTest] | None = None) -> str | None:
    """A check evaluation's description: its own, else its failed dbt test's words (from
    `failed_dbt_tests`, or with its count alone)."""
    if evaluation.description:
        return evaluation.description
    found = (failed or {}).get(check_key(evaluation))
    if found:
        return found.words
    if not evaluation.passed and dbt_test_id(evaluation):
        return dbt_test_words(evaluation.check_name, failed_row_count(evaluation), [])
    return None
