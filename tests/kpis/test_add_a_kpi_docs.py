"""The "Add a KPI" walk-through of docs/kpis.md holds: its YAML block is a valid KPI over
the shipped catalogue, its `kpi validate` and `kpi list` commands succeed on a copy of the
project with the block added, and its example error is what `kpi validate` prints for
that mistake. The pipeline commands of the page run in tests/kpis/test_add_a_kpi.py (e2e)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kpi_pipeline.kpis.catalogue import load_full_catalogue
from kpi_pipeline.kpis.model_columns import refuse_unknown_columns
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.kpis.walkthrough import add_a_kpi, copy_project, kpi

# the page's commands that need no data; the others run in test_add_a_kpi.py
NO_DATA = ("validate", "list")


def test_the_block_is_one_valid_kpi(tmp_path: Path) -> None:
    steps = add_a_kpi()
    [entry] = yaml.safe_load(steps.kpi_block)
    path = tmp_path / "kpis.yml"
    path.write_text(KPI_CATALOGUE_PATH.read_text() + steps.kpi_block)
    catalogue = load_full_catalogue(path)
    refuse_unknown_columns(path, catalogue)
    assert list(catalogue.kpis)[-1] == entry["id"] == "revenue_per_session"


def test_the_commands_without_data_succeed_on_a_copy(tmp_path: Path) -> None:
    steps = add_a_kpi()
    project = copy_project(tmp_path / "project")
    catalogue = project / "kpis.yml"
    catalogue.write_text(catalogue.read_text() + steps.kpi_block)
    data = tmp_path / "data"

    stale = kpi(project, data, "validate")
    assert stale.returncode == 1, stale.stdout + stale.stderr  # derived files not written yet
    ran = [args for args in steps.commands if args[0] in NO_DATA]
    assert ["validate", "--write-seed"] in ran
    for args in ran:
        done = kpi(project, data, *args)
        assert done.returncode == 0, f"kpi {' '.join(args)}: {done.stdout}{done.stderr}"
    assert "revenue_per_session" in (project / "dbt_project/seeds/kpi_catalogue.csv").read_text()
    checked = kpi(project, data, "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_example_error_is_what_validate_prints(tmp_path: Path) -> None:
    steps = add_a_kpi()
    column = re.search(r"sums '(\w+)'", steps.error_example)
    metric = re.search(r"metric '(\w+)'", steps.error_example)
    assert column and metric
    lines = KPI_CATALOGUE_PATH.read_text().splitlines(keepends=True)
    start = lines.index(f"  - id: {metric[1]}\n")
    index = next(i for i in range(start, len(lines)) if lines[i].startswith("    expr: "))
    lines[index] = f"    expr: {column[1]}\n"
    project = copy_project(tmp_path / "project")
    (project / "kpis.yml").write_text("".join(lines))

    done = kpi(project, tmp_path / "data", "validate", "--path", "kpis.yml", "--write-seed")
    assert done.returncode == 2
    printed = " ".join(done.stderr.split())  # Rich wraps at the terminal's width
    assert printed == " ".join(steps.error_example.split()).replace(
        "kpis.yml:179:", f"kpis.yml:{index + 1}:"
    )
    assert "Traceback" not in done.stderr
