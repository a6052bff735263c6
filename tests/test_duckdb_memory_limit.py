"""KPI_DUCKDB_MEMORY_LIMIT bounds what DuckDB holds in memory, in the pipeline's own
connections and in dbt's, so a long backfill does not grow to DuckDB's default of 80 % of the
machine (the 365-day backfill's GA4 check reached 8.6 GiB without it: docs/benchmarks.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings
from kpi_pipeline.warehouse import connect
from kpi_pipeline.warehouse.duckdb_file import DEFAULT_MEMORY_LIMIT, memory_limit
from tests.dbt_cli import run_dbt


def duckdb_says(amount: str) -> str:
    """How DuckDB itself shows `amount` as its memory_limit (an independent reading)."""
    con = duckdb.connect()
    try:
        con.execute(f"set memory_limit = '{amount}'")
        return con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def test_the_default_is_four_gigabytes_not_duckdbs_share_of_the_machine() -> None:
    assert memory_limit({}) == DEFAULT_MEMORY_LIMIT == "4GB"
    assert Settings.from_env({}).dbt_env()["KPI_DUCKDB_MEMORY_LIMIT"] == "4GB"


def test_dbt_run_by_hand_falls_back_to_the_same_default() -> None:
    """dbt started without the pipeline (no KPI_DUCKDB_MEMORY_LIMIT in its environment) reads
    profiles.yml's fallback: it must be the pipeline's own default, not a second copy drifting."""
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    setting = profiles["kpi_pipeline"]["outputs"]["duckdb"]["settings"]["memory_limit"]
    fallback = re.fullmatch(r"\{\{ env_var\('KPI_DUCKDB_MEMORY_LIMIT', '([^']*)'\) \}\}", setting)
    assert fallback is not None, setting
    assert fallback.group(1) == DEFAULT_MEMORY_LIMIT


@pytest.mark.parametrize("amount", ["512MB", "2GiB", " 1.5GB ", "300mb"])
def test_amounts_with_a_unit_are_taken(amount: str) -> None:
    assert memory_limit({"KPI_DUCKDB_MEMORY_LIMIT": amount}) == amount.strip()


@pytest.mark.parametrize("amount", ["4", "lots", "0GB", "-1GB", "80%", ""])
def test_anything_else_is_refused_in_words(amount: str) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"KPI_DUCKDB_MEMORY_LIMIT": amount})
    said = str(refused.value)
    assert said.startswith(f"KPI_DUCKDB_MEMORY_LIMIT={amount!r} is not an amount of memory")
    assert "e.g. KPI_DUCKDB_MEMORY_LIMIT=4GB" in said


def test_the_pipelines_connections_hold_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPI_DUCKDB_MEMORY_LIMIT", "256MB")
    with connect(tmp_path / "w.duckdb") as con:
        held = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert held == duckdb_says("256MB")
    assert held != duckdb_says("4GB")


def test_dbt_is_handed_it(tmp_path: Path) -> None:
    """dbt's own DuckDB connection (profiles.yml `settings`) holds the deployment's limit."""
    settings = Settings.from_env(
        {"KPI_WAREHOUSE": str(tmp_path / "w.duckdb"), "KPI_DUCKDB_MEMORY_LIMIT": "384MB"}
    )
    shown = run_dbt(
        ["show", "--inline", "select current_setting('memory_limit') as held", "--output", "json"],
        tmp_path / "w.duckdb",
        tmp_path,
        env=settings.dbt_env(),
    )
    assert shown.returncode == 0, shown.stdout
    assert f'"held": "{duckdb_says("384MB")}"' in shown.stdout


def test_the_cli_refuses_a_bad_limit_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KPI_DATA_DIR": str(tmp_path / "data"),
        "KPI_DUCKDB_MEMORY_LIMIT": "plenty",
    }
    kpi = Path(sys.executable).parent / "kpi"
    result = subprocess.run(
        [str(kpi), "status"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "KPI_DUCKDB_MEMORY_LIMIT='plenty' is not an amount of memory" in result.stderr
    assert "Traceback" not in result.stderr
