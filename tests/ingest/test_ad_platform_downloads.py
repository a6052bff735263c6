"""The ad platforms' own downloads: a Google Ads report as the web UI downloads it (title
and date-range lines, `"2,000.50"`, ` --`, `Total: ...` rows; UTF-8 or UTF-16 with tabs)
and Meta Ads Manager's export (`Reporting starts` / `Reporting ends`, `Amount spent (EUR)`,
a totals row). The report's own lines are counted in the ingest log, never loaded nor
quarantined; a date range that disagrees with the folder, or a row spanning several days,
refuses the file. End to end, the same spend delivered this way gives exactly the cost per
acquisition of the same spend in `spend.csv`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.errors import MissingColumnsError
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.ingest.report_layouts import ReportLayoutError, parse_date_range
from tests.conftest import deploy

DAY = dt.date(2026, 11, 1)
KEY = b"ad-downloads-key"
LOADED_AT = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)

# The Google Ads UI "Campaign report" download, as the issue shows it (plus ` --` for no
# conversions and a ` --` campaign in a total row).
GOOGLE_UI = (
    "Campaign report\n"
    '"November 1, 2026 - November 1, 2026"\n'
    "Day,Campaign,Campaign ID,Currency code,Cost,Impr.,Clicks,Conversions,CTR\n"
    '2026-11-01,Brand - Search,123456789,USD,"2,000.50","12,345",678,12.00,5.49%\n'
    "2026-11-01,Display Retargeting,987654321,USD,150.25,8000,95,1.00,1.19%\n"
    "2026-11-01,Paused campaign,111222333,USD,0.00,0,0, --, --\n"
    'Total: Campaigns,,,USD,"2,150.75","20,345",773,13.00,3.80%\n'
    'Total: Account, --,,USD,"2,150.75","20,345",773,13.00,3.80%\n'
)
GOOGLE_UI_ROWS = list(csv.reader(io.StringIO(GOOGLE_UI)))
GOOGLE_UI_LOADED = {
    "spend_date": [DAY, DAY, DAY],
    "campaign": ["Brand - Search", "Display Retargeting", "Paused campaign"],
    "campaign_id": ["123456789", "987654321", "111222333"],
    "currency": ["USD", "USD", "USD"],
    "cost": [2000.5, 150.25, 0.0],
    "cost_micros": [None, None, None],
    "impressions": [12345, 8000, 0],
    "clicks": [678, 95, 0],
    "conversions": [12.0, 1.0, None],
}


def deliver(landing: Path, extract: c.CsvExtract, content: bytes, day: dt.date = DAY) -> Path:
    folder = landing / extract.source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / extract.file_name
    path.write_bytes(content)
    return path


def load(landing: Path, extract: c.CsvExtract, day: dt.date = DAY):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con, load_csv_day(con, extract, landing, day, KEY, LOADED_AT)


def loaded(con, table: str, columns: list[str]) -> dict[str, list]:
    rows = con.execute(
        f"select {', '.join(columns)} from raw.{table} order by _row_number"
    ).fetchall()
    return {name: [r[i] for r in rows] for i, name in enumerate(columns)}


def ingest_log(con) -> list[tuple]:
    return con.execute(
        "select rows_read, rows_loaded, rows_quarantined, summary_lines_skipped "
        "from raw._ingest_log"
    ).fetchall()


def quarantined(con) -> list[tuple]:
    return con.execute(
        "select row_number, line_number, column_name, reason from raw._quarantine "
        "order by row_number"
    ).fetchall()


def test_google_ui_download_loads_its_campaign_rows_and_counts_its_own_lines(
    tmp_path: Path,
) -> None:
    deliver(tmp_path, c.GOOGLE_ADS, GOOGLE_UI.encode())
    con, result = load(tmp_path, c.GOOGLE_ADS)
    assert loaded(con, "google_ads_campaigns", list(GOOGLE_UI_LOADED)) == GOOGLE_UI_LOADED
    assert quarantined(con) == []
    # title + date range + 2 total rows: counted, neither loaded nor quarantined
    assert ingest_log(con) == [(3, 3, 0, 4)]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)


def test_google_ui_download_as_utf16_with_tabs_loads_the_same(tmp_path: Path) -> None:
    """Google's "Excel CSV": UTF-16LE with a byte-order mark, tab-separated, CRLF; the
    date-range line unquoted (it holds no tab)."""
    text = "\r\n".join("\t".join(row) for row in GOOGLE_UI_ROWS) + "\r\n"
    content = text.encode("utf-16")
    assert content[:2] == b"\xff\xfe"
    deliver(tmp_path, c.GOOGLE_ADS, content)
    con, _ = load(tmp_path, c.GOOGLE_ADS)
    assert loaded(con, "google_ads_campaigns", list(GOOGLE_UI_LOADED)) == GOOGLE_UI_LOADED
    assert quarantined(con) == []
    assert ingest_log(con) == [(3, 3, 0, 4)]


def test_a_bad_row_of_a_ui_download_is_quarantined_on_its_file_line(tmp_path: Path) -> None:
    """Row numbers count the rows under the header; the line is the file's (title, date
    range and header above it). A `Total` row inside the table is no summary: its day is
    missing, so it is quarantined like any row."""
    text = GOOGLE_UI.replace("0.00,0,0, --", "ten,0,0, --").replace(
        "2026-11-01,Display Retargeting", "Total: Display,Display Retargeting"
    )
    deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    con, _ = load(tmp_path, c.GOOGLE_ADS)
    assert quarantined(con) == [
        (
            2,
            5,
            "Day",
            "column 'Day': expected a date YYYY-MM-DD, found 'Total: Display'",
        ),
        (3, 6, "Cost", "column 'Cost': expected a number, found 'ten'"),
    ]
    assert loaded(con, "google_ads_campaigns", ["campaign"]) == {"campaign": ["Brand - Search"]}
    assert ingest_log(con) == [(3, 1, 2, 4)]


def test_a_campaign_named_total_with_a_day_is_a_campaign(tmp_path: Path) -> None:
    text = (
        "Campaign,Day,Currency code,Cost\n"
        "Generic,2026-11-01,USD,10.00\n"
        "Total brand,2026-11-01,USD,5.00\n"
        "Total: Campaigns,,USD,15.00\n"
    )
    deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    con, _ = load(tmp_path, c.GOOGLE_ADS)
    assert loaded(con, "google_ads_campaigns", ["campaign", "cost"]) == {
        "campaign": ["Generic", "Total brand"],
        "cost": [10.0, 5.0],
    }
    assert ingest_log(con) == [(2, 2, 0, 1)]


def test_a_ui_download_restating_earlier_days_ends_on_its_folder_day(tmp_path: Path) -> None:
    text = (
        "Campaign report\n"
        '"Oct 30, 2026 - Nov 1, 2026"\n'
        "Day,Campaign,Currency code,Cost\n"
        "2026-10-30,Generic,USD,1.00\n"
        "2026-11-01,Generic,USD,2.00\n"
        'Total: Account,,USD,"3.00"\n'
    )
    deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    con, _ = load(tmp_path, c.GOOGLE_ADS)
    assert loaded(con, "google_ads_campaigns", ["spend_date", "cost"]) == {
        "spend_date": [dt.date(2026, 10, 30), DAY],
        "cost": [1.0, 2.0],
    }
    assert ingest_log(con) == [(2, 2, 0, 3)]


def test_a_date_range_disagreeing_with_the_folder_refuses_the_file(tmp_path: Path) -> None:
    next_day = DAY + dt.timedelta(days=1)
    path = deliver(tmp_path, c.GOOGLE_ADS, GOOGLE_UI.encode(), day=next_day)
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS, day=next_day)
    assert str(err.value) == (
        f"{path}: line 2: the report's date range is 2026-11-01 to 2026-11-01 "
        "('November 1, 2026 - November 1, 2026'), but the file is in the folder of "
        "2026-11-02 (dt=2026-11-02); a report delivered in dt=D must cover a period ending "
        "on D. Download the report again for a range ending on 2026-11-02 or move it to the "
        "folder dt=2026-11-01."
    )


def test_a_row_outside_the_date_range_refuses_the_file(tmp_path: Path) -> None:
    text = GOOGLE_UI.replace("2026-11-01,Paused campaign", "2026-10-31,Paused campaign")
    path = deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS)
    assert str(err.value).startswith(
        f"{path}: line 6: the row's day 2026-10-31 is outside the report's date range "
        "2026-11-01 to 2026-11-01 (line 2)"
    )


def test_an_unreadable_date_range_refuses_the_file(tmp_path: Path) -> None:
    text = GOOGLE_UI.replace("November 1, 2026 - November 1, 2026", "1. November 2026 - heute")
    path = deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS)
    message = str(err.value)
    assert message.startswith(
        f"{path}: line 2: cannot read the report's date range '1. November 2026 - heute'"
    )
    assert "Google Ads interface in English" in message


def test_a_ui_download_without_the_day_segment_is_refused(tmp_path: Path) -> None:
    text = (
        "Campaign report\n"
        '"November 1, 2026 - November 7, 2026"\n'
        "Campaign,Currency code,Cost\n"
        "Generic,USD,70.00\n"
    )
    path = deliver(tmp_path, c.GOOGLE_ADS, text.encode(), day=dt.date(2026, 11, 7))
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS, day=dt.date(2026, 11, 7))
    assert str(err.value) == (
        f"{path}: line 3: the report has no 'Day' column, so each row covers the whole range "
        "2026-11-01 to 2026-11-07 and cannot be put on a day. Add the segment Time > Day to "
        "the report and download it again."
    )


def test_numbers_with_a_decimal_comma_refuse_the_file(tmp_path: Path) -> None:
    """`2.000,50` would otherwise be read as 2.00050: a wrong spend, loaded silently."""
    text = GOOGLE_UI.replace('"2,000.50"', '"2.000,50"')
    path = deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS)
    assert str(err.value).startswith(
        f"{path}: line 4: column 'Cost': '2.000,50' is not a number written with a decimal point"
    )


def test_a_ui_download_with_labels_in_another_language_is_refused_by_name(
    tmp_path: Path,
) -> None:
    """Before, such a file failed as "found more fields than defined in 'Schema'"."""
    text = (
        "Kampagnenbericht\n"
        '"1. November 2026 - 1. November 2026"\n'
        "Tag,Kampagne,Währungscode,Kosten\n"
        '2026-11-01,Marke,EUR,"2.000,50"\n'
    )
    path = deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.GOOGLE_ADS)
    message = str(err.value)
    assert message.startswith(
        f"{path}: line 1 is 'Kampagnenbericht', and none of the first 10 lines is a header "
        "with the report's columns (Day, Campaign, Currency code, Cost, ...)."
    )
    assert "Schema" not in message


def test_a_ui_download_missing_a_required_column_names_the_real_header(tmp_path: Path) -> None:
    text = GOOGLE_UI.replace("Currency code", "Currency name")
    deliver(tmp_path, c.GOOGLE_ADS, text.encode())
    with pytest.raises(MissingColumnsError) as err:
        load(tmp_path, c.GOOGLE_ADS)
    assert err.value.missing == ["Currency code"]
    assert err.value.found[:2] == ["Day", "Campaign"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("November 1, 2026 - November 1, 2026", (DAY, DAY)),
        ("Oct 25, 2026 \u2013 Nov 1, 2026", (dt.date(2026, 10, 25), DAY)),
        ("1 November 2026 - 7 November 2026", (DAY, dt.date(2026, 11, 7))),
        ("Sept 30, 2026 - Oct 1, 2026", (dt.date(2026, 9, 30), dt.date(2026, 10, 1))),
        ("2026-10-01 - 2026-11-01", (dt.date(2026, 10, 1), DAY)),
        ("November\u00a01, 2026", (DAY, DAY)),
        ("February 30, 2026 - March 1, 2026", None),
        ("All time", None),
        ("1. November 2026 - 7. November 2026", None),
    ],
)
def test_date_range_lines(text: str, expected) -> None:
    assert parse_date_range(text) == expected


META_BY_DAY = (
    "Campaign name,Reporting starts,Reporting ends,Amount spent (EUR),Impressions,"
    "Link clicks,Results,Result indicator\n"
    ',2026-10-31,2026-11-01,"1,330.75",30000,300,,\n'
    'Spring retarget,2026-11-01,2026-11-01,"1,200.50","20,000",250,4,actions:purchase\n'
    "Brand awareness,2026-11-01,2026-11-01,100.25,6000,40, --,\n"
    "Spring retarget,2026-10-31,2026-10-31,30.00,4000,10,1,actions:purchase\n"
)


def test_meta_export_by_day_loads_and_counts_its_totals_row(tmp_path: Path) -> None:
    deliver(tmp_path, c.META_ADS, META_BY_DAY.encode())
    con, _ = load(tmp_path, c.META_ADS)
    assert loaded(
        con, "meta_ads_campaigns", ["spend_date", "campaign", "spend", "currency", "actions"]
    ) == {
        "spend_date": [DAY, DAY, dt.date(2026, 10, 31)],
        "campaign": ["Spring retarget", "Brand awareness", "Spring retarget"],
        "spend": [1200.5, 100.25, 30.0],
        "currency": ["EUR", "EUR", "EUR"],
        "actions": [4.0, None, 1.0],
    }
    assert quarantined(con) == []
    assert ingest_log(con) == [(3, 3, 0, 1)]


def test_meta_export_with_a_day_column_and_totals_last(tmp_path: Path) -> None:
    """A `Day` breakdown column beside the reporting period: the day is the row's, and it
    must lie in its period; `Results from 2 campaigns` last is the totals row."""
    text = (
        "Campaign name,Day,Reporting starts,Reporting ends,Amount spent (USD)\n"
        "Spring retarget,2026-11-01,2026-10-31,2026-11-01,12.00\n"
        "Brand awareness,2026-10-31,2026-10-31,2026-11-01,8.00\n"
        "Results from 2 campaigns,,2026-10-31,2026-11-01,20.00\n"
    )
    deliver(tmp_path, c.META_ADS, text.encode())
    con, _ = load(tmp_path, c.META_ADS)
    assert loaded(con, "meta_ads_campaigns", ["spend_date", "campaign", "currency"]) == {
        "spend_date": [DAY, dt.date(2026, 10, 31)],
        "campaign": ["Spring retarget", "Brand awareness"],
        "currency": ["USD", "USD"],
    }
    assert ingest_log(con) == [(2, 2, 0, 1)]


def test_a_meta_row_spanning_several_days_refuses_the_file(tmp_path: Path) -> None:
    text = (
        "Campaign name,Reporting starts,Reporting ends,Amount spent (EUR)\n"
        "Spring retarget,2026-11-01,2026-11-01,12.00\n"
        "Brand awareness,2026-10-26,2026-11-01,70.00\n"
    )
    path = deliver(tmp_path, c.META_ADS, text.encode())
    with pytest.raises(ReportLayoutError) as err:
        load(tmp_path, c.META_ADS)
    assert str(err.value) == (
        f"{path}: line 3: the row of campaign 'Brand awareness' covers 2026-10-26 to "
        "2026-11-01 ('Reporting starts' to 'Reporting ends'); spend over several days cannot "
        "be put on days without guessing how it was spread. Export the report again broken "
        "down by day (Breakdown > By time > Day), so that each row covers one day, and "
        "deliver it again."
    )


def test_a_campaign_row_without_a_name_inside_the_table_is_quarantined(tmp_path: Path) -> None:
    text = (
        "Campaign name,Reporting starts,Reporting ends,Amount spent (EUR)\n"
        "Spring retarget,2026-11-01,2026-11-01,12.00\n"
        ",2026-11-01,2026-11-01,3.00\n"
        "Brand awareness,2026-11-01,2026-11-01,7.00\n"
    )
    deliver(tmp_path, c.META_ADS, text.encode())
    con, _ = load(tmp_path, c.META_ADS)
    assert quarantined(con) == [
        (2, 3, "Campaign name", "column 'Campaign name': required value is empty")
    ]
    assert ingest_log(con) == [(3, 2, 1, 0)]


# --- end to end: the same spend, two ways --------------------------------------------


def _money(text: str) -> str:
    return f"{Decimal(text):,.2f}"


def _count(text: str) -> str:
    return f"{int(text):,}"


def _long_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def write_platform_downloads(ads_folder: Path, day: dt.date) -> None:
    """Replace `spend.csv` of `day` by the same rows as the platforms download them: the
    Google rows as a UI report (title, date range, thousands separators, ` --`, totals,
    UTF-16 with tabs), the Meta rows as an Ads Manager export by day (totals row first,
    the currency in the spend label)."""
    spend_csv = ads_folder / "spend.csv"
    with spend_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    spend_csv.unlink()
    assert {r["currency"] for r in rows} == {"USD"}
    google = [r for r in rows if r["channel"] == "google_ads"]
    meta = [r for r in rows if r["channel"] == "meta_ads"]
    assert google and meta

    first = min(dt.date.fromisoformat(r["date"]) for r in google)
    cost = sum(Decimal(r["spend"]) for r in google)
    impressions = sum(int(r["impressions"]) for r in google)
    clicks = sum(int(r["clicks"]) for r in google)
    lines = [
        ["Campaign report"],
        [f"{_long_date(first)} - {_long_date(day)}"],
        [
            "Day",
            "Campaign",
            "Campaign ID",
            "Currency code",
            "Cost",
            "Impr.",
            "Clicks",
            "Conversions",
            "CTR",
        ],
        *[
            [
                r["date"],
                r["campaign"],
                str(900 + n),
                "USD",
                _money(r["spend"]),
                _count(r["impressions"]),
                _count(r["clicks"]),
                " --",
                "1.00%",
            ]
            for n, r in enumerate(google)
        ],
        *[
            [
                f"Total: {what}",
                "",
                "",
                "USD",
                _money(str(cost)),
                _count(str(impressions)),
                _count(str(clicks)),
                " --",
                "1.00%",
            ]
            for what in ("Campaigns", "Account", "Search")
        ],
    ]
    text = "\r\n".join("\t".join(line) for line in lines) + "\r\n"
    (ads_folder / "google_ads.csv").write_bytes(text.encode("utf-16"))

    total = sum(Decimal(r["spend"]) for r in meta)
    with (ads_folder / "meta_ads.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "Campaign name",
                "Reporting starts",
                "Reporting ends",
                "Amount spent (USD)",
                "Impressions",
                "Link clicks",
                "Results",
                "Result indicator",
            ]
        )
        days = sorted({r["date"] for r in meta})
        writer.writerow(["", days[0], days[-1], _money(str(total)), "", "", "", ""])
        for r in meta:
            writer.writerow(
                [
                    r["campaign"],
                    r["date"],
                    r["date"],
                    _money(r["spend"]),
                    _count(r["impressions"]),
                    _count(r["clicks"]),
                    "",
                    "",
                ]
            )


def _kpis(deployment, day: dt.date) -> pl.DataFrame:
    return pl.read_parquet(deployment.snapshots / day.isoformat() / "latest" / "kpis.parquet")


def _by_dimension(snapshot: pl.DataFrame, kpi: str) -> dict[tuple[str, str], tuple]:
    return {
        (r["dimension"], r["dimension_value"]): (r["numerator"], r["denominator"], r["value"])
        for r in snapshot.filter(pl.col("kpi_id") == kpi).iter_rows(named=True)
    }


@pytest.mark.e2e
def test_platform_downloads_give_exactly_the_kpis_of_the_same_spend_in_spend_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kpi_pipeline.sample import generate_sample

    # scale 0.5: a Google campaign spends over 1,000 that day (a thousands separator)
    flat = deploy(tmp_path / "flat", monkeypatch)
    generate_sample(DAY, DAY, flat.landing, scale=0.5)
    with (flat.landing / "ads" / f"dt={DAY}" / "spend.csv").open(newline="") as handle:
        spend_rows = list(csv.DictReader(handle))
    spend_of_day = sum(Decimal(r["spend"]) for r in spend_rows if r["date"] == DAY.isoformat())
    assert any(Decimal(r["spend"]) >= 1000 for r in spend_rows if r["channel"] == "google_ads")
    report = flat.run(DAY)
    assert report.success, report.reason()
    flat_kpis = _kpis(flat, DAY)

    platforms = deploy(tmp_path / "platforms", monkeypatch)
    generate_sample(DAY, DAY, platforms.landing, scale=0.5)
    write_platform_downloads(platforms.landing / "ads" / f"dt={DAY}", DAY)
    report = platforms.run(DAY)
    assert report.success, report.reason()
    platform_kpis = _kpis(platforms, DAY)

    for kpi in ("cost_per_acquisition", "customer_acquisition_cost", "return_on_ad_spend"):
        assert _by_dimension(platform_kpis, kpi) == _by_dimension(flat_kpis, kpi), kpi

    numerator, customers, cpa = _by_dimension(platform_kpis, "cost_per_acquisition")[("all", "all")]
    assert customers > 0
    assert numerator == float(spend_of_day)
    assert cpa == float(spend_of_day) / customers
    # customer acquisition cost: the same spend plus the other marketing costs (seed:
    # 150.00 + 40.00 + 85.50 a day); return on ad spend: over the same spend
    cac_numerator, cac_customers, _ = _by_dimension(platform_kpis, "customer_acquisition_cost")[
        ("all", "all")
    ]
    assert (cac_numerator, cac_customers) == (float(spend_of_day + Decimal("275.50")), customers)
    assert _by_dimension(platform_kpis, "return_on_ad_spend")[("all", "all")][1] == float(
        spend_of_day
    )

    with duckdb.connect(str(platforms.warehouse), read_only=True) as con:
        log = con.execute(
            """select raw_table, rows_read, rows_loaded, rows_quarantined, summary_lines_skipped
               from raw._ingest_log where raw_table in
                   ('ads_spend', 'google_ads_campaigns', 'meta_ads_campaigns')
               order by raw_table"""
        ).fetchall()
    google_rows = sum(1 for r in spend_rows if r["channel"] == "google_ads")
    meta_rows = len(spend_rows) - google_rows
    assert log == [
        # title + date range + 3 total rows; the totals row
        ("google_ads_campaigns", google_rows, google_rows, 0, 5),
        ("meta_ads_campaigns", meta_rows, meta_rows, 0, 1),
    ]
