"""One setting picks the warehouse: KPI_WAREHOUSE as a DuckDB file or a PostgreSQL URL; the
password never leaves the environment."""

from __future__ import annotations

import os

import pytest

from kpi_pipeline.settings import Settings, prepare_environment
from kpi_pipeline.warehouse.postgres import column_type, to_pyformat


def test_a_file_path_selects_duckdb(tmp_path) -> None:
    settings = Settings.from_env({"KPI_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert settings.warehouse_backend == "duckdb"
    assert settings.warehouse_location == str(tmp_path / "w.duckdb")


def test_a_postgres_url_selects_postgres_without_keeping_the_password(tmp_path) -> None:
    env = {
        "KPI_DATA_DIR": str(tmp_path),
        "KPI_WAREHOUSE": "postgresql://analyst:s%40cret@db.example:6543/kpis",
    }
    settings = Settings.from_env(env)
    assert settings.warehouse_backend == "postgres"
    assert settings.warehouse_location == "postgresql://analyst@db.example:6543/kpis"
    assert "s%40cret" not in repr(settings) and "s@cret" not in repr(settings)
    # local artefacts (dbt target, GX docs, failure reports) stay in the data folder
    assert settings.dbt_target_dir == tmp_path.absolute() / "dbt_target"


def test_prepare_environment_hands_dbt_the_postgres_target(tmp_path, monkeypatch) -> None:
    url = "postgresql://analyst:s%40cret@db.example:6543/kpis"
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KPI_WAREHOUSE", url)
    for name in ("PGPASSWORD", "PGTZ", "KPI_DBT_TARGET", "KPI_PG_HOST", "KPI_PG_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KPI_PG_USER", raising=False)
    monkeypatch.delenv("KPI_PG_DBNAME", raising=False)

    prepare_environment(Settings.from_env())

    assert os.environ["KPI_DBT_TARGET"] == "postgres"
    assert (os.environ["KPI_PG_HOST"], os.environ["KPI_PG_PORT"]) == ("db.example", "6543")
    assert (os.environ["KPI_PG_USER"], os.environ["KPI_PG_DBNAME"]) == ("analyst", "kpis")
    assert os.environ["PGPASSWORD"] == "s@cret"  # libpq's variable, read by dbt and psycopg2
    assert os.environ["KPI_WAREHOUSE"] == "postgresql://analyst@db.example:6543/kpis"
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "cret" not in written


def test_back_on_duckdb_the_dbt_target_follows(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KPI_DBT_TARGET", "postgres")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KPI_WAREHOUSE", str(tmp_path / "w.duckdb"))
    prepare_environment(Settings.from_env())
    assert os.environ["KPI_DBT_TARGET"] == "duckdb"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from t where a = ? and b = ?", "select * from t where a = %s and b = %s"),
        ("select '?', ? where x like '%a'", "select '?', %s where x like '%%a'"),
        ('select "why?" from t where c = ?', 'select "why?" from t where c = %s'),
    ],
)
def test_placeholders_become_psycopg2_style_outside_literals(sql: str, expected: str) -> None:
    assert to_pyformat(sql) == expected


def test_raw_column_types_on_postgres() -> None:
    assert column_type("DOUBLE") == "DOUBLE PRECISION"
    assert column_type("STRUCT(country VARCHAR)") == "JSONB"
    assert column_type("STRUCT(key VARCHAR, value STRUCT(int_value VARCHAR))[]") == "JSONB"
    assert column_type("TIMESTAMPTZ") == "TIMESTAMPTZ"
