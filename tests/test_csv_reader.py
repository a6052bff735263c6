from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpi_pipeline.ingest.contracts import HUBSPOT_CONTACTS, ORDERS
from kpi_pipeline.ingest.csv_reader import parse_extract, read_csv_text
from kpi_pipeline.ingest.errors import MissingColumnsError
from kpi_pipeline.ingest.pii import keyed_hash

KEY = b"k"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_that_cannot_be_typed_are_quarantined_with_line_column_and_reason(tmp_path) -> None:
    path = write(
        tmp_path,
        "order_id,contact_id,placed_at,fulfilled_at,status,net_amount,currency\n"
        'O-1,1,2025-03-03T10:00:00Z,,placed,"1,234.50",USD\n'
        "O-2,1,2025-03-03T10:00:00,,placed,10,USD\n"  # no zone
        "O-3,1,2025-03-03T10:00:00Z,,placed,ten,USD\n"
        ",1,2025-03-03T10:00:00Z,,placed,5,USD\n",
    )
    parsed = parse_extract(read_csv_text(path), ORDERS, path, KEY)
    assert parsed.rows_read == 4
    assert parsed.rows.height + parsed.quarantine.height == parsed.rows_read
    assert parsed.rows["order_id"].to_list() == ["O-1"]
    assert parsed.rows["net_amount"].to_list() == [1234.5]
    reasons = {
        r["row_number"]: (r["column_name"], r["reason"])
        for r in parsed.quarantine.iter_rows(named=True)
    }
    assert reasons[2][0] == "placed_at" and "with a zone" in reasons[2][1]
    assert reasons[3] == ("net_amount", "column 'net_amount': expected a number, found 'ten'")
    assert reasons[4] == ("order_id", "column 'order_id': required value is empty")


def test_missing_required_column_names_the_file_what_is_missing_and_what_was_found(
    tmp_path,
) -> None:
    path = write(tmp_path, "order_id,placed_at\nO-1,2025-03-03T10:00:00Z\n")
    with pytest.raises(MissingColumnsError) as err:
        parse_extract(read_csv_text(path), ORDERS, path, KEY)
    message = str(err.value)
    assert str(path) in message
    assert "'status'" in message and "'net_amount'" in message and "found 'order_id'" in message


def test_personal_data_is_hashed_or_dropped_and_labels_match_loosely(tmp_path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "record id,First Name,LAST  NAME,Email,Create Date,Last Modified Date,"
        "Lifecycle Stage,Original Source,Extra\n"
        "7,Ada,Lovelace,Ada@Example.com,2025-03-03 08:00,2025-03-03 08:00,lead,DIRECT_TRAFFIC,x\n"
    )
    parsed = parse_extract(read_csv_text(path), HUBSPOT_CONTACTS, path, KEY)
    row = parsed.rows.row(0, named=True)
    assert row["record_id"] == "7"  # ids are opaque text
    assert row["email_hash"] == keyed_hash("ada@example.com", KEY)
    assert not {"email", "first_name", "last_name"} & set(parsed.rows.columns)
    assert "Ada" not in json.dumps(row, default=str)
