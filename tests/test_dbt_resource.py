"""The pipeline's dbt resource skips dagster-dbt's per-run `dbt --version` and adapter, and
hands dbt the environment it is given without leaving it in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from kpi_pipeline.transform.dbt_child import PARENT_ENV
from kpi_pipeline.transform.project import DBT_EXECUTABLE, dbt_project
from kpi_pipeline.transform.resource import KpiDbtCliResource


def test_version_is_the_installed_dbt_and_no_adapter_is_built() -> None:
    resource = KpiDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True)
    assert str(resource._cli_version) == version("dbt-core")
    assert f"installed: {version('dbt-core')}" in printed.stdout
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_cli_hands_dbt_its_environment_and_leaves_this_one_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_file = tmp_path / "env.json"
    fake_dbt = tmp_path / "fake-dbt"  # records the environment it was started with
    fake_dbt.write_text(
        f"#!{sys.executable}\nimport json, os\n"
        f"open({str(seen_file)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
    )
    fake_dbt.chmod(0o755)
    monkeypatch.setenv("KPI_DBT_KPIS", "kpi_a")  # unset for dbt below
    before = dict(os.environ)

    resource = KpiDbtCliResource(project_dir=dbt_project, dbt_executable=str(fake_dbt))
    env = {"KPI_DBT_TARGET": "postgres", "PGPASSWORD": "s@cret", "KPI_DBT_KPIS": None}
    resource.cli(["build"], target_path=tmp_path / "target", env=env).wait()

    assert dict(os.environ) == before
    seen = json.loads(seen_file.read_text())
    assert (seen["KPI_DBT_TARGET"], seen["PGPASSWORD"]) == ("postgres", "s@cret")
    assert "KPI_DBT_KPIS" not in seen
    assert seen[PARENT_ENV] == str(os.getpid())  # kpi-dbt dies with this process
