"""Why a KPI moved, end to end (issue 15): sample data in which one channel stops
converting on one day (its sessions' purchase events removed from the GA4 extract before
the run). `kpi explain` ranks that channel's rate effect first, at values the oracle
computes from the same files; the mart `fct_kpi_change` holds the same contributions as
the Python decomposition (two implementations held against each other); and the day's
report says why session conversion moved, in one sentence."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.explain.decompose import explain
from kpi_pipeline.explain.read import read_breakdowns
from kpi_pipeline.kpis.catalogue import load_catalogue
from tests import oracle
from tests.kpis.walkthrough import copy_project, kpi

BEFORE, DAY = dt.date(2025, 3, 2), dt.date(2025, 3, 3)


def channel_of(session, categories) -> str:
    return oracle.channel_group(session.source, session.medium, session.campaign, categories)


def plant_a_drop(landing: Path, categories) -> str:
    """Remove the purchase events of the busiest converting channel's sessions of DAY;
    the channel's name."""
    sessions = oracle.build_sessions(landing, DAY)
    on_day = {key: s for key, s in sessions.items() if s.first_event.date() == DAY and s.converted}
    channel = Counter(channel_of(s, categories) for s in on_day.values()).most_common(1)[0][0]
    dropped = {key for key, s in on_day.items() if channel_of(s, categories) == channel}
    for path in (landing / "ga4" / f"dt={DAY}").glob("events_*.json"):
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line) if line.strip() else None
            if event and event.get("event_name") == "purchase":
                key = (str(event.get("user_pseudo_id")), oracle._param(event, "ga_session_id"))
                if key in dropped:
                    continue
            kept.append(line)
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return channel


@pytest.mark.e2e
def test_a_planted_drop_is_explained_first(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    data = tmp_path / "data"
    sampled = kpi(project, data, "sample", "--start", str(BEFORE), "--end", str(DAY))
    assert sampled.returncode == 0, sampled.stdout + sampled.stderr
    categories = oracle.load_source_categories()
    channel = plant_a_drop(data / "landing", categories)
    ran = kpi(project, data, "backfill", "--start", str(BEFORE), "--end", str(DAY))
    assert ran.returncode == 0, ran.stdout + ran.stderr

    explained = kpi(
        project, data, "explain", "session_conversion_rate", "--date", str(DAY),
        "--by", "channel", "--format", "json",
    )  # fmt: skip
    assert explained.returncode == 0, explained.stdout + explained.stderr
    found = json.loads(explained.stdout)
    # independently: the oracle's session conversion rate on both days, planted data
    sessions = oracle.build_sessions(data / "landing", DAY)
    rates = {
        day: oracle.session_conversion_rate(sessions, day, dt.UTC, categories)[
            ("session_conversion_rate", "all", "all")
        ].value
        for day in (BEFORE, DAY)
    }
    assert (found["from"], found["to"]) == (str(BEFORE), str(DAY))
    assert found["value_from"] == pytest.approx(rates[BEFORE], abs=1e-12)
    assert found["value_to"] == pytest.approx(rates[DAY], abs=1e-12)
    parts = found["contributions"]
    assert sum(p["value"] for p in parts) == pytest.approx(found["change"], abs=1e-9)
    top = max(parts, key=lambda p: abs(p["value"]))
    assert (top["dimension_value"], top["effect"]) == (channel, "rate")
    assert top["value"] < 0
    # the planted channel converted nothing on DAY, as the oracle counts it
    by_channel = oracle.session_conversion_rate(sessions, DAY, dt.UTC, categories)
    assert by_channel[("session_conversion_rate", "channel", channel)].numerator == 0

    # net revenue split between its chain's factors (kpis.yml), at the oracle's values
    chained = kpi(
        project, data, "explain", "net_revenue", "--date", str(DAY), "--by", "chain",
        "--format", "json",
    )  # fmt: skip
    assert chained.returncode == 0, chained.stdout + chained.stderr
    chain = json.loads(chained.stdout)
    orders = oracle.load_orders(data / "landing", DAY)
    for day, key in ((BEFORE, "from"), (DAY, "to")):
        known = oracle.compute_kpis(data / "landing", day, as_of=DAY)
        factors = {f["name"]: f[key] for f in chain["factors"]}
        revenue = oracle.net_revenue(orders, day, dt.UTC)[("net_revenue", "all", "all")].value
        sessions = known[("session_conversion_rate", "all", "all")].denominator
        placed = known[("average_order_value", "all", "all")].denominator
        assert chain[f"value_{key}"] == pytest.approx(revenue, rel=1e-12)
        assert factors == pytest.approx(
            {
                "sessions": sessions,
                "orders_per_session": placed / sessions,
                "average_order_value": revenue / placed,
            },
            rel=1e-12,
        )
    assert chain["dimension"] == "chain"
    assert [p["effect"] for p in chain["contributions"]] == [f["name"] for f in chain["factors"]]
    total = sum(p["value"] for p in chain["contributions"])
    assert total == pytest.approx(chain["change"], rel=1e-9, abs=1e-9)

    # the mart and the Python decomposition agree on every KPI and breakdown of DAY
    catalogue = load_catalogue(project / "kpis.yml")
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        mart = con.execute(
            "select kpi_id, dimension, dimension_value, effect, contribution "
            "from marts.fct_kpi_change where kpi_date = ? and compared_with = 'previous_day'",
            [DAY],
        ).fetchall()
        compared = 0
        for kpi_def in catalogue.values():
            for dimension in kpi_def.dimensions:
                periods = read_breakdowns(con, kpi_def.id, dimension, "day", BEFORE, DAY)
                python = {
                    (c.dimension_value, c.effect): c.value
                    for c in explain(kpi_def, dimension, *periods).contributions
                }
                sql = {
                    (value, effect): contribution
                    for kpi_id, dim, value, effect, contribution in mart
                    if kpi_id == kpi_def.id and dim == dimension
                }
                for key in python.keys() | sql.keys():
                    assert python.get(key, 0.0) == pytest.approx(sql.get(key, 0.0), abs=1e-9), (
                        kpi_def.id,
                        dimension,
                        key,
                    )
                compared += 1
    assert compared >= 5

    report = (data / "snapshots" / str(DAY) / "latest" / "report.html").read_text()
    assert "Session conversion rate -" in report
    assert f"vs the previous day: {channel}&#39;s rate fell" in report or (
        f"vs the previous day: {channel}'s rate fell" in report
    )
