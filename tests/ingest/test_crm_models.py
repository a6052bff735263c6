"""HubSpot and Salesforce extracts -> one CRM shape (int_crm__leads, int_crm__deals).

Hand-written extracts of two days load through the production loader; dbt builds only
the CRM models (and their tests); every expected row below is worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.warehouse import connect
from tests.dbt_cli import run_dbt

DAY1, DAY2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)
KEY = b"crm-key"
UTC = dt.UTC

CONTACTS = {
    DAY1: (
        "Record ID,First Name,Email,Create Date,Last Modified Date,Lifecycle Stage,"
        "Original Source,Became a Customer Date\n"
        "101,Ada,ada@example.com,2025-03-03 08:00,2025-03-03 08:00,lead,ORGANIC_SEARCH,\n"
        "102,Bob,bob@example.com,03/03/2025 09:30,03/03/2025 09:30,lead,PAID_SEARCH,\n"
        "103,Cy,cy@example.com,2025-03-03 06:00,2025-03-03 12:00,opportunity,REFERRALS,\n"
    ),
    # 101 became a customer (a later version); 102 again, unchanged (same record in two
    # files); 103 again but in an OLDER version (modified 07:00): last modified wins.
    DAY2: (
        "Record ID,First Name,Email,Create Date,Last Modified Date,Lifecycle Stage,"
        "Original Source,Became a Customer Date\n"
        "101,Ada,ada@example.com,2025-03-03 08:00,2025-03-04 10:00,customer,ORGANIC_SEARCH,"
        "2025-03-04 10:00\n"
        "102,Bob,bob@example.com,03/03/2025 09:30,03/03/2025 09:30,lead,PAID_SEARCH,\n"
        "103,Cy,cy@example.com,2025-03-03 06:00,2025-03-03 07:00,lead,OFFLINE,\n"
    ),
}
DEALS = {
    DAY1: (
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Create Date,Close Date,"
        "Last Modified Date\n"
        '201,Big,appointmentscheduled,default,"1,500.00",2025-03-03 09:00,,2025-03-03 09:00\n'
        "202,Lost,ClosedLost, Default ,300,2025-03-01 09:00,2025-03-03 15:00,2025-03-03 15:00\n"
    ),
    DAY2: (
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Create Date,Close Date,"
        "Last Modified Date\n"
        '201,Big,closedwon,default,"1,500.00",2025-03-03 09:00,03/04/2025 12:00,'
        "2025-03-04 12:00\n"
    ),
}
LEADS = {
    DAY1: (
        "Id,LastName,Email,Phone,CreatedDate,LastModifiedDate,LeadSource,IsConverted,"
        "ConvertedDate\n"
        "00Q1,Lovelace,a@example.com,+44 20 1234,2025-03-03T07:00:00.000+0000,"
        "2025-03-03T07:00:00.000+0000,Web,false,\n"
    ),
    DAY2: (
        "Id,LastName,Email,Phone,CreatedDate,LastModifiedDate,LeadSource,IsConverted,"
        "ConvertedDate\n"
        "00Q1,Lovelace,a@example.com,+44 20 1234,2025-03-03T07:00:00.000+0000,"
        "2025-03-04T08:00:00.000+0000,Web,true,2025-03-04\n"
    ),
}
OPPORTUNITIES = {
    # 0061's stage is named "Closed Won" but IsWon is false: won means IsWon, never a name
    DAY1: (
        "Id,CreatedDate,LastModifiedDate,StageName,IsWon,IsClosed,Amount,CurrencyIsoCode,"
        "CloseDate,CampaignId\n"
        "0061,2025-03-02T10:00:00.000+0000,2025-03-03T10:00:00.000+0000,Closed Won,false,"
        "false,2000,EUR,2025-03-20,7011\n"
        "0062,2025-03-03T11:00:00.000+0000,2025-03-03T11:00:00.000+0000,Negotiation,true,"
        "true,100.5,,2025-03-03,\n"
    ),
    DAY2: (
        "Id,CreatedDate,LastModifiedDate,StageName,IsWon,IsClosed,Amount,CurrencyIsoCode,"
        "CloseDate,CampaignId\n"
        "0061,2025-03-02T10:00:00.000+0000,2025-03-04T09:00:00.000+0000,Closed Won,false,"
        "true,2000,EUR,2025-03-04,7011\n"
    ),
}
FILES = {
    c.HUBSPOT_CONTACTS: CONTACTS,
    c.HUBSPOT_DEALS: DEALS,
    c.SALESFORCE_LEADS: LEADS,
    c.SALESFORCE_OPPORTUNITIES: OPPORTUNITIES,
}


def dbt_build(warehouse: Path, root: Path) -> subprocess.CompletedProcess:
    return run_dbt(
        [
            "build",
            "--select",
            "+int_crm__leads",
            "+int_crm__deals",
            "--vars",
            json.dumps({"timezone": "Europe/Paris", "reporting_currency": "USD"}),
        ],
        warehouse,
        root,
    )


@pytest.fixture(scope="module")
def crm_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crm")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    for extract, days in FILES.items():
        for day, text in days.items():
            folder = landing / extract.source / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / extract.file_name).write_text(text)
    loaded_at = dt.datetime(2025, 3, 5, tzinfo=UTC)
    with connect(warehouse) as con:
        for extract in FILES:
            for day in (DAY1, DAY2):
                result = load_csv_day(con, extract, landing, day, KEY, loaded_at)
                assert result.rows_quarantined == 0, extract.table
    build = dbt_build(warehouse, root)
    assert build.returncode == 0, build.stdout[-3000:]
    return warehouse


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def test_leads_one_row_each_in_their_latest_version(crm_warehouse: Path) -> None:
    got = rows(crm_warehouse, "select * from intermediate.int_crm__leads order by lead_key")
    # created_date / converted_date in Europe/Paris (UTC+1 in March)
    assert got == [
        (
            "hubspot:101", "hubspot", "101", at("2025-03-03T08:00:00+00:00"), DAY1,
            "ORGANIC_SEARCH", True, at("2025-03-04T10:00:00+00:00"), DAY2,
        ),
        (
            "hubspot:102", "hubspot", "102", at("2025-03-03T09:30:00+00:00"), DAY1,
            "PAID_SEARCH", False, None, None,
        ),
        (
            "hubspot:103", "hubspot", "103", at("2025-03-03T06:00:00+00:00"), DAY1,
            "REFERRALS", False, None, None,
        ),
        (
            "salesforce:00Q1", "salesforce", "00Q1", at("2025-03-03T07:00:00+00:00"), DAY1,
            "Web", True, None, DAY2,
        ),
    ]  # fmt: skip


def test_deals_outcome_from_the_stage_table_or_is_won(crm_warehouse: Path) -> None:
    got = rows(crm_warehouse, "select * from intermediate.int_crm__deals order by deal_key")
    assert got == [
        (
            "hubspot:201", "hubspot", "201", at("2025-03-03T09:00:00+00:00"), DAY1, DAY2,
            Decimal("1500.000000"), "USD", "won", None,
        ),
        (
            "hubspot:202", "hubspot", "202", at("2025-03-01T09:00:00+00:00"),
            dt.date(2025, 3, 1), DAY1, Decimal("300.000000"), "USD", "lost", None,
        ),
        (
            "salesforce:0061", "salesforce", "0061", at("2025-03-02T10:00:00+00:00"),
            dt.date(2025, 3, 2), DAY2, Decimal("2000.000000"), "EUR", "lost", "7011",
        ),
        (
            "salesforce:0062", "salesforce", "0062", at("2025-03-03T11:00:00+00:00"), DAY1,
            DAY1, Decimal("100.500000"), "USD", "won", None,
        ),
    ]  # fmt: skip


def test_crm_shapes_have_exactly_the_agreed_columns(crm_warehouse: Path) -> None:
    def columns(table: str) -> list[tuple[str, str]]:
        return rows(
            crm_warehouse,
            "select column_name, data_type from information_schema.columns where "
            f"table_schema = 'intermediate' and table_name = '{table}' order by ordinal_position",
        )

    assert columns("int_crm__leads") == [
        ("lead_key", "VARCHAR"),
        ("crm", "VARCHAR"),
        ("lead_id", "VARCHAR"),
        ("created_at", "TIMESTAMP WITH TIME ZONE"),
        ("created_date", "DATE"),
        ("lead_source", "VARCHAR"),
        ("is_customer", "BOOLEAN"),
        ("converted_at", "TIMESTAMP WITH TIME ZONE"),
        ("converted_date", "DATE"),
    ]
    assert columns("int_crm__deals") == [
        ("deal_key", "VARCHAR"),
        ("crm", "VARCHAR"),
        ("deal_id", "VARCHAR"),
        ("created_at", "TIMESTAMP WITH TIME ZONE"),
        ("created_date", "DATE"),
        ("closed_date", "DATE"),
        ("amount", "DECIMAL(18,6)"),
        ("currency", "VARCHAR"),
        ("outcome", "VARCHAR"),
        ("campaign_id", "VARCHAR"),
    ]


def test_no_personal_data_past_the_raw_layer(crm_warehouse: Path) -> None:
    found = rows(
        crm_warehouse,
        """select table_schema, table_name, column_name from information_schema.columns
           where table_schema in ('staging', 'intermediate')
             and (column_name ilike '%name%' and column_name not in ('deal_name', 'stage_name')
                  or column_name ilike '%phone%' or column_name = 'email')""",
    )
    assert found == []
    with duckdb.connect(str(crm_warehouse), read_only=True) as con:
        text = json.dumps(
            [
                con.execute(f"select * from {schema}.{name}").fetchall()
                for schema, name in con.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema in ('staging', 'intermediate')"
                ).fetchall()
            ],
            default=str,
        )
    for secret in ("example.com", "Lovelace", "Ada", "+44 20"):
        assert secret not in text


def test_a_stage_missing_from_the_stage_table_fails_the_build(crm_warehouse: Path) -> None:
    """Runs last in this module: it adds a deal in a pipeline the seed does not know."""
    with connect(crm_warehouse) as con:
        con.execute(
            """insert into raw.hubspot_deals
               select * replace ('custom-pipeline' as pipeline, '12345' as deal_stage,
                                 999 as record_id)
               from raw.hubspot_deals limit 1"""
        )
    build = dbt_build(crm_warehouse, crm_warehouse.parent)
    assert build.returncode == 1
    assert "FAIL 1 not_null_int_crm__deals_outcome" in build.stdout
