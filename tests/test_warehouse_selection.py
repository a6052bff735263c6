"""One setting picks the warehouse: KPI_WAREHOUSE as a DuckDB file or a PostgreSQL URL; dbt's
processes are handed its target and credentials, the environment is never written, and the
password never leaves it."""

from __future__ import annotations

import os

import pytest

from kpi_pipeline.settings import Settings, prepare_deployment
from kpi_pipeline.warehouse import postgres
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


def test_dbt_is_handed_the_postgres_target_and_the_environment_is_left_alone(
    tmp_path, monkeypatch
) -> None:
    url = "postgresql://analyst:s%40cret@db.example:6543/kpis"
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KPI_WAREHOUSE", url)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    before = dict(os.environ)

    settings = Settings.from_env()
    prepare_deployment(settings)
    env = settings.dbt_env()

    assert dict(os.environ) == before
    assert env["KPI_DBT_TARGET"] == "postgres"
    assert (env["KPI_PG_HOST"], env["KPI_PG_PORT"]) == ("db.example", "6543")
    assert (env["KPI_PG_USER"], env["KPI_PG_DBNAME"]) == ("analyst", "kpis")
    assert env["PGPASSWORD"] == "s@cret"  # libpq's variable, read by dbt-postgres
    assert env["KPI_WAREHOUSE"] == "postgresql://analyst@db.example:6543/kpis"
    assert env["DO_NOT_TRACK"] == "1"
    assert "s@cret" not in repr(settings)
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "cret" not in written


def test_without_a_password_in_the_url_dbt_gets_none_from_the_settings(tmp_path) -> None:
    env = {"KPI_DATA_DIR": str(tmp_path), "KPI_WAREHOUSE": "postgresql://analyst@db/kpis"}
    assert "PGPASSWORD" not in Settings.from_env(env).dbt_env()  # libpq's own, if any


def test_on_duckdb_dbt_gets_the_duckdb_target_whatever_the_environment(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("KPI_DBT_TARGET", "postgres")
    monkeypatch.setenv("KPI_WAREHOUSE", "w.duckdb")
    monkeypatch.chdir(tmp_path)
    env = Settings.from_env().dbt_env()
    assert env["KPI_DBT_TARGET"] == "duckdb"
    assert env["KPI_WAREHOUSE"] == str(tmp_path / "w.duckdb")  # absolute: dbt runs elsewhere
    assert os.environ["KPI_DBT_TARGET"] == "postgres"


def test_python_connections_take_the_password_of_the_configured_url(monkeypatch) -> None:
    seen = {}

    def fake_connect(dsn, **kwargs):
        seen.update(dsn=dsn, **kwargs)
        raise RuntimeError("no server here")

    monkeypatch.setattr(postgres.psycopg2, "connect", fake_connect)
    monkeypatch.setenv("KPI_WAREHOUSE", "postgresql://analyst:s%40cret@db.example:6543/kpis")
    kept = Settings.from_env({"KPI_WAREHOUSE": os.environ["KPI_WAREHOUSE"]}).warehouse_location
    with pytest.raises(RuntimeError), postgres.connect(kept):
        pass
    assert (seen["dsn"], seen["password"]) == (kept, "s@cret")
    # another database: not its password; libpq's PGPASSWORD applies
    seen.clear()
    with pytest.raises(RuntimeError), postgres.connect("postgresql://analyst@db.example/other"):
        pass
    assert "password" not in seen


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


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("Spark", "'Spark'"),
        ("warehouse", "'warehouse'"),
        ("mysql://analyst:s3cret@db.example/kpis", "a mysql:// URL"),
    ],
)
def test_an_unknown_warehouse_is_refused_with_the_accepted_forms(value, named) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"KPI_WAREHOUSE": value})
    said = str(refused.value)
    assert said.startswith(f"KPI_WAREHOUSE is {named}, which is not a warehouse")
    assert ".duckdb" in said and "postgresql://" in said and "KPI_WAREHOUSE=spark" in said
    assert "s3cret" not in said  # a URL is named by its scheme only


@pytest.mark.parametrize(
    "value",
    [
        "http://analyst:s3cret@spark.example:10001/cliservice",
        "https://dbc-1234.cloud.databricks.com:443/sql/protocolv1/o/0/s3cret",
    ],
)
def test_an_http_spark_endpoint_is_refused_pointing_at_the_forms_that_work(value) -> None:
    """dbt-spark's http method (Databricks SQL warehouses, a Thrift Server in HTTP mode) is
    not built: refused, naming the sc://, thrift:// and spark:// forms and the docs; the URL
    named by its scheme only."""
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"KPI_WAREHOUSE": value})
    said = str(refused.value)
    scheme = value.split("://")[0]
    assert said.startswith(f"KPI_WAREHOUSE is a {scheme}:// URL: a Spark endpoint over HTTP")
    assert "sc://HOST:15002" in said and "spark://HOST:7077" in said
    assert "thrift://HOST:10000" in said
    assert "docs/warehouses.md#a-spark-cluster" in said
    assert "s3cret" not in said and "example" not in said and "databricks.com" not in said


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sc://analyst:s3cret@spark.example:15002", "not a Spark Connect address"),
        ("sc://spark.example:15002;token=s3cret", "not a Spark Connect address"),
        ("spark://m", "not a standalone master's address"),
        ("spark://m:7077/s3cret", "not a standalone master's address"),
        ("thrift://analyst:s3cret@spark.example:10000", "not a Spark Thrift Server's address"),
        ("thrift://spark.example:10000/s3cret", "not a Spark Thrift Server's address"),
        ("thrift://spark.example:99999", "not a Spark Thrift Server's address"),
    ],
)
def test_a_malformed_cluster_address_is_refused_without_repeating_it(value, expected) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"KPI_WAREHOUSE": value})
    said = str(refused.value)
    assert expected in said
    assert "s3cret" not in said and "spark.example" not in said


def test_the_cli_refuses_it_in_one_line_and_creates_nothing(tmp_path, monkeypatch) -> None:
    """Before: KPI_WAREHOUSE=spark made a DuckDB file named `spark` (and its folders) in the
    working directory; any other unknown value still would without the refusal."""
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "KPI_WAREHOUSE": "sparky", "KPI_DATA_DIR": str(tmp_path / "data")}
    kpi = Path(sys.executable).parent / "kpi"
    result = subprocess.run(
        [str(kpi), "status"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "KPI_WAREHOUSE is 'sparky', which is not a warehouse" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no `sparky` file, no data folder


@pytest.mark.parametrize("name", ["w.duckdb", "w.DB", "nested/dir/kpi.db"])
def test_duckdb_file_names_are_accepted(tmp_path, name) -> None:
    settings = Settings.from_env({"KPI_WAREHOUSE": str(tmp_path / name)})
    assert settings.warehouse_backend == "duckdb"
