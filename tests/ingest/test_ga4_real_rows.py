"""Real GA4 BigQuery export rows (tests/fixtures/real/ga4/, see PROVENANCE.md: rows of a
real export pasted into a public project's test files, MIT) through the whole pipeline:
they load, and give the session KPIs worked out by hand and by the plain-Python oracle."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests import oracle

pytestmark = pytest.mark.e2e
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "ga4"
OCT_19, DEC_15 = dt.date(2023, 10, 19), dt.date(2023, 12, 15)


def real_rows(path: Path) -> list[dict]:
    """The rows of a fixture file `const rows = [...]; module.exports = ...` (a JavaScript
    literal: keys unquoted, trailing commas), read without changing a value."""
    text = path.read_text(encoding="utf-8")
    body = text[text.index("[") : text.rindex("]") + 1]
    body = re.sub(r"^(\s*)([A-Za-z_]\w*):", r'\1"\2":', body, flags=re.MULTILINE)
    body = re.sub(r",(\s*[\]}])", r"\1", body)
    return json.loads(body)


def land(landing: Path) -> dict[dt.date, list[dict]]:
    """Every real row in the export's own layout: `ga4/dt=D/events_YYYYMMDD.json`."""
    by_day: dict[dt.date, list[dict]] = {}
    for path in sorted(REAL.glob("*.js")):
        for row in real_rows(path):
            by_day.setdefault(dt.datetime.strptime(row["event_date"], "%Y%m%d").date(), []).append(
                row
            )
    for day, rows in by_day.items():
        folder = landing / "ga4" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(row) + "\n" for row in rows)
        (folder / f"events_{day:%Y%m%d}.json").write_text(text, encoding="utf-8")
    return by_day


def test_real_ga4_rows_load_and_give_the_session_kpis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import deploy

    by_day = land(tmp_path / "landing")  # before the deployment: history starts with them
    monkeypatch.setenv("KPI_SOURCES", "ga4")
    site = deploy(tmp_path, monkeypatch)

    for day in (OCT_19, DEC_15):
        report = site.run(day)
        assert report.success, report.reason()

    sessions = oracle.build_sessions(site.landing, DEC_15)
    categories = oracle.load_source_categories()
    with duckdb.connect(str(site.warehouse), read_only=True) as con:
        loaded = dict(
            con.execute("select _extract_date, count(*) from raw.ga4_events group by 1").fetchall()
        )
    assert loaded == {day: len(rows) for day, rows in by_day.items()}  # none quarantined
    values = {}
    for day in (OCT_19, DEC_15):
        frame = pl.read_parquet(site.snapshots / str(day) / "latest" / "kpis.parquet")
        values[day] = {
            r["kpi_id"]: r for r in frame.filter(pl.col("dimension") == "all").iter_rows(named=True)
        }
        expected = oracle.session_conversion_rate(sessions, day, dt.UTC, categories)
        ours = values[day]["session_conversion_rate"]
        theirs = expected[("session_conversion_rate", "all", "all")]
        assert (ours["numerator"], ours["denominator"]) == (theirs.numerator, theirs.denominator)
        organic = oracle.organic_traffic(sessions, day, dt.UTC, categories)
        assert (
            values[day]["organic_traffic"]["value"]
            == organic[("organic_traffic", "all", "all")].value
        )
    # by hand: Dec 15 has one session with the purchase and one (the form, sent twice)
    # without; Oct 19 has three users' page views and no purchase
    assert (
        values[DEC_15]["session_conversion_rate"]["numerator"],
        values[DEC_15]["session_conversion_rate"]["denominator"],
    ) == (1, 2)
    assert (
        values[OCT_19]["session_conversion_rate"]["numerator"],
        values[OCT_19]["session_conversion_rate"]["denominator"],
    ) == (0, 3)
