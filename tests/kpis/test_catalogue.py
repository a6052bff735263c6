"""The KPI catalogue: SMART rules, formulas made of metrics, relative targets, the dim_kpi
seed kept in step, and the `kpi validate` / `kpi list` commands."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.cli.common import console
from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue, load_catalogue_with_metrics
from kpi_pipeline.kpis.derive import stale
from kpi_pipeline.kpis.seed import sources_csv, targets_csv
from kpi_pipeline.settings import KPI_CATALOGUE_PATH

MODELS = [
    {
        "id": "sessions",
        "model": "int_ga4__sessions",
        "description": "Sessions.",
        "key": "session_key",
        "date": "session_date",
        "sources": ["ga4"],
        "dimensions": ["channel"],
    },
    {
        "id": "spend_lines",
        "model": "int_ads__spend",
        "description": "Spend.",
        "key": "spend_key",
        "date": "spend_date",
        "sources": ["ads"],
        "dimensions": {"ad_channel": "channel"},
    },
]
SESSIONS = {"semantic_model": "sessions", "agg": "count"}
METRICS = [
    {"id": "sessions", "description": "Sessions.", "unit": "sessions", **SESSIONS},
    {"id": "orders", "description": "Orders.", "unit": "orders", **SESSIONS, "filter": "x"},
    {"id": "revenue", "description": "Revenue.", "unit": "currency", **SESSIONS},
    {
        "id": "spend",
        "description": "Spend.",
        "unit": "currency",
        "semantic_model": "spend_lines",
        "agg": "sum",
        "expr": "spend",
    },
]
KPI = {
    "id": "conv",
    "name": "Conversion",
    "family": "marketing",
    "description": "Orders per session.",
    "objective": "Sell more.",
    "formula": {"numerator": "orders", "denominator": "sessions"},
    "unit": "ratio",
    "direction": "higher_is_better",
    "dimensions": ["channel"],
    "owner": "growth",
    "review_cadence": "weekly",
    "target": {"value": 0.02, "at_risk_tolerance": 0.1},
}


def write(tmp_path: Path, *kpis: dict, metrics: list | None = None) -> Path:
    path = tmp_path / "kpis.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "semantic_models": MODELS,
                "metrics": METRICS if metrics is None else metrics,
                "kpis": list(kpis),
            },
            sort_keys=False,
        )
    )
    return path


def test_shipped_catalogue_defines_every_kpi_with_a_formula_of_metrics() -> None:
    metrics, kpis = load_catalogue_with_metrics(KPI_CATALOGUE_PATH)
    for kpi in kpis.values():
        assert set(kpi.formula.metrics()) <= set(metrics), kpi.id
    assert kpis["marketing_roi"].formula.numerator == "attributed_revenue - ad_spend"
    assert kpis["nps"].formula.scale == 100
    assert kpis["net_revenue"].formula.is_ratio is False
    assert kpis["organic_traffic"].target.relative_to_last_year == pytest.approx(0.2)
    assert kpis["organic_traffic"].target.describe() == "+20% on last year"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"formula": None}, "KPI 'conv': missing required field 'formula'"),
        (
            {"formula": {"denominator": "sessions"}},
            "KPI 'conv': missing required field 'formula.numerator'",
        ),
        ({"owner": ""}, "KPI 'conv': missing required field 'owner'"),
        ({"review_cadence": None}, "KPI 'conv': missing required field 'review_cadence'"),
        ({"target": None}, "KPI 'conv': missing required field 'target'"),
        (
            {"target": {"value": 1}},
            "KPI 'conv': missing required field 'target.at_risk_tolerance'",
        ),
        (
            {"target": {"value": 1, "relative_to_last_year": 0.2, "at_risk_tolerance": 0.1}},
            "KPI 'conv': field 'target' needs exactly one of 'value'",
        ),
        (
            {"formula": {"numerator": "orders", "denominator": "visits"}},
            "KPI 'conv': field 'formula.denominator' uses unknown metric 'visits'",
        ),
        (
            {"formula": {"numerator": "revenue * 2"}},
            "KPI 'conv': field 'formula.numerator' is 'revenue * 2'",
        ),
        (
            {"dimensions": ["weather"]},
            "KPI 'conv': field 'dimensions' has 'weather', but metric 'orders' is measured on "
            "'sessions', which declares no such dimension (it has: channel)",
        ),
        (
            {"formula": {"numerator": "spend", "denominator": "sessions"}},
            "KPI 'conv': field 'dimensions' has 'channel', but metric 'spend' is measured on "
            "'spend_lines', which declares no such dimension (it has: ad_channel)",
        ),
        ({"unit": "bananas"}, "KPI 'conv': field 'unit' is 'bananas'"),
    ],
)
def test_a_kpi_that_is_not_smart_is_refused_naming_kpi_and_field(
    tmp_path: Path, change: dict, message: str
) -> None:
    with pytest.raises(CatalogueError, match=rf"kpis\.yml:\d+: {re.escape(message)}"):
        load_catalogue(write(tmp_path, {**KPI, **change}))


def test_the_error_names_the_line_of_the_kpi(tmp_path: Path) -> None:
    second = {**KPI, "id": "roi", "owner": None}
    path = write(tmp_path, KPI, second)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "id: roi" in text)
    with pytest.raises(CatalogueError, match=rf"kpis\.yml:{line}: KPI 'roi'"):
        load_catalogue(path)


def test_metrics_are_required_and_unique(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no 'metrics' list"):
        load_catalogue(write(tmp_path, KPI, metrics=[]))
    with pytest.raises(CatalogueError, match="metric 'orders' is defined twice"):
        load_catalogue(write(tmp_path, KPI, metrics=[*METRICS, METRICS[1]]))
    with pytest.raises(CatalogueError, match="metric 'orders': missing required field 'unit'"):
        load_catalogue(write(tmp_path, KPI, metrics=[{"id": "orders", "description": "x"}]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"semantic_model": "visits"},
            "metric 'orders': field 'semantic_model' is 'visits', not one of the semantic "
            "models: sessions, spend_lines",
        ),
        ({"agg": "median"}, "metric 'orders': field 'agg' is 'median', expected one of count"),
        ({"agg": "sum"}, "metric 'orders': agg 'sum' needs field 'expr'"),
        ({"date": "placed at"}, "metric 'orders': field 'date' must be a column name"),
    ],
)
def test_a_metric_must_say_how_it_is_measured_on_a_declared_model(
    tmp_path: Path, change: dict, message: str
) -> None:
    metrics = [METRICS[0], {**METRICS[1], **change}, *METRICS[2:]]
    path = write(tmp_path, KPI, metrics=metrics)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "id: orders" in t)
    with pytest.raises(CatalogueError, match=rf"kpis\.yml:{line}: {re.escape(message)}"):
        load_catalogue(path)


def test_formula_with_a_difference_of_metrics(tmp_path: Path) -> None:
    roi = {
        **KPI,
        "formula": {"numerator": "revenue - spend", "denominator": "spend"},
        "dimensions": [],
    }
    kpi = load_catalogue(write(tmp_path, roi))["conv"]
    assert kpi.formula.metrics() == ("revenue", "spend")


def test_relative_target_is_read_as_a_change_on_last_year(tmp_path: Path) -> None:
    """Resolved against last year in fct_kpi_attainment (its dbt unit tests)."""
    growth = {**KPI, "target": {"relative_to_last_year": 0.2, "at_risk_tolerance": 0.1}}
    kpi = load_catalogue(write(tmp_path, growth))["conv"]
    assert kpi.target.value is None
    assert kpi.target.relative_to_last_year == pytest.approx(0.2)
    assert kpi.target.describe() == "+20% on last year"


def test_targets_in_force_from_their_day(tmp_path: Path) -> None:
    dated = {
        **{k: v for k, v in KPI.items() if k != "target"},
        "targets": [
            {"value": 0.02, "at_risk_tolerance": 0.1},
            {"from": dt.date(2026, 7, 1), "value": 0.025, "at_risk_tolerance": 0.05},
            {"from": "2027-01-01", "relative_to_last_year": 0.1, "at_risk_tolerance": 0.1},
        ],
    }
    kpi = load_catalogue(write(tmp_path, dated))["conv"]
    assert kpi.target_on(dt.date(2026, 6, 30)).value == 0.02
    assert kpi.target_on(dt.date(2026, 7, 1)).value == 0.025
    assert kpi.target_on(dt.date(2027, 1, 1)).relative_to_last_year == 0.1
    assert kpi.target.relative_to_last_year == 0.1  # the latest
    seed = targets_csv({"conv": kpi}).splitlines()
    assert seed[1:] == [
        "conv,,2026-07-01,absolute,0.02,,0.1",
        "conv,2026-07-01,2027-01-01,absolute,0.025,,0.05",
        "conv,2027-01-01,,relative_to_last_year,,0.1,0.1",
    ]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            [{"value": 1, "at_risk_tolerance": 0.1}, {"value": 2, "at_risk_tolerance": 0.1}],
            r"field 'targets\[2\]' needs 'from: YYYY-MM-DD'",
        ),
        (
            [
                {"from": "2026-07-01", "value": 1, "at_risk_tolerance": 0.1},
                {"from": "2026-01-01", "value": 2, "at_risk_tolerance": 0.1},
            ],
            r"field 'targets\[2\].from' is 2026-01-01, not after the previous target's 2026-07-01",
        ),
        (
            [{"from": "July 2026", "value": 1, "at_risk_tolerance": 0.1}],
            r"field 'targets\[1\].from' must be a date YYYY-MM-DD, got 'July 2026'",
        ),
    ],
)
def test_badly_dated_targets_are_refused_by_line(tmp_path: Path, targets, message: str) -> None:
    entry = {**{k: v for k, v in KPI.items() if k != "target"}, "targets": targets}
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(write(tmp_path, entry))


def test_target_and_targets_together_are_refused(tmp_path: Path) -> None:
    entry = {**KPI, "targets": [{"value": 1, "at_risk_tolerance": 0.1}]}
    with pytest.raises(CatalogueError, match="has both 'target' and 'targets'; keep one"):
        load_catalogue(write(tmp_path, entry))


def test_committed_derived_files_match_kpis_yml() -> None:
    """dbt's catalogue macro and seeds, the MetricFlow metrics and the facts' GX suite follow
    kpis.yml (the pipeline re-derives them when it loads; the committed copies are kept in
    step)."""
    assert stale(KPI_CATALOGUE_PATH) == [], "run `kpi validate --write-seed`"


def test_the_sources_seed_expands_the_crm_into_its_two_sources() -> None:
    metrics, kpis = load_catalogue_with_metrics(KPI_CATALOGUE_PATH)
    rows = set(sources_csv(kpis, metrics).splitlines()[1:])
    assert {"deal_win_rate,crm,hubspot", "deal_win_rate,crm,salesforce"} <= rows
    assert {"marketing_roi,orders,orders", "marketing_roi,ga4,ga4", "marketing_roi,ads,ads"} <= rows
    # other marketing costs come from a seed: CAC needs ad spend and orders only
    cac = {row for row in rows if row.startswith("customer_acquisition_cost,")}
    assert cac == {"customer_acquisition_cost,ads,ads", "customer_acquisition_cost,orders,orders"}


def test_kpi_validate_accepts_the_shipped_file_and_refuses_a_bad_one(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", "--path", str(KPI_CATALOGUE_PATH)])
    assert ok.exit_code == 0, ok.output
    assert re.search(r"\d+ KPIs, \d+ metrics on \d+ semantic models, all valid", ok.output)

    bad = runner.invoke(app, ["validate", "--path", str(write(tmp_path, {**KPI, "owner": None}))])
    assert bad.exit_code == 2
    assert "KPI 'conv': missing required field 'owner'" in " ".join(bad.output.split())
    assert "hint:" in bad.output
    assert "Traceback" not in bad.output


def test_kpi_list_shows_family_target_and_latest_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setattr(console, "width", 200)  # no terminal in tests: room for every cell
    runner = CliRunner()
    without_facts = runner.invoke(app, ["list"])
    assert without_facts.exit_code == 0, without_facts.output
    assert "customer satisfaction" in without_facts.output  # the family, in words
    assert "+20% on last year" in without_facts.output
    assert "on_track" not in without_facts.output

    day = dt.date(2025, 3, 3)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_attainment (period_grain varchar, period_start date,"
            " kpi_id varchar, value double, status varchar)"
        )
        rows = [  # statuses as fct_kpi_attainment holds them (the rule lives there)
            (day, "net_revenue", 9000.0, "on_track"),
            (day, "nps", 25.0, "at_risk"),
            (dt.date(2025, 3, 2), "organic_traffic", 130.0, "on_track"),
            (day, "organic_traffic", None, "no_data"),
        ]
        for kpi_date, kpi_id, value, status in rows:
            con.execute(
                "insert into marts.fct_kpi_attainment values ('day', ?, ?, ?, ?)",
                [kpi_date, kpi_id, value, status],
            )
        con.execute(  # a week's row is no day's
            "insert into marts.fct_kpi_attainment values "
            "('week', '2025-03-03', 'nps', 40.0, 'on_track')"
        )
    with_facts = runner.invoke(app, ["list"])
    assert with_facts.exit_code == 0, with_facts.output
    lines = {  # the KPI id starts each row of the table
        line.split()[0]: line for line in with_facts.output.splitlines() if line.strip()
    }
    assert "on_track" in lines["net_revenue"]
    assert "at_risk" in lines["nps"] and "25" in lines["nps"]
    assert "no_data" in lines["organic_traffic"]  # its latest day, without a value
    assert "values of 2025-03-03" in with_facts.output
