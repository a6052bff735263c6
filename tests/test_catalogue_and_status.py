from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml

from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue
from kpi_pipeline.settings import DBT_PROJECT_DIR, KPI_CATALOGUE_PATH

STATUS_MACRO = DBT_PROJECT_DIR / "macros" / "kpi_status.sql"


def test_shipped_catalogue_is_valid_and_covers_every_family() -> None:
    kpis = load_catalogue(KPI_CATALOGUE_PATH)
    assert {"session_conversion_rate", "net_revenue", "nps", "avg_order_processing_hours"} <= set(
        kpis
    )
    assert {k.family for k in kpis.values()} == {
        "marketing",
        "financial",
        "customer_satisfaction",
        "process",
    }


def _write(tmp_path: Path, entry: dict) -> Path:
    path = tmp_path / "kpis.yml"
    models = [
        {"id": "s", "model": "int_ga4__sessions", "description": "d", "key": "k", "date": "d"}
    ]
    metrics = [
        {"id": "m", "description": "a measure", "unit": "sessions", "semantic_model": "s"}
        | {"agg": "count"}
    ]
    path.write_text(
        yaml.safe_dump({"semantic_models": models, "metrics": metrics, "kpis": [entry]})
    )
    return path


BASE = {
    "id": "x",
    "name": "X",
    "family": "marketing",
    "description": "d",
    "objective": "o",
    "formula": {"numerator": "m"},
    "unit": "ratio",
    "direction": "higher_is_better",
    "owner": "me",
    "review_cadence": "weekly",
    "target": {"value": 1.0, "at_risk_tolerance": 0.1},
}


@pytest.mark.parametrize("missing", ["target", "owner", "review_cadence", "unit"])
def test_a_kpi_that_is_not_smart_is_refused_by_name(tmp_path: Path, missing: str) -> None:
    entry = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(CatalogueError, match=rf"KPI 'x': missing required field '{missing}'"):
        load_catalogue(_write(tmp_path, entry))


def test_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="field 'family' is 'sales'"):
        load_catalogue(_write(tmp_path, {**BASE, "family": "sales"}))


@pytest.mark.parametrize(
    ("direction", "value", "status"),
    [
        ("higher_is_better", 100.0, "on_track"),
        ("higher_is_better", 95.0, "at_risk"),  # within 10 % below a target of 100
        ("higher_is_better", 89.0, "off_track"),
        ("lower_is_better", 100.0, "on_track"),
        ("lower_is_better", 109.0, "at_risk"),
        ("lower_is_better", 111.0, "off_track"),
        ("higher_is_better", None, "no_data"),
    ],
)
def test_status_against_target(direction: str, value, status: str) -> None:
    """The rule as the pipeline holds it, once: the SQL of macros/kpi_status.sql, run."""
    assert sql_status(value, 100.0, direction, 0.1) == status


def sql_status(value, target, direction: str, tolerance: float) -> str:
    macros = jinja2.Environment().from_string(STATUS_MACRO.read_text())
    case = macros.module.kpi_status("value", "target", "direction", "tolerance")
    [(found,)] = duckdb.sql(
        f"select {case} from (select ?::double as value, ?::double as target, "
        "?::text as direction, ?::double as tolerance)",
        params=[value, target, direction, tolerance],
    ).fetchall()
    return found


def test_no_target_is_no_target_and_the_tolerance_scales_with_the_target() -> None:
    assert sql_status(5.0, None, "higher_is_better", 0.1) == "no_target"
    assert sql_status(-95.0, -100.0, "lower_is_better", 0.1) == "at_risk"  # -100 + 10
    assert sql_status(-89.0, -100.0, "lower_is_better", 0.1) == "off_track"
