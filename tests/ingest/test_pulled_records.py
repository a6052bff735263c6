"""Records a pull landed (`<entity>.jsonl`) go through the export's contract: the same
typed rows as the export of the same records, personal data hashed or dropped alike."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.csv_reader import parse_extract, read_csv_bytes
from kpi_pipeline.ingest.errors import ExtractUnreadableError
from kpi_pipeline.ingest.jsonl_reader import read_jsonl_bytes
from kpi_pipeline.ingest.loaders import load_csv_day

KEY = b"pull-key"
DAY = dt.date(2025, 6, 2)
LOADED_AT = dt.datetime(2025, 6, 3, 6, tzinfo=dt.UTC)

CONTACTS_CSV = (
    "Record ID,First Name,Last Name,Email,Create Date,Last Modified Date,Lifecycle Stage,"
    "Original Source,Became a Customer Date\n"
    "101,Ada,Lovelace,ada@example.com,2025-06-01 09:30,2025-06-02 10:15,Customer,"
    "ORGANIC_SEARCH,2025-06-02 10:15\n"
    "102,Alan,Turing,alan@example.com,2025-06-02 08:00,2025-06-02 08:00,lead,PAID_SEARCH,\n"
)
# the same two contacts as HubSpot's CRM v3 search returns them (what `kpi pull` lands)
CONTACTS_JSONL = "".join(
    json.dumps(r) + "\n"
    for r in (
        {
            "id": "101",
            "archived": False,
            "createdAt": "2025-06-01T09:30:00.000Z",
            "updatedAt": "2025-06-02T10:15:00.000Z",
            "properties": {
                "createdate": "2025-06-01T09:30:00.000Z",
                "email": "ada@example.com",
                "hs_analytics_source": "ORGANIC_SEARCH",
                "hs_lifecyclestage_customer_date": "2025-06-02T10:15:00.000Z",
                "hs_object_id": "101",
                "lastmodifieddate": "2025-06-02T10:15:00.000Z",
                "lifecyclestage": "customer",
            },
        },
        {
            "id": "102",
            "archived": False,
            "properties": {
                "createdate": "2025-06-02T08:00:00Z",
                "email": "alan@example.com",
                "firstname": "Alan",
                "hs_analytics_source": "PAID_SEARCH",
                "hs_lifecyclestage_customer_date": None,
                "lastmodifieddate": "2025-06-02T08:00:00Z",
                "lifecyclestage": "lead",
            },
        },
    )
)
DEALS_JSONL = (
    json.dumps(
        {
            "id": "9001",
            "properties": {
                "dealname": "Acme renewal",
                "dealstage": "closedwon",
                "pipeline": "default",
                "amount": "1200.50",
                "createdate": "2025-06-01T12:00:00Z",
                "closedate": "2025-06-02T11:00:00Z",
                "deal_currency_code": "EUR",
                "hs_lastmodifieddate": "2025-06-02T11:00:00Z",
            },
            "associations": {
                "contacts": {
                    "results": [
                        {"id": "101", "type": "deal_to_contact"},
                        {"id": "102", "type": "deal_to_contact"},
                    ]
                }
            },
        }
    )
    + "\n"
)
LEADS_JSONL = "".join(
    json.dumps(r) + "\n"
    for r in (
        {
            "attributes": {"type": "Lead", "url": "/services/data/v62.0/sobjects/Lead/00Q1"},
            "Id": "00Q000000000001AAA",
            "IsDeleted": False,
            "Email": "grace@example.com",
            "CreatedDate": "2025-06-02T09:00:00.000+0000",
            "LastModifiedDate": "2025-06-02T09:30:00.000+0000",
            "SystemModstamp": "2025-06-02T09:30:00.000+0000",
            "LeadSource": "Web",
            "Status": "Open",
            "IsConverted": True,
            "ConvertedDate": "2025-06-02",
        },
        {
            "attributes": {"type": "Lead"},
            "Id": "00Q000000000002AAA",
            "IsDeleted": True,
            "Email": None,
            "CreatedDate": "2025-06-01T09:00:00.000+0000",
            "LastModifiedDate": "2025-06-02T10:00:00.000+0000",
            "SystemModstamp": "2025-06-02T10:00:00.000+0000",
            "LeadSource": None,
            "Status": "Open",
            "IsConverted": False,
            "ConvertedDate": None,
        },
    )
)


def parsed(extract: c.CsvExtract, name: str, text: str):
    data = text.encode()
    reader = (
        read_jsonl_bytes(data, name, extract)
        if name.endswith(".jsonl")
        else (read_csv_bytes(data, name))
    )
    return parse_extract(reader, extract, name, KEY, DAY)


def test_pulled_contacts_load_as_the_export_of_the_same_contacts() -> None:
    export = parsed(c.HUBSPOT_CONTACTS, "contacts.csv", CONTACTS_CSV)
    pulled = parsed(c.HUBSPOT_CONTACTS, "contacts.jsonl", CONTACTS_JSONL)
    assert export.quarantine.height == pulled.quarantine.height == 0
    columns = [
        "record_id",
        "email_hash",
        "created_at",
        "modified_at",
        "original_source",
        "became_customer_at",
    ]
    assert pulled.rows.select(columns).equals(export.rows.select(columns))
    assert pulled.rows["lifecycle_stage"].str.to_lowercase().to_list() == ["customer", "lead"]
    assert not {"email", "first_name", "last_name"} & set(pulled.rows.columns)


def test_pulled_deals_keep_their_associated_contacts() -> None:
    deals = parsed(c.HUBSPOT_DEALS, "deals.jsonl", DEALS_JSONL).rows
    row = deals.row(0, named=True)
    assert (row["record_id"], row["deal_stage"], row["amount"], row["currency"]) == (
        "9001",
        "closedwon",
        1200.5,
        "EUR",
    )
    assert row["associated_contact_ids"] == "101;102"
    assert row["closed_at"] == dt.datetime(2025, 6, 2, 11, tzinfo=dt.UTC)


def test_pulled_salesforce_leads_carry_deletion_and_hash_the_email() -> None:
    leads = parsed(c.SALESFORCE_LEADS, "Lead.jsonl", LEADS_JSONL)
    assert leads.quarantine.height == 0
    assert leads.rows["is_deleted"].to_list() == [False, True]
    assert leads.rows["is_converted"].to_list() == [True, False]
    assert leads.rows["email_hash"][0] and "email" not in leads.rows.columns
    assert leads.rows["converted_date"][0] == dt.date(2025, 6, 2)


def test_a_day_without_changes_is_an_empty_delivery_not_an_error() -> None:
    empty = parsed(c.HUBSPOT_DEALS, "deals.jsonl", "")
    assert empty.rows.height == 0 and empty.quarantine.height == 0 and empty.rows_read == 0


def test_a_broken_line_names_the_file_and_line() -> None:
    with pytest.raises(ExtractUnreadableError, match=r"Lead.jsonl: .*line 2 is not a JSON object"):
        parsed(c.SALESFORCE_LEADS, "Lead.jsonl", LEADS_JSONL.splitlines()[0] + '\n{"Id": "00Q\n')


def test_a_bad_value_in_a_pulled_record_is_quarantined_with_its_line() -> None:
    bad = CONTACTS_JSONL.replace('"createdate": "2025-06-02T08:00:00Z"', '"createdate": "soon"')
    result = parsed(c.HUBSPOT_CONTACTS, "contacts.jsonl", bad)
    assert result.rows.height == 1
    row = result.quarantine.row(0, named=True)
    assert (row["row_number"], row["line_number"]) == (2, 2)
    assert "expected a date-time" in row["reason"] and "alan@example.com" not in str(row)


def test_the_day_folder_loads_pulled_files_beside_exports(tmp_path: Path) -> None:
    folder = tmp_path / "hubspot" / f"dt={DAY}"
    folder.mkdir(parents=True)
    (folder / "contacts.jsonl").write_text(CONTACTS_JSONL)
    (folder / "_pull_manifest.json").write_text("{}")  # not an extract: never read
    with duckdb.connect(":memory:") as con:
        result = load_csv_day(con, c.HUBSPOT_CONTACTS, str(tmp_path), DAY, KEY, LOADED_AT)
        ids = con.execute("select record_id from raw.hubspot_contacts order by 1").fetchall()
    assert result.rows_loaded == 2 and [Path(f).name for f in result.files] == ["contacts.jsonl"]
    assert ids == [("101",), ("102",)]
