"""`kpi validate` refuses a catalogue naming a dbt model or column the dbt project does not
declare, naming the line (issue 14): each kind of mistake made in a copy of the shipped
kpis.yml, the exact message, exit 2, no traceback; `kpi run` refuses it before running."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.kpis.catalogue import CatalogueError
from kpi_pipeline.kpis.model_columns import read_dbt_relations, refuse_unknown_columns, sql_columns
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.landing_files import write_csv

INTERMEDIATE_YAML = "dbt_project/models/intermediate/_intermediate__models.yml"
ORDERS = (
    "order_id, contact_id, placed_at, placed_date, fulfilled_at, fulfilled_date, "
    "processing_hours, order_status, is_cancelled, net_amount, currency, last_extract_date"
)
SESSIONS = (
    "session_key, user_pseudo_id, session_started_at, session_date, session_source, "
    "session_medium, session_campaign, country, device_category, events, is_converted, channel"
)
ATTRIBUTION = (
    "order_id, placed_date, net_amount, is_cancelled, session_key, channel, campaign, is_paid"
)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for a whole message line: Rich would break a long tmp path mid-word."""
    from kpi_pipeline.cli import common

    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", 1000)


def with_mistake(tmp_path: Path, block: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of the shipped kpis.yml with `old` replaced by `new` in the first line holding
    it at or after the line `block` (e.g. '- id: net_revenue'); the copy and that line."""
    lines = KPI_CATALOGUE_PATH.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == block)
    index = next(i for i in range(start, len(lines)) if old in lines[i])
    lines[index] = lines[index].replace(old, new, 1)
    path = tmp_path / "kpis.yml"
    path.write_text("".join(lines))
    return path, index + 1


def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", "--path", str(path)])
    return result.exit_code, " ".join(result.output.split())  # Rich wraps long lines


def not_a_column(model: str, columns: str, fix: str) -> str:
    return (
        f"which is not a column of {model} (its columns: {columns}). Fix {fix} or add the "
        f"column to the model ({INTERMEDIATE_YAML})."
    )


MISTAKES = {
    "model": (
        "- id: orders",
        "model: int_orders__orders",
        "model: int_order__orders",
        "semantic model 'orders' is on 'int_order__orders', which is no model or seed of "
        "the dbt project (did you mean int_orders__orders?). Fix 'model' or add the model "
        "under dbt_project/models.",
    ),
    "key": (
        "- id: orders",
        "key: order_id",
        "key: order_number",
        "semantic model 'orders' has key 'order_number', "
        + not_a_column("int_orders__orders", ORDERS, "'key'"),
    ),
    "date": (
        "- id: orders",
        "date: placed_date",
        "date: order_date",
        "semantic model 'orders' has date 'order_date', "
        + not_a_column("int_orders__orders", ORDERS, "'date'"),
    ),
    "dimension column": (
        "- id: sessions",
        "source: session_source}",
        "source: traffic_source}",
        "semantic model 'sessions' has dimension 'source' on column 'traffic_source', "
        + not_a_column("int_ga4__sessions", SESSIONS, "'dimensions'"),
    ),
    "dimension": (
        "- id: order_attributions",
        "dimensions: [campaign]",
        "dimensions: [campaign, device]",
        "semantic model 'order_attributions' has dimension 'device', "
        + not_a_column("int_orders__attribution", ATTRIBUTION, "'dimensions'"),
    ),
    "metric date": (
        "- id: fulfilled_orders",
        "date: fulfilled_date",
        "date: shipped_date",
        "metric 'fulfilled_orders' is dated by 'shipped_date', "
        + not_a_column("int_orders__orders", ORDERS, "its 'date'"),
    ),
    "expr": (
        "- id: net_revenue",
        "expr: net_amount",
        "expr: net_amount_eur",
        "metric 'net_revenue' sums 'net_amount_eur', "
        + not_a_column("int_orders__orders", ORDERS, "the expr"),
    ),
    "expr in SQL": (
        "- id: nps_promoters_minus_detractors",
        "case respondent_type when",
        "case respondent_kind when",
        "metric 'nps_promoters_minus_detractors' sums 'respondent_kind', "
        + not_a_column(
            "int_nps__responses",
            "response_id, contact_id, submitted_at, submitted_date, score, respondent_type",
            "the expr",
        ),
    ),
    "filter": (
        "- id: attributed_revenue",
        "filter: is_paid and not is_cancelled",
        "filter: is_paid and not cancelled",
        "metric 'attributed_revenue' filters on 'cancelled', "
        + not_a_column("int_orders__attribution", ATTRIBUTION, "the filter"),
    ),
    "filter not SQL": (
        "- id: deals_closed",
        "filter: outcome in ('won', 'lost')",
        "filter: outcome in ('won', 'lost'",
        "metric 'deals_closed': its filter \"outcome in ('won', 'lost'\" is not valid SQL "
        "(stuck at: 'lost'). Fix the filter.",
    ),
}


@pytest.mark.parametrize("kind", MISTAKES)
def test_a_mistake_is_refused_with_its_line(tmp_path: Path, kind: str) -> None:
    block, old, new, message = MISTAKES[kind]
    path, line = with_mistake(tmp_path, block, old, new)
    code, output = validate(path)
    assert code == 2, output
    assert f"error: {path}:{line}: {message} hint:" in output
    assert "Traceback" not in output


def test_the_shipped_catalogue_validates_clean() -> None:
    code, output = validate(KPI_CATALOGUE_PATH)
    assert code == 0, output
    assert "all valid" in output
    refuse_unknown_columns(KPI_CATALOGUE_PATH)  # raises on any unknown model or column


def test_every_mistake_is_listed_in_file_order(tmp_path: Path) -> None:
    path, line = with_mistake(tmp_path, "- id: net_revenue", "expr: net_amount", "expr: amount")
    text = path.read_text()
    path.write_text(text.replace("filter: outcome = 'won'", "filter: status = 'won'"))
    won = text.splitlines().index("    filter: outcome = 'won'") + 1
    with pytest.raises(CatalogueError) as refused:
        refuse_unknown_columns(path)
    assert [m.split(", which")[0] for m in str(refused.value).splitlines()] == [
        f"{path}:{won}: metric 'deals_won' filters on 'status'",
        f"{path}:{line}: metric 'net_revenue' sums 'amount'",
    ]


def test_a_model_declaring_no_columns_is_named_with_where_to_declare_them(
    tmp_path: Path,
) -> None:
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "seeds").mkdir()
    (project / "models" / "int_orders__orders.sql").write_text("select 1 as order_id")
    with pytest.raises(CatalogueError) as refused:
        refuse_unknown_columns(KPI_CATALOGUE_PATH, project_dir=project)
    lines = KPI_CATALOGUE_PATH.read_text().splitlines()
    line = lines.index("    model: int_orders__orders") + 1
    assert (
        f"{KPI_CATALOGUE_PATH}:{line}: semantic model 'orders' is on int_orders__orders, which "
        "declares no columns, so its fields cannot be checked. List each column of the model "
        "under its 'columns:' (dbt_project/models/int_orders__orders.sql)."
    ) in str(refused.value).splitlines()


def test_columns_are_read_from_the_models_yaml_and_seed_headers() -> None:
    relations = read_dbt_relations()
    assert relations["int_orders__orders"].columns == tuple(ORDERS.split(", "))
    assert relations["int_orders__orders"].declared_in == INTERMEDIATE_YAML
    assert relations["ga4_source_categories"].columns == ("source", "source_category")


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        ("is_converted", ["is_converted"]),
        ("channel = 'Organic Search'", ["channel"]),  # a string literal is no column
        ("is_paid and not is_cancelled", ["is_paid", "is_cancelled"]),
        ("outcome in ('won', 'lost')", ["outcome"]),
        ("case respondent_type when 'promoter' then 1 else 0 end", ["respondent_type"]),
        ("coalesce(Net_Amount, 0) * 2 > current_date - placed_date", ["net_amount", "placed_date"]),
    ],
)
def test_sql_columns_leave_out_keywords_functions_and_literals(
    sql: str, columns: list[str]
) -> None:
    assert sql_columns(sql) == columns


def test_kpi_run_refuses_the_catalogue_before_running(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = dt.date(2025, 6, 2)
    write_csv(cli_env / "landing", "nps", "responses.csv", day, [["r1", 1, f"{day}T09:00Z", 9, ""]])
    path, line = with_mistake(tmp_path, "- id: net_revenue", "expr: net_amount", "expr: amount")
    monkeypatch.setenv("KPI_CATALOGUE", str(path))
    result = CliRunner().invoke(app, ["run", "--date", str(day)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert f"error: {path}:{line}: metric 'net_revenue' sums 'amount'" in output
    assert not (cli_env / "warehouse.duckdb").exists()  # nothing ran
