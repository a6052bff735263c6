"""Check kpis.yml against the dbt project: every semantic model on a dbt model (or seed)
that exists, every column it names (key, date, dimensions, a metric's date, the columns
of a metric's `expr` and `filter`) declared by that model, so a typo is refused by
`kpi validate`, naming its line, before dbt fails on it mid-run.

A model's columns are the `columns:` its YAML declares (dbt_project/models/**/*.yml); a
seed's are its CSV header.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from kpi_pipeline.kpis.catalogue import (
    YAML_LOADER,
    Catalogue,
    CatalogueError,
    Metric,
    SemanticModel,
    load_full_catalogue,
)
from kpi_pipeline.settings import DBT_PROJECT_DIR

AGG_VERBS = {"sum": "sums", "count": "counts", "count_distinct": "counts distinct"}


@dataclass(frozen=True)
class DbtRelation:
    """A dbt model or seed: its declared columns (empty: none declared) and where a user
    declares them."""

    name: str
    columns: tuple[str, ...]
    # the YAML declaring it (a model's .sql when no YAML does), or the seed's CSV
    declared_in: str


def _yaml_columns(project_dir: Path) -> dict[str, tuple[tuple[str, ...], Path]]:
    """Model name -> (its declared columns, the YAML file declaring it)."""
    found: dict[str, tuple[tuple[str, ...], Path]] = {}
    for path in sorted((project_dir / "models").rglob("*.yml")):
        document = yaml.load(path.read_text(), Loader=YAML_LOADER) or {}
        entries = document.get("models") if isinstance(document, dict) else None
        for entry in entries or []:
            if not isinstance(entry, dict) or "name" not in entry:
                continue
            names = [c["name"] for c in entry.get("columns") or [] if isinstance(c, dict)]
            found[str(entry["name"])] = (tuple(str(n).lower() for n in names), path)
    return found


def read_dbt_relations(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, DbtRelation]:
    """Every model (a .sql or .py file under models/) and seed (a .csv under seeds/) of
    the dbt project, by name, with the columns it declares."""
    declared = _yaml_columns(project_dir)
    shown_root = project_dir.parent
    relations: dict[str, DbtRelation] = {}
    for path in sorted((project_dir / "models").rglob("*")):
        if path.suffix not in (".sql", ".py"):
            continue
        columns, yaml_path = declared.get(path.stem, ((), None))
        where = yaml_path or path  # undeclared: in a YAML file beside the model
        relations[path.stem] = DbtRelation(path.stem, columns, str(where.relative_to(shown_root)))
    for path in sorted((project_dir / "seeds").rglob("*.csv")):
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
        relations[path.stem] = DbtRelation(
            path.stem,
            tuple(h.strip().lower() for h in header),
            str(path.relative_to(shown_root)),
        )
    return relations


def sql_columns(text: str) -> list[str]:
    """The column names a SQL expression reads, in order (functions, keywords and string
    literals left out); raises ValueError when it is not SQL."""
    # sqlglot comes with dagster-dbt and dbt-metricflow; imported here, where it is needed
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as err:
        where = err.errors[0] if err.errors else {}
        raise ValueError(f"stuck at: {where.get('highlight', text)}") from err
    except sqlglot.errors.SqlglotError as err:
        raise ValueError(str(err).splitlines()[0]) from err
    if tree.find(exp.Alias):  # `net_amount eur` reads as an alias: a missing operator
        raise ValueError("two names in a row: an operator is missing")
    return list(dict.fromkeys(c.name.lower() for c in tree.find_all(exp.Column, bfs=False)))


def _entries_by_id(root: yaml.Node | None, key: str) -> dict[str, yaml.MappingNode]:
    """The items of the top-level list `key`, by their `id`."""
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key_node, value_node in root.value:
        if key_node.value == key and isinstance(value_node, yaml.SequenceNode):
            return {
                _scalar(item, "id"): item
                for item in value_node.value
                if isinstance(item, yaml.MappingNode)
            }
    return {}


def _scalar(node: yaml.MappingNode, field: str) -> str:
    for key_node, value_node in node.value:
        if key_node.value == field and isinstance(value_node, yaml.ScalarNode):
            return str(value_node.value)
    return ""


def _line(node: yaml.Node | None, *path: str) -> int:
    """1-based line of the field `path` inside `node` (a mapping key, or a list item
    equal to it); the deepest part found when the rest is not there."""
    if node is None:
        return 0
    line = node.start_mark.line + 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode):
            child = next((i for i in node.value if getattr(i, "value", None) == part), None)
        if child is None:
            return line
        node, line = child, child.start_mark.line + 1
    return line


def _not_a_column(relation: DbtRelation, fix: str) -> str:
    return (
        f"which is not a column of {relation.name} (its columns: "
        f"{', '.join(relation.columns)}). Fix {fix} or add the column to the model "
        f"({relation.declared_in})."
    )


def _relation_errors(
    model: SemanticModel, relations: dict[str, DbtRelation], at: str
) -> Iterator[str]:
    """The semantic model's dbt model exists and declares its columns."""
    where = f"{at}: semantic model '{model.id}'"
    relation = relations.get(model.model)
    if relation is None:
        close = difflib.get_close_matches(model.model, relations, n=1)
        guess = f" (did you mean {close[0]}?)" if close else ""
        yield (
            f"{where} is on '{model.model}', which is no model or seed of the dbt project"
            f"{guess}. Fix 'model' or add the model under dbt_project/models."
        )
    elif not relation.columns:
        yield (
            f"{where} is on {model.model}, which declares no columns, so its fields cannot "
            f"be checked. List each column of the model under its 'columns:' "
            f"({relation.declared_in})."
        )


def _model_column_errors(
    model: SemanticModel, relation: DbtRelation, node: yaml.Node | None, path: str
) -> Iterator[str]:
    where = f"semantic model '{model.id}'"
    fields = [(f"key '{model.key}'", model.key, ("key",))]
    fields += [(f"date '{model.date}'", model.date, ("date",))]
    fields += [
        (
            f"dimension '{name}'" + (f" on column '{column}'" if column != name else ""),
            column,
            ("dimensions", name),
        )
        for name, column in model.dimensions
    ]
    for label, column, field in fields:
        if column.lower() not in relation.columns:
            fix = "'dimensions'" if field[0] == "dimensions" else f"'{field[0]}'"
            yield f"{path}:{_line(node, *field)}: {where} has {label}, " + _not_a_column(
                relation, fix
            )


def _metric_errors(
    metric: Metric, relation: DbtRelation, node: yaml.Node | None, path: str
) -> Iterator[str]:
    where = f"metric '{metric.id}'"
    if metric.date is not None and metric.date.lower() not in relation.columns:
        yield (
            f"{path}:{_line(node, 'date')}: {where} is dated by '{metric.date}', "
            + _not_a_column(relation, "its 'date'")
        )
    uses = (("expr", metric.expr, AGG_VERBS[metric.agg]), ("filter", metric.filter, "filters on"))
    for field, sql, verb in uses:
        if sql is None:
            continue
        at = f"{path}:{_line(node, field)}: {where}"
        try:
            columns = sql_columns(sql)
        except ValueError as err:
            yield f"{at}: its {field} {sql!r} is not valid SQL ({err}). Fix the {field}."
            continue
        for column in columns:
            if column not in relation.columns:
                yield f"{at} {verb} '{column}', " + _not_a_column(relation, f"the {field}")


def column_errors(
    catalogue: Catalogue, text: str, path: str, relations: dict[str, DbtRelation]
) -> list[str]:
    """Each place where `catalogue` (parsed from `text`, the file `path`) names a dbt
    model or a column the dbt project does not declare, one message per mistake, each
    starting with `path:line`."""
    try:
        root = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        root = None
    model_nodes = _entries_by_id(root, "semantic_models")
    metric_nodes = _entries_by_id(root, "metrics")
    errors: list[str] = []
    checked: dict[str, DbtRelation] = {}  # semantic model id -> its relation, when usable
    for model in catalogue.models.values():
        node = model_nodes.get(model.id)
        found = list(_relation_errors(model, relations, f"{path}:{_line(node, 'model')}"))
        errors += found
        if not found:
            checked[model.id] = relations[model.model]
            errors += _model_column_errors(model, checked[model.id], node, path)
    for metric in catalogue.metrics.values():
        if metric.on in checked:
            node = metric_nodes.get(metric.id)
            errors += _metric_errors(metric, checked[metric.on], node, path)
    return errors


def refuse_unknown_columns(
    catalogue_path: Path, catalogue: Catalogue | None = None, project_dir: Path = DBT_PROJECT_DIR
) -> None:
    """Raise CatalogueError listing every dbt model or column the catalogue of
    `catalogue_path` (`catalogue`, when already loaded) names that the dbt project of
    `project_dir` does not declare."""
    if catalogue is None:
        catalogue = load_full_catalogue(catalogue_path)
    text = Path(catalogue_path).read_text()
    errors = column_errors(catalogue, text, str(catalogue_path), read_dbt_relations(project_dir))
    if errors:
        raise CatalogueError("\n".join(errors))
