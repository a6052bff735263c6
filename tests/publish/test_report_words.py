"""The report's words and chart scale, worked by hand: the header, the summary's counts and
movers, the period-to-date and projection sentence, the y axis against a far target."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from kpi_pipeline.kpis.catalogue import FAMILIES, load_catalogue
from kpi_pipeline.publish.report import ReportContext, latest_before, render_report
from kpi_pipeline.publish.report_chart import CHART_HEIGHT, CHART_PAD, trend_chart, y_axis
from kpi_pipeline.publish.report_screenshots import sample_report
from kpi_pipeline.publish.report_words import (
    Mover,
    biggest_movers,
    header_line,
    no_value_sentence,
    period_sentence,
    published_words,
    status_counts,
)
from kpi_pipeline.publish.snapshot import snapshot_frame
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.publish.test_report import DAY, facts, history, parse, render
from tests.status_oracle import day_attainment

FIRST = DAY - dt.timedelta(days=89)


def test_the_header_says_the_day_and_the_publication_in_words() -> None:
    assert (
        header_line(DAY, "2025-03-04T06:04:31.123456+00:00", 2)
        == "KPIs of Monday 3 March 2025 · Published 4 March 2025 at 06:04 UTC, version 2"
    )
    # another offset is told in UTC; no offset is taken as UTC; unreadable is shown as is
    assert published_words("2025-03-04T08:04:00+02:00", 1).startswith(
        "Published 4 March 2025 at 06:04 UTC"
    )
    assert published_words("2025-03-03T23:59:00", 3) == (
        "Published 3 March 2025 at 23:59 UTC, version 3"
    )
    assert published_words("yesterday", 1) == "Published yesterday, version 1"
    html = render()
    assert "<h1>KPIs of Monday 3 March 2025</h1>" in html
    assert "Published 4 March 2025 at 06:00 UTC, version 2" in html
    assert "2025-03-04T06:00:00" not in html  # no raw timestamp
    # the run id only in the footer
    assert html.count("run-1") == 1
    assert re.search(r"<footer>[^<]*run-1[^<]*</footer>", html)


def test_status_counts_name_every_status_and_count_a_missing_one_as_no_data() -> None:
    assert status_counts(["on_track", "on_track", "at_risk", None, "no_target"]) == {
        "on_track": 2,
        "at_risk": 1,
        "off_track": 0,
        "no_data": 1,
        "no_target": 1,
    }
    assert status_counts(["off_track"]) == {"on_track": 0, "at_risk": 0, "off_track": 1}


def test_the_biggest_movers_by_relative_change_in_words() -> None:
    def mover(kpi_id: str, before: float, after: float, direction: str = "higher_is_better"):
        return Mover(kpi_id, kpi_id.title(), before, after, "currency", direction)

    movers = [
        mover("a", 100.0, 110.0),  # +10 %
        mover("b", 10.0, 5.0),  # -50 %
        mover("c", 0.0, 50.0),  # no relative change from 0: left out
        mover("d", 80.0, 80.0),  # did not move: left out
        mover("e", 1000.0, 1300.0, "lower_is_better"),  # +30 %
        mover("f", 200.0, 190.0),  # -5 %
    ]
    top = biggest_movers(movers)
    assert [m.kpi_id for m in top] == ["b", "e", "a"]
    previous = DAY - dt.timedelta(days=1)
    assert [m.sentence("USD", previous) for m in top] == [
        "B fell 50.0 % to 5.00 USD (10.00 USD on 2 March 2025), a bad move",
        "E rose 30.0 % to 1,300.00 USD (1,000.00 USD on 2 March 2025), a bad move",
        "A rose 10.0 % to 110.00 USD (100.00 USD on 2 March 2025), a good move",
    ]
    # in the report: counts of the test frame's statuses, and net revenue, the only KPI
    # with a previous day (6,000 -> 7,500)
    html = render()
    summary = html[html.index('id="summary"') : html.index("</section>")]
    text = " ".join(parse(summary).text)
    for count in ("2 on track", "1 at risk", "1 off track", "1 no data"):
        assert count in text
    assert "no target" not in text  # none without a target: not shown
    assert "Off track: Average order processing time" in " ".join(text.split())
    assert (
        "Net revenue rose 25.0 % to 7,500.00 USD (6,000.00 USD on 2 March 2025), a good move"
        in text
    )
    movers = summary[summary.index('<ol class="movers">') :]
    assert movers.count("<li>") == 1


def test_the_sample_day_summary_counts_every_shipped_kpi_and_three_movers() -> None:
    html = sample_report().decode()
    summary = html[html.index('id="summary"') : html.index("</section>")]
    text = " ".join(" ".join(parse(summary).text).split())
    for count in ("6 on track", "4 at risk", "2 off track", "1 no data", "1 no target"):
        assert count in text
    movers = re.findall(r"<li>([^<]*)</li>", summary)
    # each sample KPI moved by 2.3 % x (its place in the catalogue - 4): the last three
    # moved most
    assert [m.split(" rose")[0] for m in movers] == [
        "Average order processing time",
        "Net Promoter Score",
        "Average order value",
    ]


def test_kpis_come_by_family_then_in_catalogue_order() -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    html = sample_report().decode()
    shown = re.findall(r'data-kpi="([a-z_]+)"', html)
    expected = [k for family in FAMILIES for k, kpi in catalogue.items() if kpi.family == family]
    assert shown == expected and len(shown) == 14


def test_the_period_to_date_and_projection_sentence() -> None:
    row = {
        "period_grain": "month",
        "period_to_date_value": 182_400.0,
        "period_target": 248_000.0,
        "projected_value": 241_000.0,
        "projected_low": 228_000.0,
        "projected_high": 255_000.0,
        "projected_status": "at_risk",
    }
    assert period_sentence(row, "currency", "USD") == (
        "Month to date 182,400.00 USD of 248,000.00 USD target; projected 241,000.00 USD "
        "(228,000.00 USD to 255,000.00 USD), at risk"
    )
    # with the target pro-rated to date: the amount against it
    paced = {**row, "target_to_date": 176_000.0}
    assert period_sentence(paced, "currency", "USD") == (
        "Month to date 182,400.00 USD against 176,000.00 USD to date (248,000.00 USD target); "
        "projected 241,000.00 USD (228,000.00 USD to 255,000.00 USD), at risk"
    )
    rate = {**row, "period_grain": "quarter", "period_to_date_value": 0.031}
    rate.update(period_target=0.02, projected_value=0.03, projected_low=None)
    assert period_sentence(rate, "ratio", "USD", is_additive=False) == (
        "Quarter to date 3.10 % against a 2.00 % target; projected 3.00 %, at risk"
    )
    # columns absent (frames built before them) or null: nothing
    assert period_sentence({"kpi_id": "nps", "value": 1.0}, "points", "USD") is None
    assert period_sentence(dict.fromkeys(row), "points", "USD") is None
    assert (
        period_sentence({**dict.fromkeys(row), "projected_value": float("nan")}, "points", "USD")
        is None
    )


def test_the_report_shows_the_period_lines_only_when_the_snapshot_has_them() -> None:
    with_periods = sample_report().decode()
    assert with_periods.count('class="period"') == 3
    assert (
        "Month to date 3,702,345.67 USD of 37,500,000.00 USD target; projected "
        "34,567,890.12 USD (32,109,876.54 USD to 36,987,654.32 USD), at risk"
    ) in with_periods
    without = sample_report(periods=False).decode()
    assert 'class="period"' not in without and "to date" not in without
    assert 'class="period"' not in render()


def series(values: list[float]) -> list[tuple[dt.date, float | None]]:
    return [(FIRST + dt.timedelta(days=i), v) for i, v in enumerate(values)]


def heights(points: str) -> list[float]:
    return [float(p.split(",")[1]) for p in points.split()]


def test_a_target_far_from_the_series_does_not_flatten_it() -> None:
    roas = [1.3 + 0.4 * (i % 7) / 6 for i in range(90)]  # 130 % to 170 %, target 300 %
    bottom, top, on_axis = y_axis(roas, 3.0)
    assert not on_axis and bottom == pytest.approx(1.268) and top == pytest.approx(1.732)
    chart = trend_chart(series(roas), 3.0, FIRST, DAY)
    assert chart.target_y is None and chart.target_outside == "above"
    ys = [y for s in chart.segments for y in heights(s)]
    drawable = CHART_HEIGHT - 2 * CHART_PAD
    assert max(ys) - min(ys) > 0.8 * drawable  # the series fills the chart
    assert (chart.low, chart.high) == (pytest.approx(1.3), pytest.approx(1.7))

    # a target within twice the series' range of it is drawn, the series keeps a third
    near = trend_chart(series(roas), 2.4, FIRST, DAY)
    assert near.target_outside is None and near.target_y is not None
    ys = [y for s in near.segments for y in heights(s)]
    assert max(ys) - min(ys) > drawable / 3 * 0.8
    assert near.target_y < min(ys)  # above the line (smaller y is higher)

    low = trend_chart(series(roas), 0.01, FIRST, DAY)
    assert low.target_outside == "below" and low.target_y is None
    # a flat series: the target 10 % away is off the chart, not squashing it
    flat = trend_chart(series([50.0] * 90), 60.0, FIRST, DAY)
    assert flat.target_outside == "above"
    assert flat.dates == (FIRST, FIRST + dt.timedelta(days=44), DAY)


def test_the_chart_notes_and_dates_in_the_report() -> None:
    html = sample_report().decode()
    card = html[html.index('data-kpi="return_on_ad_spend"') :]
    card = card[: card.index("</article>")]
    assert "↑ target 300.00 % (above the chart)" in card
    assert "<line" not in card  # no target line at the top edge
    assert re.findall(r"<span>(\d+ \w+ \d{4})</span>", card) == [
        "4 Dec 2024",
        "17 Jan 2025",
        "3 Mar 2025",
    ]
    assert "high " in card and "low " in card
    revenue = html[html.index('data-kpi="cost_per_acquisition"') :]
    assert "dashed line: target 60.00 USD" in revenue[: revenue.index("</article>")]


def test_a_day_without_a_value_shows_the_latest_one_with_its_day() -> None:
    assert no_value_sentence(dt.date(2026, 11, 29), (dt.date(2026, 11, 28), "20.58 h"), 90) == (
        "No value on 29 November 2026; the latest: 20.58 h on 28 November 2026"
    )
    assert no_value_sentence(DAY, None, 90) == (
        "No value on 3 March 2025, nor in the 90 days before"
    )
    two_before, long_ago = DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=91)
    history = pl.DataFrame(
        {
            "kpi_id": ["nps", "nps", "nps", "net_revenue"],
            "kpi_date": [DAY - dt.timedelta(days=1), two_before, long_ago, DAY],
            "value": [None, 45.0, 50.0, 7500.0],
        }
    )
    # the day before has no value either; 91 days back is beyond the lookback; the day
    # itself is not "before"
    assert latest_before(history, DAY) == {"nps": (two_before, 45.0)}


def test_the_card_without_a_value_says_so_and_gives_the_latest() -> None:
    """NPS has no responses on the day (tests/publish/test_report.py); nothing before it in
    the history: said so, never 0. With a value two days before, that one, dated."""
    text = " ".join(parse(render()).text)
    assert "No value on 3 March 2025, nor in the 90 days before" in text
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    ctx = ReportContext(DAY, 2, "2025-03-04T06:00:00+00:00", "run-1", "USD", [])
    frame = snapshot_frame(facts(), catalogue, day_attainment(facts(), catalogue))
    earlier = pl.DataFrame(
        {"kpi_id": ["nps"], "kpi_date": [DAY - dt.timedelta(days=2)], "value": [45.0]}
    )
    html = render_report(ctx, frame, pl.concat([history(), earlier]), catalogue).decode()
    assert "No value on 3 March 2025; the latest: 45.0 on 1 March 2025" in html
