"""Settings never write `os.environ`: dbt's processes are handed the deployment's target and
credentials, Dagster's instance is opened from the settings' Dagster home, and nothing a
test configures can leak into the next test through the environment."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app

DAY = dt.date(2025, 6, 2)


@pytest.mark.e2e
def test_settings_definitions_and_dbt_runs_leave_the_environment_as_it_was(
    cli_env: Path,
) -> None:
    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.orchestration.dagster_private import open_instance_at
    from kpi_pipeline.orchestration.dbt_docs import generate_dbt_docs
    from kpi_pipeline.settings import Settings
    from kpi_pipeline.warehouse import connect

    # the deployment is KPI_DATA_DIR alone: no DAGSTER_HOME, KPI_WAREHOUSE or dbt variable
    assert not {"DAGSTER_HOME", "KPI_WAREHOUSE", "KPI_DBT_TARGET"} & set(os.environ)
    before = dict(os.environ)

    settings = Settings.from_env()
    build_definitions(settings)
    runner = CliRunner()
    sampled = runner.invoke(
        app, ["sample", "--start", str(DAY), "--end", str(DAY), "--scale", "0.02"]
    )
    assert sampled.exit_code == 0, sampled.output
    published = runner.invoke(app, ["run", "--date", str(DAY)])  # dbt build, through kpi-dbt
    assert published.exit_code == 0, published.output
    docs = generate_dbt_docs(settings)  # dbt docs generate

    assert dict(os.environ) == before
    # dbt wrote the deployment's warehouse, which only the environment it was given names
    # (profiles.yml's default is the repository's data/warehouse.duckdb)
    with connect(settings.warehouse_location, read_only=True) as con:
        facts = con.execute("select count(*) from marts.fct_kpi_daily").fetchone()[0]
    assert facts > 0
    assert (docs / "static_index.html").exists()
    # the CLI recorded the run in the deployment's Dagster home without DAGSTER_HOME
    with open_instance_at(settings.dagster_home) as instance:
        assert instance.get_runs_count() == 1
