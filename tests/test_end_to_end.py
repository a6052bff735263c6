"""Generated sample -> Dagster job in-process -> published snapshots, checked against the
plain-Python oracle (tests/oracle.py), which shares no code or SQL with the pipeline."""

from __future__ import annotations

import datetime as dt
import json
import os

import duckdb
import polars as pl
import pytest

from kpi_pipeline.sample import generate_sample
from tests.oracle import compute_kpis

FIRST = dt.date(2025, 6, 2)
LAST_OF_BACKFILL = dt.date(2025, 6, 4)
NEXT_DAY = dt.date(2025, 6, 5)

pytestmark = pytest.mark.e2e


def published(deployment, day: dt.date) -> dict[tuple[str, str, str], dict]:
    frame = pl.read_parquet(deployment.snapshots / day.isoformat() / "latest" / "kpis.parquet")
    return {
        (r["kpi_id"], r["dimension"], r["dimension_value"]): r for r in frame.iter_rows(named=True)
    }


def snapshot_bytes(deployment) -> dict[str, bytes]:
    return {
        str(path.relative_to(deployment.snapshots)): os.readlink(path).encode()
        if path.is_symlink()
        else path.read_bytes()
        for path in sorted(deployment.snapshots.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def assert_matches_oracle(deployment, day: dt.date, as_of: dt.date) -> None:
    expected = compute_kpis(deployment.landing, day, as_of=as_of)
    actual = published(deployment, day)
    assert set(actual) == set(expected), f"{day}: KPI rows differ"
    for key, oracle in expected.items():
        row = actual[key]
        for field in ("numerator", "denominator", "value"):
            want, got = getattr(oracle, field), row[field]
            if want is None:
                assert got is None, f"{day} {key} {field}: expected null, got {got}"
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{day} {key} {field}"


def test_sample_backfill_then_daily_run_matches_independent_computation(deployment) -> None:
    generate_sample(FIRST, NEXT_DAY, deployment.landing, scale=0.03, seed=7)

    report = deployment.run(FIRST, LAST_OF_BACKFILL)
    assert report.success, report.reason()
    for offset in range((LAST_OF_BACKFILL - FIRST).days + 1):
        # a backfill computes every day with all extracts known at the time of the run
        assert_matches_oracle(deployment, FIRST + dt.timedelta(days=offset), LAST_OF_BACKFILL)

    # running the same backfill again (what a second `make demo` does) republishes nothing
    before = snapshot_bytes(deployment)
    report = deployment.run(FIRST, LAST_OF_BACKFILL)
    assert report.success, report.reason()
    assert snapshot_bytes(deployment) == before

    report = deployment.run(NEXT_DAY)
    assert report.success, report.reason()
    assert_matches_oracle(deployment, NEXT_DAY, NEXT_DAY)

    manifest = json.loads(
        (deployment.snapshots / NEXT_DAY.isoformat() / "latest" / "manifest.json").read_text()
    )
    assert manifest["rows"] == len(published(deployment, NEXT_DAY))
    assert manifest["checks"], "the manifest lists the checks the day passed"
    assert manifest["warehouse"] == {"engine": "duckdb", "version": duckdb.__version__}
    assert all(c["passed"] or c["severity"] == "WARN" for c in manifest["checks"])

    # personal data never leaves the raw layer
    with duckdb.connect(str(deployment.warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema not in ('raw')"
        ).fetchall()
        assert not [c for c in columns if c[2] in {"email", "first_name", "last_name"}]
        raw_columns = {
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = 'hubspot_contacts'"
            ).fetchall()
        }
        assert "email_hash" in raw_columns and "email" not in raw_columns
    for day_folder in deployment.snapshots.iterdir():
        assert "@" not in (day_folder / "latest" / "kpis.csv").read_text()
