"""Everything that follows from kpis.yml, derived: nobody edits these files by hand.

- `dbt_project/macros/generated/kpi_catalogue.sql`: the catalogue as data for dbt's Jinja
  (semantic models, metrics with their sources, KPI formulas and chains). The macros in
  `macros/kpi_facts.sql` generate the daily facts, the roll-ups, the attainment's last-year
  recount and the chains' metric facts (`fct_metric_daily`) from it, so no KPI is written
  by hand in SQL.
- `dbt_project/seeds/kpi_catalogue.csv` (behind `dim_kpi`), `kpi_sources.csv` and
  `kpi_targets.csv` (each target with the days it is in force).
- `dbt_project/models/marts/semantic/_kpi_metrics.yml`: the MetricFlow metrics over the
  daily facts, and `_kpi_semantic_models.yml`: the semantic models (and metrics) of the
  KPIs recounted from their entities (a distinct count); see `semantic.py`.
- `expectations/fct_kpi_daily.json`: the GX suite of the daily facts, each KPI's value
  range included (`fact_expectations.py`).

`sync` writes the files whose text differs (the pipeline calls it when its definitions
load, `kpi validate --write-seed` on demand); `stale` lists them without writing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from kpi_pipeline.deployment import GROUPS
from kpi_pipeline.kpis.catalogue import Catalogue, load_full_catalogue, terms
from kpi_pipeline.kpis.fact_expectations import facts_suite_json
from kpi_pipeline.kpis.seed import seed_csv, sources_csv, targets_csv
from kpi_pipeline.kpis.semantic import models_yaml, semantic_yaml
from kpi_pipeline.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR

CATALOGUE_MACRO = Path("macros") / "generated" / "kpi_catalogue.sql"
CATALOGUE_SEED = Path("seeds") / "kpi_catalogue.csv"
SOURCES_SEED = Path("seeds") / "kpi_sources.csv"
TARGETS_SEED = Path("seeds") / "kpi_targets.csv"
METRICS_YAML = Path("models") / "marts" / "semantic" / "_kpi_metrics.yml"
SEMANTIC_MODELS_YAML = Path("models") / "marts" / "semantic" / "_kpi_semantic_models.yml"
FACTS_SUITE = Path("fct_kpi_daily.json")  # under expectations/, not the dbt project


def catalogue_data(catalogue: Catalogue) -> dict:
    """What the dbt macros need, as plain data."""
    return {
        "semantic_models": {
            m.id: {"relation": m.model, "date": m.date, "dimensions": m.dimension_columns}
            for m in catalogue.models.values()
        },
        "metrics": {
            m.id: {
                "semantic_model": m.on,
                "agg": m.agg,
                "expr": m.expr,
                "filter": m.filter,
                "date": m.date or catalogue.models[m.on].date,
                "additive": m.is_additive,
                # each source requirement and the landing-zone sources meeting it: a day
                # one of them got no file has no value (fct_metric_daily), never a zero
                "sources": {s: list(GROUPS.get(s, (s,))) for s in m.sources},
            }
            for m in catalogue.metrics.values()
        },
        "kpis": [
            {
                "id": k.id,
                "numerator": [[sign, name] for sign, name in terms(k.formula.numerator)],
                "denominator": [[sign, name] for sign, name in terms(k.formula.denominator)],
                "dimensions": list(k.dimensions),
                "additive": all(catalogue.metrics[m].is_additive for m in k.formula.metrics()),
                "chain": [
                    {"name": f.name, "numerator": f.numerator, "denominator": f.denominator}
                    for f in k.chain
                ],
            }
            for k in catalogue.kpis.values()
        ],
    }


def _jinja_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def catalogue_macro(catalogue: Catalogue) -> str:
    """The generated macro file's exact text."""
    data = json.dumps(catalogue_data(catalogue), indent=1, sort_keys=False)
    return (
        "{#- Generated from kpis.yml by kpi_pipeline/kpis/derive.py; do not edit by hand.\n"
        "    The KPI catalogue as data for the macros of macros/kpi_facts.sql. -#}\n"
        "{% macro kpi_catalogue() -%}\n"
        f"    {{{{ return(fromjson({_jinja_string(data)})) }}}}\n"
        "{%- endmacro %}\n"
    )


def derived_files(catalogue: Catalogue) -> dict[Path, str]:
    """Each derived file (relative to the dbt project) and its exact text."""
    return {
        CATALOGUE_MACRO: catalogue_macro(catalogue),
        CATALOGUE_SEED: seed_csv(catalogue.kpis),
        SOURCES_SEED: sources_csv(catalogue.kpis, catalogue.metrics),
        TARGETS_SEED: targets_csv(catalogue.kpis),
        METRICS_YAML: semantic_yaml(catalogue),
        SEMANTIC_MODELS_YAML: models_yaml(catalogue),
    }


def derived_suites(catalogue: Catalogue) -> dict[Path, str]:
    """Each derived GX suite (relative to `expectations/`) and its exact text."""
    return {FACTS_SUITE: facts_suite_json(catalogue)}


def _derived_paths(
    catalogue_path: Path, project_dir: Path, expectations_dir: Path
) -> dict[Path, str]:
    catalogue = load_full_catalogue(catalogue_path)
    return {
        **{project_dir / p: text for p, text in derived_files(catalogue).items()},
        **{expectations_dir / p: text for p, text in derived_suites(catalogue).items()},
    }


def stale(
    catalogue_path: Path,
    project_dir: Path = DBT_PROJECT_DIR,
    expectations_dir: Path = EXPECTATIONS_DIR,
) -> list[Path]:
    """The derived files that do not match `catalogue_path` (raises CatalogueError)."""
    files = _derived_paths(catalogue_path, project_dir, expectations_dir)
    return [path for path, text in files.items() if not path.is_file() or path.read_text() != text]


def sync(
    catalogue_path: Path,
    project_dir: Path = DBT_PROJECT_DIR,
    expectations_dir: Path = EXPECTATIONS_DIR,
) -> list[Path]:
    """Write the derived files that differ; the paths written (raises CatalogueError)."""
    written = []
    for path, text in _derived_paths(catalogue_path, project_dir, expectations_dir).items():
        if path.is_file() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        # another process may sync at the same time: each writes its own file, then
        # renames it into place (the same text either way)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(tmp, path)
        written.append(path)
    return written
