"""`make demo` (`kpi demo`) leaves dbt's docs where the README says: after the backfill it
writes them to `<data>/dbt_docs/` (`data/dbt_docs/static_index.html` by default), the folder
`make docs` and the docs job write; the backfill and the docs themselves are stood in for."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.orchestration.dbt_docs import dbt_docs_dir
from kpi_pipeline.settings import PROJECT_ROOT, Settings


def test_the_readme_names_the_default_docs_folder() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "`data/dbt_docs/static_index.html`" in readme
    assert dbt_docs_dir(Settings.from_env({})) == Path("data/dbt_docs").absolute()


def test_kpi_demo_writes_the_dbt_docs_after_the_backfill(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kpi_pipeline.orchestration.dbt_docs as dbt_docs
    import kpi_pipeline.sample as sample

    demo = importlib.import_module("kpi_pipeline.cli.demo")  # the package exports the command
    steps: list[str] = []
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)

    def backfill(first: dt.date, last: dt.date) -> int:
        steps.append("backfill")
        folder = cli_env / "snapshots" / str(last) / "latest"
        folder.mkdir(parents=True)
        row = {"date": [last], "kpi_id": ["nps"], "family": ["customer_satisfaction"]}
        row |= {"dimension": ["all"], "value": [40.0], "target": [30.0], "status": ["on_track"]}
        pl.DataFrame(row).write_parquet(folder / "kpis.parquet")
        return 0

    def docs(settings: Settings) -> Path:
        steps.append("docs")
        folder = dbt_docs_dir(settings)
        folder.mkdir(parents=True)
        (folder / "static_index.html").write_text("<html></html>")
        return folder

    monkeypatch.setattr(sample, "generate_sample", lambda *args, **kwargs: steps.append("sample"))
    monkeypatch.setattr(demo, "run_range", backfill)
    monkeypatch.setattr(dbt_docs, "generate_dbt_docs", docs)

    result = CliRunner().invoke(app, ["demo", "--days", "2"])

    assert result.exit_code == 0, result.output
    assert steps == ["sample", "backfill", "docs"]
    written = cli_env / "dbt_docs" / "static_index.html"
    assert written.is_file()
    assert str(written) in result.output
    assert f"KPIs of {yesterday}" in result.output
