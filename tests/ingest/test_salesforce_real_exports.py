"""Salesforce exports as the tools write them, through ingest and dbt.

Real, licensed exports (tests/fixtures/real/salesforce/, see PROVENANCE.md; copied, never
edited) written by `sf automig dump`: UTF-8 BOM, booleans `1` / empty cell, timestamps
`2024-01-22T20:36:47.000+0000`, 18-character ids, a JSON address in one cell. An empty
boolean is false: no row may be quarantined for it, and lost and open opportunities must
count. Every expected figure is counted here in plain Python from the CSV files (`csv`
module), never with the pipeline's SQL.

The real dumps hold one extract day each while their deals closed on many other days
(Opportunity.csv's closed deals all closed in 2023, before the dump's first day), so their
per-close-day counts are checked on `int_crm__deals`; the daily facts (`fct_kpi_daily`
gives a CRM KPI a value only on a day a CRM file was delivered) are checked on the dump
days and on three days of small hand-written daily extracts in the tools' three styles:
`sf data export` (BOM, `1` / empty, `+0000`), Data Loader (`true` / `false` in any case,
`Z`) and a report export (field labels).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.csv_reader import parse_extract, read_csv_bytes
from kpi_pipeline.ingest.loaders import load_csv_day, prepare_ga4_table
from kpi_pipeline.warehouse import connect
from tests import oracle
from tests.dbt_cli import run_dbt

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "salesforce"
KEY = b"salesforce-key"
LOADED_AT = dt.datetime(2026, 3, 8, 6, 0, tzinfo=dt.UTC)

# (fixture, extract, extract day): each dump in the folder of the day it was taken
DUMP_DAY = dt.date(2024, 1, 22)  # Lead.csv / Opportunity.csv: created 2024-01-22
GEN_AI_DAY = dt.date(2024, 7, 11)  # Opportunity_gen_ai_demo.csv: created 2024-07-11
EXCEL_DAY = dt.date(2026, 3, 7)  # Opportunity_excel_resaved.csv: modified up to 03/07/26
REAL_FILES = (
    ("Lead.csv", c.SALESFORCE_LEADS, DUMP_DAY),
    ("Opportunity.csv", c.SALESFORCE_OPPORTUNITIES, DUMP_DAY),
    ("Opportunity_gen_ai_demo.csv", c.SALESFORCE_OPPORTUNITIES, GEN_AI_DAY),
    ("Opportunity_excel_resaved.csv", c.SALESFORCE_OPPORTUNITIES, EXCEL_DAY),
)

D1, D2, D3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
BOM = "\ufeff"
# `sf data export` style: BOM, 1 / empty, +0000, extra columns
OPPORTUNITIES_D1 = (
    f"{BOM}Id,IsDeleted,Name,StageName,Amount,CloseDate,IsClosed,IsWon,CreatedDate,"
    "LastModifiedDate\n"
    "0065e00000AbCd1AAA,,Acme,Prospecting,1000,2025-03-20,,,2025-03-03T09:00:00.000+0000,"
    "2025-03-03T09:00:00.000+0000\n"
    "0065e00000AbCd2AAA,,Globex,Closed Lost,500,2025-03-03,1,,2025-03-01T10:00:00.000+0000,"
    "2025-03-03T15:00:00.000+0000\n"
    "0065e00000AbCd3AAA,,Initech,Closed Won,250.5,2025-03-03,1,1,2025-03-03T08:00:00.000+0000,"
    "2025-03-03T16:00:00.000+0000\n"
)
LEADS_D1 = (
    f"{BOM}Id,LastName,Company,Email,CreatedDate,LastModifiedDate,LeadSource,Status,"
    "IsConverted,ConvertedDate\n"
    "00Q5e00000XyZ01AAA,Lee,Acme,lee@example.com,2025-03-03T07:00:00.000+0000,"
    "2025-03-03T07:00:00.000+0000,Web,Open,,\n"
    "00Q5e00000XyZ02AAA,Ng,Globex,ng@example.com,2025-03-03T08:00:00.000+0000,"
    "2025-03-03T11:00:00.000+0000,Web,Converted,1,2025-03-03\n"
    "00Q5e00000XyZ03AAA,Ray,Initech,ray@example.com,2025-03-03T09:00:00.000+0000,"
    "2025-03-03T09:00:00.000+0000,Partner,Open,,\n"
)
# Data Loader style: no BOM, true / false in any case, Z
OPPORTUNITIES_D2 = (
    "ID,NAME,STAGENAME,AMOUNT,CLOSEDATE,ISCLOSED,ISWON,CREATEDDATE,LASTMODIFIEDDATE\n"
    '"0065e00000AbCd1AAA","Acme","Closed Lost","1000","2025-03-04","true","false",'
    '"2025-03-03T09:00:00.000Z","2025-03-04T10:00:00.000Z"\n'
    '"0065e00000AbCd4AAA","Umbrella","Closed Won","80","2025-03-04","TRUE","True",'
    '"2025-03-04T08:00:00.000Z","2025-03-04T09:00:00.000Z"\n'
    '"0065e00000AbCd5AAA","Hooli","Qualification","60","2025-04-30","False","FALSE",'
    '"2025-03-04T08:30:00.000Z","2025-03-04T08:30:00.000Z"\n'
)
LEADS_D2 = (
    "ID,LASTNAME,EMAIL,CREATEDDATE,LASTMODIFIEDDATE,LEADSOURCE,ISCONVERTED,CONVERTEDDATE\n"
    '"00Q5e00000XyZ01AAA","Lee","lee@example.com","2025-03-03T07:00:00.000Z",'
    '"2025-03-04T12:00:00.000Z","Web","true","2025-03-04"\n'
    '"00Q5e00000XyZ04AAA","Kim","kim@example.com","2025-03-04T07:00:00.000Z",'
    '"2025-03-04T07:00:00.000Z","","false",""\n'
)
# a report export: field labels; an unknown boolean spelling is quarantined
OPPORTUNITIES_D3 = (
    "Opportunity ID,Opportunity Name,Stage,Amount,Close Date,Closed,Won,Created Date,"
    "Last Modified Date\n"
    "0065e00000AbCd5AAA,Hooli,Closed Lost,60,2025-03-05,1,0,2025-03-04T08:30:00.000Z,"
    "2025-03-05T10:00:00.000Z\n"
    "0065e00000AbCd6AAA,Vandelay,Closed Won,90,2025-03-05,1,maybe,2025-03-05T08:00:00.000Z,"
    "2025-03-05T09:00:00.000Z\n"
)
LEADS_D3 = (
    "Lead ID,Last Name,Create Date,Last Modified Date,Lead Source,Converted\n"
    "00Q5e00000XyZ05AAA,Diaz,2025-03-05T07:00:00.000Z,2025-03-05T08:00:00.000Z,Web,Yes\n"
)
DAILY = {
    (c.SALESFORCE_OPPORTUNITIES, D1): OPPORTUNITIES_D1,
    (c.SALESFORCE_LEADS, D1): LEADS_D1,
    (c.SALESFORCE_OPPORTUNITIES, D2): OPPORTUNITIES_D2,
    (c.SALESFORCE_LEADS, D2): LEADS_D2,
    (c.SALESFORCE_OPPORTUNITIES, D3): OPPORTUNITIES_D3,
    (c.SALESFORCE_LEADS, D3): LEADS_D3,
}
# Worked by hand from the files above, latest versions as of D3:
#   deals: Globex lost D1, Initech won D1 | Acme lost D2 (open on D1), Umbrella won D2 |
#   Hooli lost D3 (open on D2); Vandelay quarantined (Won = maybe)
#   leads created D1: Lee (converted on D2), Ng (converted), Ray -> 2 of 3;
#   D2: Kim -> 0 of 1; D3: Diaz (Converted = Yes) -> 1 of 1
DAILY_WIN_RATE = {D1: (1, 2), D2: (1, 2), D3: (0, 1)}
DAILY_LEAD_CONVERSION = {D1: (2, 3), D2: (0, 1), D3: (1, 1)}


# -- the independent reading of the real files -------------------------------------------


def csv_rows(name: str) -> list[dict[str, str]]:
    with (REAL / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def flag(text: str) -> bool:
    """1 / true is true; empty, 0, false is false (the files hold nothing else)."""
    value = text.strip().lower()
    assert value in {"1", "true", "", "0", "false"}, value
    return value in {"1", "true"}


def expected_deals(name: str) -> dict[str, tuple[str, dt.date | None]]:
    """Opportunity id -> (outcome, close day when won or lost)."""
    deals = {}
    for row in csv_rows(name):
        won, closed = flag(row["IsWon"]), flag(row["IsClosed"])
        outcome = "won" if won else "lost" if closed else "open"
        day = dt.date.fromisoformat(row["CloseDate"]) if outcome != "open" else None
        deals[row["Id"]] = (outcome, day)
    return deals


def per_close_day(deals: dict[str, tuple[str, dt.date | None]]) -> dict[dt.date, tuple[int, int]]:
    """Close day -> (won, closed)."""
    won = Counter(day for outcome, day in deals.values() if outcome == "won")
    closed = Counter(day for outcome, day in deals.values() if outcome != "open")
    return {day: (won[day], closed[day]) for day in closed}


def test_the_independent_counts_are_the_files_known_figures() -> None:
    """The figures PROVENANCE.md and the issue give, recounted from the CSV text."""
    dump = expected_deals("Opportunity.csv")
    assert Counter(o for o, _ in dump.values()) == {"won": 12, "lost": 3, "open": 35}
    won_amount = sum(Decimal(r["Amount"]) for r in csv_rows("Opportunity.csv") if flag(r["IsWon"]))
    assert won_amount == Decimal("10542562.98")
    gen_ai = expected_deals("Opportunity_gen_ai_demo.csv")
    assert Counter(o for o, _ in gen_ai.values()) == {"won": 34, "open": 24}
    excel = csv_rows("Opportunity_excel_resaved.csv")
    assert (len(excel), sum(flag(r["IsWon"]) for r in excel)) == (36, 12)
    assert sum(flag(r["IsClosed"]) for r in excel) == 20
    assert sum(not r["Amount"] for r in excel) == 5
    leads = csv_rows("Lead.csv")
    assert len(leads) == 60 and not any(flag(r["IsConverted"]) for r in leads)
    assert {r["CreatedDate"] for r in leads} == {"2024-01-22T20:36:47.000+0000"}
    # the files are the exporters' own bytes: BOM, 1 / empty booleans
    assert (REAL / "Opportunity.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert {r["IsWon"] for r in csv_rows("Opportunity.csv")} == {"1", ""}


# -- one landing zone: the real dumps and three daily extracts, through ingest and dbt ----


def deliver(landing: Path, extract: c.CsvExtract, day: dt.date) -> Path:
    folder = landing / extract.source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / extract.file_name


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("salesforce")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    for name, extract, day in REAL_FILES:
        shutil.copyfile(REAL / name, deliver(landing, extract, day))
    for (extract, day), text in DAILY.items():
        deliver(landing, extract, day).write_bytes(text.encode("utf-8"))
    days = sorted({day for _, _, day in REAL_FILES} | {day for _, day in DAILY})
    with connect(warehouse) as con:
        prepare_ga4_table(con)  # every raw table the facts read exists, empty or not
        for extract in c.CSV_EXTRACTS:
            for day in days:
                load_csv_day(con, extract, landing, day, KEY, LOADED_AT)
    window = {"min_date": str(days[0]), "first_partition": str(days[0])}
    window["max_date"] = str(days[-1] + dt.timedelta(days=1))
    build = run_dbt(
        ["build", "--select", "+fct_kpi_daily", "--vars",
         json.dumps({**window, "timezone": "UTC", "reporting_currency": "USD"})],
        warehouse, root, env={"KPI_DBT_KPIS": ""},
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:]
    return warehouse


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


def test_no_real_export_row_is_quarantined_for_an_empty_boolean(warehouse: Path) -> None:
    log = dict(
        query(
            warehouse,
            "select _extract_date, list(rows_read || '/' || rows_loaded || '/' || rows_quarantined"
            " order by raw_table) from raw._ingest_log where _extract_date in (?, ?, ?)"
            " group by _extract_date",
            [DUMP_DAY, GEN_AI_DAY, EXCEL_DAY],
        )
    )
    # read / loaded / quarantined; leads before opportunities
    assert log == {
        DUMP_DAY: ["60/60/0", "50/50/0"],
        GEN_AI_DAY: ["58/58/0"],
        EXCEL_DAY: ["36/0/36"],
    }


def test_a_spreadsheet_resave_without_zones_is_quarantined_with_its_reason(
    warehouse: Path,
) -> None:
    """Excel turned `...000Z` into `02/23/26 08:55 PM`: the zone is gone, and guessing it
    could move a deal to another day, so each row is set aside, naming the column."""
    reasons = query(
        warehouse,
        "select reason, count(*) from raw._quarantine where _extract_date = ? group by reason"
        " order by reason",
        [EXCEL_DAY],
    )
    zone = "expected an ISO 8601 timestamp with a zone (Z or +hh:mm)"
    assert reasons == [
        (f"column 'CreatedDate': {zone}, found '02/23/26'", 31),
        (f"column 'CreatedDate': {zone}, found '02/24/26'", 5),
    ]


def test_a_spreadsheet_resaves_booleans_and_amounts_read_as_exported() -> None:
    """TRUE / FALSE and empty amounts of the resaved file, with its zone-less times replaced
    in memory by a zoned one (the file is not changed): 36 rows, 12 won, 20 closed."""
    name = "Opportunity_excel_resaved.csv"
    text = read_csv_bytes((REAL / name).read_bytes(), name)
    frame = text.frame.with_columns(
        CreatedDate=pl.lit("2026-02-23T20:55:00Z"), LastModifiedDate=pl.lit("2026-03-07T21:00:00Z")
    ).drop("CloseDate")  # MM/DD/YY: not a date Salesforce's API writes
    parsed = parse_extract(frame, c.SALESFORCE_OPPORTUNITIES, name, KEY, EXCEL_DAY)
    assert (parsed.rows.height, parsed.quarantine.height) == (36, 0)
    by_id = {r["Id"]: r for r in csv_rows(name)}
    for row in parsed.rows.iter_rows(named=True):
        source = by_id[row["opportunity_id"]]
        assert (row["is_won"], row["is_closed"]) == (
            flag(source["IsWon"]),
            flag(source["IsClosed"]),
        )
    assert (parsed.rows["is_won"].sum(), parsed.rows["is_closed"].sum()) == (12, 20)
    assert parsed.rows["amount"].null_count() == 5


def test_every_real_opportunity_has_its_exported_outcome_and_close_day(warehouse: Path) -> None:
    for name in ("Opportunity.csv", "Opportunity_gen_ai_demo.csv"):
        expected = expected_deals(name)
        got = {
            deal_id: (outcome, closed)
            for deal_id, outcome, closed in query(
                warehouse,
                "select deal_id, outcome, closed_date from intermediate.int_crm__deals"
                " where crm = 'salesforce' and deal_id in (select unnest(?))",
                [list(expected)],
            )
        }
        assert got == expected, name
        assert per_close_day(got) == per_close_day(expected)


def test_deal_win_rate_of_the_dump_counts_its_lost_deals(warehouse: Path) -> None:
    """12 won of 15 closed: 0.8, not the 100 % the quarantined lost deals used to give."""
    ids = list(expected_deals("Opportunity.csv"))
    rows = query(
        warehouse,
        "select outcome, closed_date, amount from intermediate.int_crm__deals"
        " where deal_id in (select unnest(?))",
        [ids],
    )
    outcomes = Counter(outcome for outcome, _, _ in rows)
    assert outcomes == {"won": 12, "lost": 3, "open": 35}
    assert outcomes["won"] / (outcomes["won"] + outcomes["lost"]) == pytest.approx(0.8)
    lost_days = {closed for outcome, closed, _ in rows if outcome == "lost"}
    assert lost_days == {dt.date(2023, 4, 26), dt.date(2023, 9, 23), dt.date(2023, 10, 20)}
    assert sum(a for o, _, a in rows if o == "won") == Decimal("10542562.98")


def facts(warehouse: Path, kpi_id: str, day: dt.date) -> tuple:
    return query(
        warehouse,
        "select numerator, denominator, value from marts.fct_kpi_daily where kpi_id = ?"
        " and kpi_date = ? and dimension = 'all'",
        [kpi_id, day],
    )[0]


def test_the_dumps_leads_count_on_their_creation_day(warehouse: Path) -> None:
    """60 leads created on 2024-01-22, none converted (every IsConverted is empty): a rate
    of 0, where every lead used to be quarantined."""
    leads = csv_rows("Lead.csv")
    assert facts(warehouse, "lead_to_customer_rate", DUMP_DAY) == (0.0, float(len(leads)), 0.0)
    by_source = dict(
        query(
            warehouse,
            "select dimension_value, denominator from marts.fct_kpi_daily where kpi_id ="
            " 'lead_to_customer_rate' and kpi_date = ? and dimension = 'source'",
            [DUMP_DAY],
        )
    )
    expected = Counter(r["LeadSource"] or "(not set)" for r in leads)
    assert by_source == {source: float(n) for source, n in expected.items()}
    # no deal of the dump closed on its own day; two of the demo's closed on its day
    assert facts(warehouse, "deal_win_rate", DUMP_DAY) == (0.0, 0.0, None)
    gen_ai = per_close_day(expected_deals("Opportunity_gen_ai_demo.csv"))
    won, closed = gen_ai[GEN_AI_DAY]
    assert facts(warehouse, "deal_win_rate", GEN_AI_DAY) == (won, closed, won / closed)


@pytest.mark.parametrize("day", [D1, D2, D3])
def test_daily_extracts_give_the_hand_worked_rates(warehouse: Path, day: dt.date) -> None:
    won, closed = DAILY_WIN_RATE[day]
    assert facts(warehouse, "deal_win_rate", day) == (won, closed, won / closed)
    converted, leads = DAILY_LEAD_CONVERSION[day]
    assert facts(warehouse, "lead_to_customer_rate", day) == (converted, leads, converted / leads)


@pytest.mark.parametrize("day", [D1, D2])
def test_daily_extracts_agree_with_the_oracle(warehouse: Path, day: dt.date) -> None:
    """tests/oracle.py reads API-named files (D1, D2); D3's only change is to D3 itself."""
    for compute in (oracle.deal_win_rate, oracle.lead_to_customer_rate):
        expected = compute(warehouse.parent / "landing", day, D2, dt.UTC)
        value = expected[(compute.__name__, "all", "all")]
        assert facts(warehouse, compute.__name__, day) == (
            value.numerator,
            value.denominator,
            value.value,
        )


def test_an_unknown_boolean_spelling_is_quarantined_in_the_users_words(warehouse: Path) -> None:
    assert query(
        warehouse,
        "select row_number, line_number, column_name, reason from raw._quarantine"
        " where _extract_date between ? and ?",
        [D1, D3],
    ) == [
        (
            2,
            3,
            "IsWon",
            "column 'IsWon': expected true/false, 1/0, yes/no or empty (= false), found 'maybe'",
        )
    ]
