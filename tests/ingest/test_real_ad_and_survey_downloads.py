"""Real Google Ads web-UI downloads and real Qualtrics exports (tests/fixtures/real/ads,
tests/fixtures/real/surveys, PROVENANCE_more.md), read as they are.

The real Google Ads files are "All time" reports without the Day segment: they are
recognised (title, date-range and `Total:` lines, UTF-8 CSV, TSV and UTF-16 "Excel CSV")
and refused with what to do, since their rows cannot be put on days. The search-terms
report, given the Day segment in the test (its values untouched), loads every table row
and counts Google's own lines. The real Qualtrics exports ask no NPS question: they are
refused with what to do; the same exports with an NPS question added in the test load
their responses, and nothing personal."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.report_layouts import ReportLayoutError
from kpi_pipeline.ingest.survey_layouts import SurveyLayoutError
from tests.ingest.test_ad_platform_downloads import (
    DAY,
    deliver,
    ingest_log,
    load,
    loaded,
    quarantined,
)

REAL = Path(__file__).parents[1] / "fixtures" / "real"
SEARCH_TERMS = REAL / "ads" / "google_ads_search_terms_report_slice.csv"
QUALTRICS = REAL / "surveys" / "qualtrics_sample.csv"
QUALTRICS_LEGACY = REAL / "surveys" / "qualtrics_sample_legacy.csv"
SURVEY_DAY = dt.date(2017, 7, 18)  # the real responses' day


@pytest.mark.parametrize(
    "name",
    [
        "google_ads_search_terms_report_slice.csv",
        "google_ads_ad_report.csv",
        "google_ads_ad_report.tsv",
        "google_ads_ad_report_excel_csv_utf16.csv",
    ],
)
def test_a_real_all_time_download_without_days_is_refused_with_what_to_do(
    tmp_path: Path, name: str
) -> None:
    path = deliver(tmp_path, c.GOOGLE_ADS, (REAL / "ads" / name).read_bytes())
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS)
    assert str(err.value) == (
        f"{path}: line 3: the report has no 'Day' column, so each row covers the whole period "
        "'All time' and cannot be put on a day. Add the segment Time > Day to the report and "
        "download it again, for a date range ending on 2026-11-01."
    )


def _with_day_segment(content: bytes, day: dt.date) -> bytes:
    """The report as Google writes it with the segment Time > Day: a `Day` column first;
    a `Total:` row keeps its label in the first cell. The report's cells are kept as they are."""
    lines = content.decode("utf-8").split("\n")
    rows = list(csv.reader(lines[2:]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for number, row in enumerate(rows):
        if not row:
            continue
        if number == 0:
            writer.writerow(["Day", *row])
        elif row[0].startswith("Total:"):
            writer.writerow([row[0], "", *row[1:]])
        else:
            writer.writerow([day.isoformat(), *row])
    return ("\n".join(lines[:2]) + "\n" + out.getvalue()).encode("utf-8")


def _table_rows(path: Path) -> list[dict[str, str]]:
    """The real report's campaign rows, read with the csv module alone."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = list(csv.DictReader(lines[2:]))
    return [row for row in rows if not row["Search term"].startswith("Total:")]


def test_the_real_search_terms_report_with_days_loads_every_row(tmp_path: Path) -> None:
    expected = _table_rows(SEARCH_TERMS)
    assert len(expected) == 100
    deliver(tmp_path, c.GOOGLE_ADS, _with_day_segment(SEARCH_TERMS.read_bytes(), DAY))
    con, result = load(tmp_path, c.GOOGLE_ADS)
    got = loaded(con, "google_ads_campaigns", ["spend_date", "campaign", "currency", "cost"])
    assert got["campaign"] == [row["Campaign"] for row in expected]
    assert set(got["spend_date"]) == {DAY}
    assert set(got["currency"]) == {"EUR"}
    assert sum(Decimal(str(v)) for v in got["cost"]) == sum(
        Decimal(row["Cost"]) for row in expected
    )
    impressions = loaded(con, "google_ads_campaigns", ["impressions"])["impressions"]
    assert impressions == [int(row["Impr."].replace(",", "")) for row in expected]
    assert quarantined(con) == []
    # title + "All time" + five `Total:` rows: counted, neither loaded nor quarantined
    assert ingest_log(con) == [(100, 100, 0, 7)]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (100, 100, 0)


@pytest.mark.parametrize(
    ("fixture", "questions"),
    [(QUALTRICS, "Q1, Q2, Q2 - Topics"), (QUALTRICS_LEGACY, "Q1, Q2")],
)
def test_a_real_qualtrics_export_without_an_nps_question_is_refused(
    tmp_path: Path, fixture: Path, questions: str
) -> None:
    path = deliver(tmp_path, c.NPS_RESPONSES, fixture.read_bytes())
    with pytest.raises(SurveyLayoutError) as err:
        load(tmp_path, c.NPS_RESPONSES)
    assert str(err.value) == (
        f"{path}: line 1: this Qualtrics export has no Net Promoter Score question (a 0-10 "
        "question of type Net Promoter Score, exported with its _NPS_GROUP column); its "
        f"questions: {questions}. Export the survey that asks the NPS question, or deliver "
        "responses.csv with the columns response_id, submitted_at and score (see "
        "docs/landing_zone.md)."
    )


def _with_nps_question(fixture: Path, answers: list[str], import_ids: bool = True) -> bytes:
    """The real export with an NPS question `Q3` and its `Q3_NPS_GROUP` added as Qualtrics
    writes them, one response per answer: the real response, then copies of it with their
    own ids (`R_<n>`) a minute apart."""
    text = fixture.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [row[:-1] if row and row[-1] == "" and not import_ids else row for row in rows]
    meta = 3 if import_ids else 2
    codes = ["Q3", "Q3_NPS_GROUP"]
    labels = ["How likely are you to recommend us?", "How likely are you ... - Group"]
    head = [rows[0] + codes, rows[1] + labels]
    if import_ids:
        head.append(rows[2] + ['{"ImportId":"QID3"}', '{"ImportId":"QID3_NPS_GROUP"}'])
    response = rows[meta]
    header = rows[meta - 1 if not import_ids else 0]
    id_at = [h.lower() for h in header].index("responseid")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(head)
    for n, answer in enumerate(answers):
        row = list(response)
        if n:
            row[id_at] = f"R_{n}"
        writer.writerow([*row, answer, _nps_group(answer)])
    return out.getvalue().encode("utf-8")


def _nps_group(answer: str) -> str:
    """Qualtrics' group codes: 1 detractor (0-6), 2 passive (7-8), 3 promoter (9-10)."""
    if not answer:
        return ""
    return "1" if int(answer) <= 6 else "2" if int(answer) <= 8 else "3"


def test_a_qualtrics_export_with_an_nps_question_loads_its_responses(tmp_path: Path) -> None:
    deliver(
        tmp_path, c.NPS_RESPONSES, _with_nps_question(QUALTRICS, ["9", "3", "", "10"]), SURVEY_DAY
    )
    con, result = load(tmp_path, c.NPS_RESPONSES, day=SURVEY_DAY)
    got = loaded(con, "nps_responses", ["response_id", "submitted_at", "score", "contact_id"])
    recorded = dt.datetime(2017, 7, 18, 8, 28, 48, tzinfo=dt.UTC)
    assert got["response_id"] == ["R_2YPOQ602ER1jkf1", "R_1", "R_3"]
    assert got["score"] == [9, 3, 10]
    assert [t.astimezone(dt.UTC) for t in got["submitted_at"]] == [recorded] * 3
    assert got["contact_id"] == [None] * 3
    # the unanswered response: quarantined on its file line (header, texts, import ids above)
    assert [(row, line, column) for row, line, column, _ in quarantined(con)] == [(3, 6, "score")]
    assert ingest_log(con) == [(4, 3, 1, 2)]
    columns = {r[0] for r in con.execute("describe raw.nps_responses").fetchall()}
    personal = {"recipientemail", "recipientlastname", "ipaddress", "email"}
    assert not {name.lower() for name in columns} & personal
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


def test_a_legacy_qualtrics_export_with_an_nps_question_loads_the_same(tmp_path: Path) -> None:
    deliver(
        tmp_path,
        c.NPS_RESPONSES,
        _with_nps_question(QUALTRICS_LEGACY, ["0", "7"], import_ids=False),
        SURVEY_DAY,
    )
    con, _ = load(tmp_path, c.NPS_RESPONSES, day=SURVEY_DAY)
    got = loaded(con, "nps_responses", ["response_id", "submitted_at", "score"])
    assert got["response_id"] == ["R_2YPOQ602ER1jkf1", "R_1"]
    assert got["score"] == [0, 7]
    # the legacy layout's EndDate: the response's last answer
    ended = dt.datetime(2017, 7, 18, 8, 28, 48, tzinfo=dt.UTC)
    assert [t.astimezone(dt.UTC) for t in got["submitted_at"]] == [ended, ended]
    assert ingest_log(con) == [(2, 2, 0, 1)]


def test_a_qualtrics_export_in_another_zone_is_refused(tmp_path: Path) -> None:
    content = _with_nps_question(QUALTRICS, ["9"]).replace(
        b'{""ImportId"":""recordedDate""}',
        b'{""ImportId"":""recordedDate"",""timeZone"":""America/Denver""}',
    )
    path = deliver(tmp_path, c.NPS_RESPONSES, content, SURVEY_DAY)
    with pytest.raises(SurveyLayoutError) as err:
        load(tmp_path, c.NPS_RESPONSES, day=SURVEY_DAY)
    assert str(err.value) == (
        f"{path}: line 3: the export's times are in the zone 'America/Denver', not UTC. "
        "Export the responses again with the time zone set to UTC."
    )


def test_a_qualtrics_export_with_two_nps_questions_is_refused(tmp_path: Path) -> None:
    content = _with_nps_question(QUALTRICS, ["9"]).replace(b"Q1,Q2,", b"Q1,Q1_NPS_GROUP,", 1)
    path = deliver(tmp_path, c.NPS_RESPONSES, content, SURVEY_DAY)
    with pytest.raises(SurveyLayoutError) as err:
        load(tmp_path, c.NPS_RESPONSES, day=SURVEY_DAY)
    assert str(err.value) == (
        f"{path}: line 1: this Qualtrics export has 2 Net Promoter Score questions (Q1, Q3) "
        "and only one can be the score. Export the responses with only the NPS question "
        "that this KPI tracks."
    )
