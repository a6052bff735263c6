"""Data that matures late (kpis.yml `maturity_lag_days`): the catalogue field, the choice of
the latest mature day and the provisional ones, their words in the report and the e-mail,
the owner alerts, and `kpi pace`'s period to date over the mature days. Every figure worked
by hand."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
import yaml

from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue
from kpi_pipeline.kpis.maturity import (
    DayFigure,
    latest_mature_day,
    mature_through,
    maturity_of,
    provisional_days,
)
from kpi_pipeline.kpis.pace import mature_pace
from kpi_pipeline.kpis.seed import seed_rows
from kpi_pipeline.kpis.show import with_provisional
from kpi_pipeline.notify.alerts import KpiStatus, decide_alerts, with_maturity
from kpi_pipeline.notify.messages import maturity_line, report_message
from kpi_pipeline.publish.report import ReportContext, render_report
from kpi_pipeline.publish.report_words import day_span_words, maturity_sentence
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.kpis.test_catalogue import KPI, write
from tests.publish.test_report import ReportParser

D = dt.date
SUNDAY = D(2026, 11, 29)  # the report's day; 27 November (Friday) is its last mature day
PROCESSING = "avg_order_processing_hours"


# ---- the catalogue field ------------------------------------------------------------


def test_the_lag_is_read_and_defaults_to_zero(tmp_path: Path) -> None:
    kpis = load_catalogue(write(tmp_path, KPI, {**KPI, "id": "late", "maturity_lag_days": 2}))
    assert (kpis["conv"].maturity_lag_days, kpis["late"].maturity_lag_days) == (0, 2)
    rows = {r["kpi_id"]: r for r in seed_rows(kpis)}
    assert (rows["conv"]["maturity_lag_days"], rows["late"]["maturity_lag_days"]) == ("0", "2")


@pytest.mark.parametrize("lag", [-1, 1.5, "two", True])
def test_a_bad_lag_is_refused_at_its_line(tmp_path: Path, lag: object) -> None:
    path = write(tmp_path, KPI, {**KPI, "id": "late", "maturity_lag_days": lag})
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "maturity_lag_days" in text
    )
    expected = (
        rf"kpis\.yml:{line}: KPI 'late': field 'maturity_lag_days' must be a whole number of "
        rf"days, 0 or more \(e\.g\. 2: .*\), got {re.escape(repr(lag))}"
    )
    with pytest.raises(CatalogueError, match=expected):
        load_catalogue(path)


def test_the_shipped_catalogue_declares_what_the_sample_shows() -> None:
    # social posts' counts are updated the next day (kpi_pipeline/sample/marketing.py);
    # orders fulfilled on a day are in that day's extract (sample/commerce.py)
    kpis = load_catalogue(KPI_CATALOGUE_PATH)
    assert kpis["social_engagement_rate"].maturity_lag_days == 1
    assert kpis[PROCESSING].maturity_lag_days == 0


# ---- which days are mature, which provisional ----------------------------------------


def test_mature_and_provisional_days() -> None:
    assert mature_through(SUNDAY, 2) == D(2026, 11, 27)
    assert provisional_days(SUNDAY, 2) == [D(2026, 11, 28), D(2026, 11, 29)]
    assert provisional_days(D(2026, 12, 1), 2) == [D(2026, 11, 30), D(2026, 12, 1)]
    assert (mature_through(SUNDAY, 0), provisional_days(SUNDAY, 0)) == (SUNDAY, [])


def test_the_latest_mature_day_is_the_newest_with_a_value_up_to_day_minus_lag() -> None:
    values = {D(2026, 11, 26): 20.6, D(2026, 11, 27): None, D(2026, 11, 28): 21.3}
    # 28 November has a value but is provisional; 27 November has none: 26 November
    assert latest_mature_day(values, SUNDAY, 2) == D(2026, 11, 26)
    assert latest_mature_day({**values, D(2026, 11, 27): 0.0}, SUNDAY, 2) == D(2026, 11, 27)
    # no mature value at all: none (never 0)
    assert latest_mature_day({D(2026, 11, 28): 21.3}, SUNDAY, 2) is None
    # nor one older than the lookback
    assert latest_mature_day({D(2026, 11, 20): 1.0}, SUNDAY, 2, lookback=7) is None
    assert latest_mature_day({D(2026, 11, 21): 1.0}, SUNDAY, 2, lookback=7) == D(2026, 11, 21)


def figures() -> dict[dt.date, DayFigure]:
    return {
        D(2026, 11, 26): DayFigure(D(2026, 11, 26), 19.0, 24.0, "on_track"),
        D(2026, 11, 27): DayFigure(D(2026, 11, 27), 20.6, 24.0, "on_track"),
        D(2026, 11, 28): DayFigure(D(2026, 11, 28), 31.0, 24.0, "off_track"),
        D(2026, 11, 29): DayFigure(D(2026, 11, 29), None, 24.0, "no_data"),
    }


def test_maturity_of_a_kpi() -> None:
    late = maturity_of(PROCESSING, SUNDAY, 2, figures())
    assert late.mature == figures()[D(2026, 11, 27)]
    assert late.before_mature == figures()[D(2026, 11, 26)]
    assert [p.value for p in late.provisional] == [31.0, None]
    # a provisional day the facts do not hold at all is a figure without a value
    empty = maturity_of(PROCESSING, SUNDAY, 2, {})
    assert (empty.mature, empty.before_mature) == (None, None)
    assert [(p.day, p.value) for p in empty.provisional] == [
        (D(2026, 11, 28), None),
        (D(2026, 11, 29), None),
    ]


# ---- words -----------------------------------------------------------------------------


def test_day_spans_in_words() -> None:
    assert day_span_words([D(2026, 11, 29)]) == "29 November 2026"
    assert day_span_words([D(2026, 11, 28), D(2026, 11, 29)]) == "28-29 November 2026"
    assert day_span_words([D(2026, 11, 30), D(2026, 12, 1)]) == "30 November - 1 December 2026"
    assert day_span_words([D(2026, 12, 31), D(2027, 1, 1)]) == "31 December 2026 - 1 January 2027"


def test_the_maturity_sentence() -> None:
    provisional = [(D(2026, 11, 28), "31.0 h"), (D(2026, 11, 29), None)]
    assert maturity_sentence((D(2026, 11, 27), "20.6 h"), D(2026, 11, 27), provisional, 90) == (
        "20.6 h on 27 November 2026, the latest complete day; 28-29 November 2026 "
        "provisional (so far 31.0 h, no value)"
    )
    # the last mature day had no value: the one before stands, and says so
    assert maturity_sentence((D(2026, 11, 26), "19.0 h"), D(2026, 11, 27), [], 90) == (
        "19.0 h on 26 November 2026, the latest complete day with a value (complete through "
        "27 November 2026)"
    )
    assert maturity_sentence(None, D(2026, 11, 27), provisional[1:], 90) == (
        "No complete day with a value in the 90 days to 27 November 2026; 29 November 2026 "
        "provisional (so far no value)"
    )


# ---- the report and the e-mail --------------------------------------------------------


def sunday_frame() -> pl.DataFrame:
    """The snapshot rows of Sunday 29 November: processing time has no value (nothing was
    fulfilled), net revenue does."""
    rows = [
        (PROCESSING, None, None, None, 24.0, "no_data"),
        ("net_revenue", 7500.0, None, 7500.0, 8000.0, "at_risk"),
    ]
    return pl.DataFrame(
        [(SUNDAY, k, "all", "all", n, d, v, t, s) for k, n, d, v, t, s in rows],
        schema={
            "date": pl.Date,
            "kpi_id": pl.String,
            "dimension": pl.String,
            "dimension_value": pl.String,
            "numerator": pl.Float64,
            "denominator": pl.Float64,
            "value": pl.Float64,
            "target": pl.Float64,
            "status": pl.String,
        },
        orient="row",
    )


def history() -> pl.DataFrame:
    days = [SUNDAY - dt.timedelta(days=i) for i in range(400)]
    values = {d: f.value for d, f in figures().items()}
    return pl.DataFrame(
        {
            "kpi_id": [PROCESSING] * len(days),
            "kpi_date": days,
            "value": [values.get(d, 22.0) for d in days],
        }
    )


def report_text(maturity: dict) -> tuple[ReportParser, str]:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    ctx = ReportContext(SUNDAY, 1, "2026-11-30T06:00:00+00:00", None, "USD", [])
    html = render_report(ctx, sunday_frame(), history(), catalogue, maturity).decode()
    parser = ReportParser()
    parser.feed(html)
    return parser, " ".join(" ".join(parser.text).split())


def test_the_report_shows_the_latest_mature_value_and_its_day() -> None:
    late = {PROCESSING: maturity_of(PROCESSING, SUNDAY, 2, figures())}
    parser, text = report_text(late)
    # the mature day's status, not the provisional Sunday's no data
    assert parser.kpis[PROCESSING] == "on_track"
    assert "Value on 27 Nov 2026 20.6 h" in text
    assert (
        "20.6 h on 27 November 2026, the latest complete day; 28-29 November 2026 provisional "
        "(so far 31.0 h, no value)" in text
    )
    # against its own previous day: 20.6 - 19.0 = +1.60 (+8.4 %)
    assert "+1.60 (+8.4 %)" in text
    # the summary counts the mature status: net revenue at risk, processing on track
    assert "1 on track" in text and "1 at risk" in text and "no data" not in text
    # without maturity the same snapshot shows the blank it used to
    parser, text = report_text({})
    assert parser.kpis[PROCESSING] == "no_data"
    assert "provisional" not in text


def test_no_mature_value_is_said_never_zero() -> None:
    late = {PROCESSING: maturity_of(PROCESSING, SUNDAY, 2, {})}
    parser, text = report_text(late)
    assert parser.kpis[PROCESSING] == "no_data"
    assert "No complete day with a value in the 90 days to 27 November 2026" in text
    assert "0.0 h" not in text


def test_the_email_gives_the_mature_value_its_day_target_and_status() -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    late = {PROCESSING: maturity_of(PROCESSING, SUNDAY, 2, figures())}
    message = report_message(
        SUNDAY, 1, sunday_frame(), catalogue, b"<html></html>", None, "USD", [], maturity=late
    )
    lines = message.text.splitlines()
    assert (
        "- Average order processing time: 20.6 h on 27 November 2026, the latest complete day "
        "(target 24.0 h, on track); 28-29 November 2026 provisional (so far 31.0 h, no value)"
    ) in lines
    assert "- Net revenue: 7,500.00 USD (target 8,000.00 USD, at risk)" in lines
    none = maturity_line(maturity_of(PROCESSING, SUNDAY, 2, {}), catalogue[PROCESSING], "USD")
    assert none.startswith("No complete day with a value") and "target" not in none


# ---- owner alerts ----------------------------------------------------------------------


def status(kpi_id: str, value, st, day=None) -> KpiStatus:
    return KpiStatus(kpi_id, value, 24.0, st, day)


def test_a_provisional_day_alerts_nobody_the_newly_mature_one_does() -> None:
    today = {PROCESSING: status(PROCESSING, 31.0, "off_track")}  # the provisional newest day
    previous = {PROCESSING: status(PROCESSING, 20.0, "on_track")}
    owners, contacts = {PROCESSING: "operations"}, {"operations"}
    through = D(2026, 11, 27)

    def decide(mature, before):
        now, then = with_maturity(today, previous, {PROCESSING: (through, mature, before)})
        return decide_alerts(SUNDAY, now, D(2026, 11, 28), then, owners, contacts, set()).due

    # 27 November is on track: no alert, although the provisional Sunday is off track
    assert decide(status(PROCESSING, 20.6, "on_track", through), None) == []
    # 27 November turned off track against 26 November: one alert, about 27 November
    [alert] = decide(
        status(PROCESSING, 31.5, "off_track", through),
        status(PROCESSING, 19.0, "on_track", D(2026, 11, 26)),
    )
    assert (alert.about_day, alert.value, alert.previous_status) == (through, 31.5, "on_track")
    # the latest mature value is older than the day that just matured: judged before already
    assert decide(status(PROCESSING, 31.5, "off_track", D(2026, 11, 26)), None) == []
    # and without the lag the provisional off track would have alerted
    assert len(decide_alerts(SUNDAY, today, None, previous, owners, contacts, set()).due) == 1


# ---- kpi pace over the mature days -----------------------------------------------------


def pace_row(day: dt.date, start: dt.date, elapsed: int, to_date, projected) -> dict:
    return {
        "kpi_date": day,
        "kpi_id": PROCESSING,
        "period_grain": "week",
        "period_start": start,
        "period_end": start + dt.timedelta(days=6),
        "days_elapsed": elapsed,
        "days_in_period": 7,
        "period_to_date_value": to_date,
        "target_to_date": 24.0,
        "period_target": 24.0,
        "projected_value": projected,
        "projected_low": None,
        "projected_high": None,
        "projected_status": None if projected is None else "on_track",
    }


def test_pace_counts_the_mature_days_and_says_through_when() -> None:
    week = D(2026, 11, 23)
    sunday = pace_row(SUNDAY, week, 7, None, None)  # a day without value blanks the period
    friday = pace_row(D(2026, 11, 27), week, 5, 21.2, 21.2)
    [row] = mature_pace(SUNDAY, [sunday], {PROCESSING: friday}, {PROCESSING: 2})
    assert (row["kpi_date"], row["days_elapsed"], row["period_to_date_value"]) == (SUNDAY, 5, 21.2)
    assert (row["projected_value"], row["projected_status"]) == (21.2, "on_track")
    assert (row["mature_through"], row["provisional_days"]) == (D(2026, 11, 27), 2)
    # without a lag the day's own row, mature through the day itself
    [row] = mature_pace(SUNDAY, [sunday], {PROCESSING: friday}, {})
    assert (row["period_to_date_value"], row["mature_through"], row["provisional_days"]) == (
        None,
        SUNDAY,
        0,
    )


def test_pace_with_no_mature_day_in_the_period_keeps_only_its_target() -> None:
    tuesday = D(2026, 11, 24)  # lag 2: mature through Sunday 22 November, the week before
    row_today = pace_row(tuesday, D(2026, 11, 23), 2, 20.0, 20.0)
    last_week = pace_row(D(2026, 11, 22), D(2026, 11, 16), 7, 23.0, 23.0)
    [row] = mature_pace(tuesday, [row_today], {PROCESSING: last_week}, {PROCESSING: 2})
    assert (row["period_start"], row["period_target"], row["days_elapsed"]) == (
        D(2026, 11, 23),
        24.0,
        0,
    )
    assert row["period_to_date_value"] is None and row["projected_value"] is None
    assert row["mature_through"] == D(2026, 11, 22)


def test_the_seed_column_is_in_dim_kpi() -> None:
    project = KPI_CATALOGUE_PATH.parent / "dbt_project"
    assert "maturity_lag_days" in (project / "models/marts/dim_kpi.sql").read_text()
    columns = yaml.safe_load((project / "models/marts/dim_kpi.yml").read_text())
    names = [c["name"] for c in columns["models"][0]["columns"]]
    assert names[-1] == "maturity_lag_days"


# ---- kpi show ----------------------------------------------------------------------------


def test_kpi_show_flags_the_rows_past_the_last_mature_day() -> None:
    kpis = load_catalogue(KPI_CATALOGUE_PATH)
    days = [D(2026, 11, 27), D(2026, 11, 28), D(2026, 11, 29)]
    frame = pl.DataFrame({"period_start": days, "period_end": days, "value": [1.0, 2.0, None]})
    late = replace(kpis[PROCESSING], maturity_lag_days=2)
    flagged = with_provisional(frame, late, SUNDAY)
    assert flagged["provisional"].to_list() == [False, True, True]
    # a week is provisional while its last day is: the week of 16-22 November seen from
    # 23 November (mature through 21 November), then from 24 November (through 22)
    week = pl.DataFrame({"period_start": [D(2026, 11, 16)], "period_end": [D(2026, 11, 22)]})
    assert with_provisional(week, late, D(2026, 11, 23))["provisional"].to_list() == [True]
    assert with_provisional(week, late, D(2026, 11, 24))["provisional"].to_list() == [False]
    # a KPI without a lag: no column
    assert with_provisional(frame, kpis[PROCESSING], SUNDAY).columns == frame.columns


def test_the_demo_table_marks_a_provisional_kpi() -> None:
    from rich.console import Console

    from kpi_pipeline.cli.demo import kpi_table

    snapshot = pl.DataFrame(
        {
            "date": [dt.date(2026, 11, 29)] * 2,
            "kpi_id": ["social_engagement_rate", "net_revenue"],
            "family": ["marketing", "financial"],
            "dimension": ["all", "all"],
            "value": [0.041, 4705.0],
            "target": [0.04, 8000.0],
            "status": ["on_track", "off_track"],
        }
    )
    names = {"social_engagement_rate": "Social engagement rate", "net_revenue": "Net revenue"}
    console = Console(record=True, width=120)
    console.print(kpi_table(snapshot, names, frozenset({"social_engagement_rate"})))
    lines = console.export_text().splitlines()
    social = next(line for line in lines if "Social engagement rate" in line)
    revenue = next(line for line in lines if "Net revenue" in line)
    assert "provisional" in social and "on_track" not in social
    assert "off_track" in revenue and "provisional" not in revenue
    assert any("still arriving" in line for line in lines)
    console = Console(record=True, width=120)
    console.print(kpi_table(snapshot, names))
    assert "provisional" not in console.export_text()
