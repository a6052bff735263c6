"""The bad-file corpus: every awkward delivery has one exact, asserted outcome.

Each case copies one file of `corpus/` into a fresh landing zone as the extract of
2025-03-03 and loads it through the production loader (`load_csv_day`). The outcome is
either the rows loaded (with values checked where the case is about values) and the
rows quarantined with their row, file line, column and reason, or a contract error
naming the file, what is missing and what was found.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.errors import (
    DuplicateColumnsError,
    ExtractError,
    ExtractUnreadableError,
    MissingColumnsError,
)
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.ingest.pii import keyed_hash

CORPUS = Path(__file__).parent / "corpus"
DAY = dt.date(2025, 3, 3)
KEY = b"corpus-key"
LOADED_AT = dt.datetime(2025, 3, 4, 6, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@dataclass(frozen=True)
class Loads:
    """`rows` loaded; `quarantined` as (row, line, column, reason); `values` column -> list;
    `gate_blocks` the (column, failing rows) the raw table's GX suite then fails on."""

    rows: int
    quarantined: list[tuple[int, int | None, str | None, str]] = field(default_factory=list)
    values: dict[str, list] = field(default_factory=dict)
    gate_blocks: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Fails:
    error: type[ExtractError]
    mentions: list[str]


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


ORDER_IDS = {"order_id": ["O-1", "O-2"], "net_amount": [19.9, 5.0]}
FUTURE = "is after the extract day 2025-03-03"

CASES: dict[str, tuple[c.CsvExtract, Loads | Fails]] = {
    "orders_bom.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_crlf.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_semicolon.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_tab.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_utf16_tab.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_gzip.csv.gz": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_extra_columns.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_labels_in_other_case.csv": (c.ORDERS, Loads(2, values=ORDER_IDS)),
    "orders_header_only.csv": (c.ORDERS, Loads(0)),
    "orders_thousands_separator.csv": (c.ORDERS, Loads(1, values={"net_amount": [1234.5]})),
    "orders_truncated_last_line.csv": (
        c.ORDERS,
        Loads(
            2,
            [
                (
                    3,
                    4,
                    "placed_at",
                    "column 'placed_at': expected an ISO 8601 timestamp with a zone "
                    "(Z or +hh:mm), found '2025-03-03T1'",
                )
            ],
        ),
    ),
    "orders_truncated_inside_quotes.csv": (
        c.ORDERS,
        Loads(2, [(3, 4, None, "last line is incomplete (file cut short?); re-deliver the file")]),
    ),
    "orders_text_in_numeric.csv": (
        c.ORDERS,
        Loads(1, [(2, 3, "net_amount", "column 'net_amount': expected a number, found 'ten'")]),
    ),
    "orders_timestamp_without_zone.csv": (
        c.ORDERS,
        Loads(
            1,
            [
                (
                    2,
                    3,
                    "placed_at",
                    "column 'placed_at': expected an ISO 8601 timestamp with a zone "
                    "(Z or +hh:mm), found '2025-03-03 10:00:00'",
                )
            ],
        ),
    ),
    "orders_future_date.csv": (
        c.ORDERS,
        Loads(
            1, [(2, 3, "placed_at", f"column 'placed_at': {FUTURE}, found '2025-03-09T10:00:00Z'")]
        ),
    ),
    "orders_missing_required_value.csv": (
        c.ORDERS,
        Loads(1, [(2, 3, "order_id", "column 'order_id': required value is empty")]),
    ),
    "orders_short_row.csv": (
        c.ORDERS,
        Loads(1, [(2, 3, "status", "column 'status': required value is empty")]),
    ),
    "orders_empty.csv": (
        c.ORDERS,
        Fails(MissingColumnsError, ["'order_id'", "'net_amount'", "found no columns"]),
    ),
    "orders_missing_required_column.csv": (
        c.ORDERS,
        Fails(MissingColumnsError, ["missing required column(s) 'net_amount'", "found 'order_id'"]),
    ),
    "orders_duplicate_contract_column.csv": (
        c.ORDERS,
        Fails(DuplicateColumnsError, ["'net_amount' appear more than once"]),
    ),
    "orders_too_many_fields.csv": (
        c.ORDERS,
        Fails(ExtractUnreadableError, ["cannot be read", "more fields"]),
    ),
    "orders_gzip_damaged.csv.gz": (
        c.ORDERS,
        Fails(ExtractUnreadableError, ["gzip stream is damaged"]),
    ),
    # Parquet: typed columns become text and go through the same checks as a CSV
    "orders.parquet": (
        c.ORDERS,
        Loads(
            3,
            values={
                "order_id": ["O-1", "O-2", "O-3"],
                "placed_at": [
                    ts("2025-03-03T09:00:00+00:00"),
                    ts("2025-03-02T09:00:00+00:00"),
                    ts("2025-03-03T09:30:00+00:00"),
                ],
                "fulfilled_at": [None, ts("2025-03-03T08:30:00+00:00"), None],
                "contact_id": ["7", "8", "9"],
            },
        ),
    ),
    "orders_naive_timestamps.parquet": (
        c.ORDERS,
        Loads(
            0,
            [
                (
                    row,
                    None,
                    "placed_at",
                    "column 'placed_at': expected an ISO 8601 timestamp with a zone "
                    "(Z or +hh:mm), found '2025-03-03T09:00:00'",
                )
                for row in (1, 2)
            ],
        ),
    ),
    "contacts_labels_case_and_space.csv": (
        c.HUBSPOT_CONTACTS,
        Loads(1, values={"record_id": ["101"], "email_hash": [keyed_hash("ada@example.com", KEY)]}),
    ),
    "contacts_us_dates.csv": (
        c.HUBSPOT_CONTACTS,
        Loads(
            2,
            values={
                "created_at": [ts("2025-03-03T14:05:00+00:00"), ts("2025-03-02T00:00:00+00:00")],
                "modified_at": [ts("2025-03-03T00:00:00+00:00"), ts("2025-03-03T14:05:00+00:00")],
            },
        ),
    ),
    "contacts_day_first_date.csv": (
        c.HUBSPOT_CONTACTS,
        Loads(
            1,
            [
                (
                    2,
                    3,
                    "Create Date",
                    "column 'Create Date': expected a date-time 'YYYY-MM-DD HH:MM' or "
                    "'MM/DD/YYYY' (UTC) or ISO 8601 with a zone, found '28/02/2025'",
                )
            ],
        ),
    ),
    "contacts_modified_in_future.csv": (
        c.HUBSPOT_CONTACTS,
        Loads(
            0,
            [
                (
                    1,
                    2,
                    "Last Modified Date",
                    f"column 'Last Modified Date': {FUTURE}, found '2025-03-06 08:00'",
                )
            ],
        ),
    ),
    "contacts_missing_record_id.csv": (
        c.HUBSPOT_CONTACTS,
        Fails(MissingColumnsError, ["'Record ID'", "found 'First Name', 'Email'"]),
    ),
    "deals_windows1252.csv": (
        c.HUBSPOT_DEALS,
        Loads(1, values={"deal_name": ["Café Crème \u2013 Lyon"], "amount": [950.0]}),
    ),
    "deals_thousands_separators.csv": (
        c.HUBSPOT_DEALS,
        Loads(2, values={"amount": [12500.0, 1250.0]}),
    ),
    # value ranges load, and the GX gate blocks the day (docs/landing_zone.md)
    "deals_negative_amount.csv": (c.HUBSPOT_DEALS, Loads(1, gate_blocks=[("amount", 1)])),
    "spend_negative.csv": (c.ADS_SPEND, Loads(2, gate_blocks=[("spend", 1)])),
    "spend_future_date.csv": (
        c.ADS_SPEND,
        Loads(1, [(2, 3, "date", f"column 'date': {FUTURE}, found '2025-03-04'")]),
    ),
    "spend_duplicate_unknown_column.csv": (c.ADS_SPEND, Loads(1, values={"spend": [12.5]})),
    "nps_score_11.csv": (c.NPS_RESPONSES, Loads(3, gate_blocks=[("score", 2)])),
    "nps_mixed.csv": (
        c.NPS_RESPONSES,
        Loads(
            1,
            [
                (2, 3, "score", "column 'score': expected an integer, found 'x'"),
                (
                    3,
                    4,
                    "submitted_at",
                    f"column 'submitted_at': {FUTURE}, found '2025-03-07T12:00:00+02:00'",
                ),
                (4, 5, "response_id", "column 'response_id': required value is empty"),
            ],
        ),
    ),
    "nps_quoted_newlines.csv": (
        c.NPS_RESPONSES,
        Loads(1, [(2, 4, "score", "column 'score': expected an integer, found 'x'")]),
    ),
    "nps_decimal_score.csv": (
        c.NPS_RESPONSES,
        Loads(0, [(1, 2, "score", "column 'score': expected an integer, found '9.5'")]),
    ),
    "google_ads_ui_report.csv": (
        c.GOOGLE_ADS,
        Loads(
            2,
            values={
                "campaign": ["Brand - FR", "Generic"],
                "cost": [1234.56, 0.0],
                "cost_micros": [None, None],
                "currency": ["EUR", "EUR"],
                "impressions": [10000, 0],
                "conversions": [3.5, 0.0],
            },
        ),
    ),
    "google_ads_api_micros.csv": (
        c.GOOGLE_ADS,
        Loads(
            1,
            [
                (
                    2,
                    3,
                    "Cost (micros)",
                    "column 'Cost (micros)': required value is empty (one of 'Cost' or "
                    "'Cost (micros)')",
                )
            ],
            values={"campaign_id": ["111"], "cost_micros": [12_500_000], "currency": ["USD"]},
        ),
    ),
    "google_ads_without_cost.csv": (
        c.GOOGLE_ADS,
        Fails(MissingColumnsError, ["missing required column(s) 'Cost or Cost (micros)'"]),
    ),
    "meta_ads_currency_in_header.csv": (
        c.META_ADS,
        Loads(
            1,
            values={"spend": [42.1], "currency": ["EUR"], "clicks": [120], "actions": [4.0]},
        ),
    ),
    "social_posts_reach_and_saves.csv": (
        c.SOCIAL_POSTS,
        Loads(2, values={"reach": [900, 250], "saves": [14, None]}),
    ),
    "salesforce_leads.csv": (
        c.SALESFORCE_LEADS,
        Loads(
            2,
            values={
                "lead_id": ["00Q1", "00Q2"],
                "is_converted": [True, False],
                "converted_date": [DAY, None],
                "created_at": [ts("2025-03-01T10:00:00+00:00"), ts("2025-03-03T10:00:00+00:00")],
            },
        ),
    ),
    "salesforce_leads_bad_boolean.csv": (
        c.SALESFORCE_LEADS,
        Loads(
            0,
            [
                (
                    1,
                    2,
                    "IsConverted",
                    "column 'IsConverted': expected true/false, 1/0, yes/no or empty (= false),"
                    " found 'maybe'",
                )
            ],
        ),
    ),
    "salesforce_opportunities.csv": (
        c.SALESFORCE_OPPORTUNITIES,
        Loads(
            2,
            values={
                "is_won": [True, False],
                "is_closed": [True, False],
                "amount": [2000.0, 100.0],
                "currency": ["EUR", None],
                "campaign_id": ["7011", None],
            },
        ),
    ),
}


def test_the_corpus_has_at_least_30_cases_and_every_file_has_one() -> None:
    files = {p.name for p in CORPUS.iterdir()}
    assert len(CASES) >= 30
    assert files == set(CASES)


def deliver(landing: Path, corpus_file: str, extract: c.CsvExtract, day: dt.date = DAY) -> Path:
    folder = landing / extract.source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    name = extract.file_name + (".gz" if corpus_file.endswith(".gz") else "")
    if corpus_file.endswith(".parquet"):
        name = extract.parquet_name
    return Path(shutil.copyfile(CORPUS / corpus_file, folder / name))


def table_rows(con, table: str, columns: list[str]) -> dict[str, list]:
    rows = con.execute(
        f"select {', '.join(columns)} from raw.{table} order by _row_number"
    ).fetchall()
    return {name: [r[i] for r in rows] for i, name in enumerate(columns)}


@pytest.mark.parametrize("corpus_file", sorted(CASES))
def test_corpus_file_has_its_exact_outcome(corpus_file: str, tmp_path: Path) -> None:
    extract, expected = CASES[corpus_file]
    path = deliver(tmp_path, corpus_file, extract)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    if isinstance(expected, Fails):
        with pytest.raises(expected.error) as err:
            load_csv_day(con, extract, tmp_path, DAY, KEY, LOADED_AT)
        assert str(err.value).startswith(f"{path}: ")
        for mention in expected.mentions:
            assert mention in str(err.value)
        return

    result = load_csv_day(con, extract, tmp_path, DAY, KEY, LOADED_AT)
    quarantined = con.execute(
        """select row_number, line_number, column_name, reason from raw._quarantine
           where source_file = ? order by row_number""",
        [str(path)],
    ).fetchall()
    assert quarantined == expected.quarantined
    loaded = con.execute(f"select count(*) from raw.{extract.table}").fetchone()[0]
    assert (loaded, result.rows_loaded) == (expected.rows, expected.rows)
    assert result.rows_read == expected.rows + len(expected.quarantined)
    log = con.execute(
        "select rows_read, rows_loaded, rows_quarantined from raw._ingest_log"
    ).fetchall()
    assert log == [(result.rows_read, expected.rows, len(expected.quarantined))]
    if expected.values:
        assert table_rows(con, extract.table, list(expected.values)) == expected.values
    if expected.gate_blocks or extract in GATE_SAMPLE:
        assert gate_errors(con, extract.table) == expected.gate_blocks


# Cases that load cleanly are also run through their GX suite, to show the gate passes them.
GATE_SAMPLE = (c.ADS_SPEND, c.NPS_RESPONSES, c.HUBSPOT_DEALS)


def gate_errors(con, table: str) -> list[tuple[str, int]]:
    """(column, failing rows) of the blocking expectations the production check would fail."""
    from kpi_pipeline.quality.checks import raw_rows_frame
    from kpi_pipeline.quality.suites import validate_frame

    rows = raw_rows_frame(con, table, [DAY])
    outcome = validate_frame(f"raw_{table}", rows, {"accepted_currencies": ["USD"]})
    return [(o.column, o.unexpected_count) for o in outcome.errors]
