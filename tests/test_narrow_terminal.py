"""The tables stay readable in an 80-column terminal: no word is broken across lines
(issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.test_kpi_show import warehouse  # noqa: F401  (the hand-made marts)


@pytest.mark.parametrize("width", [80, 60, 200])
def test_kpi_list_breaks_no_word_at_any_width(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    from kpi_pipeline.cli import common

    monkeypatch.setattr(common.console, "width", width)
    result = CliRunner().invoke(app, ["list"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= width
    words = set(result.output.split())
    for kpi in load_catalogue(KPI_CATALOGUE_PATH).values():
        assert kpi.id in words  # what users type, whole on its line
        assert set(kpi.family.replace("_", " ").split()) <= words
        if width >= 80:
            assert kpi.owner in words
    if width == 200:
        assert {"cadence", "unit", "weekly", "monthly"} <= words  # nothing left out


@pytest.mark.parametrize(
    ("args", "whole"),
    [
        (["net_revenue"], {"2025-03-03", "9,000.00", "8,000.00", "on_track", "at_risk"}),
        (["net_revenue", "--grain", "week"], {"2025-03-03", "16,600.00", "off_track"}),
        (
            ["organic_traffic", "--grain", "month", "--by", "source"],
            {"2025-03", "(all)", "bing", "910.0", "210.0", "no_target"},
        ),
    ],
)
@pytest.mark.usefixtures("warehouse")
def test_kpi_show_fits_80_columns_with_every_value_whole(
    monkeypatch: pytest.MonkeyPatch, args: list[str], whole: set[str]
) -> None:
    from kpi_pipeline.cli import common

    monkeypatch.setattr(common.console, "width", 80)
    result = CliRunner().invoke(app, ["show", *args])

    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert whole <= set(result.output.split())
    assert "…" not in result.output  # nothing cut short
