"""Ids are opaque text: the same extracts keyed by numbers and by text ids give the same KPIs.

One deployment loads the generated sample as written (numeric contact, record and order
ids); a second loads a copy in which every id was replaced, consistently across files, by
the kinds of ids real systems write: Salesforce 18- and 15-character ids
(`0035e00000AbCdEAA1`), a shop's `cus_...`, `gid://shop/Customer/7`, UUIDs, and zero-padded
numbers. Contact ids change in orders, NPS responses and HubSpot contacts; order ids in
orders and in GA4's `transaction_id` (the attribution join); response ids and HubSpot deal
ids too. Both deployments must publish exactly the same KPI values, and quarantine nothing.

Leading zeros: pairs of customers acquired on different days get `00<k>` and `<k>`
(`007` and `7`). Read as numbers, each pair would be one customer, acquired on the earlier
day, and the later day's acquisitions (cost per acquisition) would differ.

A warehouse created when these ids were BIGINT has its raw id columns turned into text
when the new contract loads into it, on DuckDB and on PostgreSQL (which first drops the
views over the table: dbt creates them again).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import itertools
import json
import shutil
import string
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.warehouse import connect
from tests import oracle
from tests.conftest import deploy

FIRST, LAST = dt.date(2025, 6, 2), dt.date(2025, 6, 4)
DAYS = [FIRST + dt.timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
NAMESPACE = uuid.UUID("6f1c1b8e-0000-4000-8000-00000000beef")


def token(n: int, width: int) -> str:
    """`n` in base 62, `width` characters: Salesforce-looking, mixed case."""
    out = ""
    for _ in range(width):
        n, digit = divmod(n, len(ALPHABET))
        out = ALPHABET[digit] + out
    return out


CONTACT_STYLES: tuple[Callable[[int, str], str], ...] = (
    lambda i, old: f"0035e00000{token(i, 5)}AA1",  # Salesforce contact, 18 characters
    lambda i, old: f"0035e{token(i, 10)}",  # Salesforce contact, 15 characters
    lambda i, old: f"cus_{token(i * 7919, 6)}",  # a payment / shop customer id
    lambda i, old: f"gid://shop/Customer/{i}",  # a GraphQL global id
    lambda i, old: str(uuid.uuid5(NAMESPACE, f"contact-{old}")),
)
ORDER_STYLES: tuple[Callable[[int, str], str], ...] = (
    lambda i, old: f"gid://shop/Order/{i}",
    lambda i, old: f"{i:08d}",  # digits with leading zeros
    lambda i, old: str(uuid.uuid5(NAMESPACE, f"order-{old}")),
    lambda i, old: f"8015e00000{token(i, 5)}AAQ",  # Salesforce order
)


def csv_column_values(landing: Path, source: str, file_name: str, column: str) -> set[str]:
    values = set()
    for path in landing.glob(f"{source}/dt=*/{file_name}"):
        with path.open(encoding="utf-8", newline="") as handle:
            values |= {row[column] for row in csv.DictReader(handle) if row[column]}
    return values


def contact_mapping(landing: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Every contact id -> an opaque id; and the (earlier, later) customer pairs keyed
    `00<k>` / `<k>`."""
    orders = oracle.load_orders(landing, LAST)
    acquired = {day: sorted(oracle.customers_acquired(orders, day, dt.UTC)) for day in DAYS}
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for earlier, later in itertools.pairwise(DAYS):
        firsts = [a for a in acquired[earlier] if a not in used]
        seconds = [b for b in acquired[later] if b not in used]
        for a, b in list(zip(firsts, seconds, strict=False))[:2]:
            pairs.append((a, b))
            used |= {a, b}
    mapping = {}
    for k, (a, b) in enumerate(pairs, start=7):
        mapping[a], mapping[b] = f"00{k}", str(k)
    contacts = set()
    for source, file_name, column in (
        ("orders", "orders.csv", "contact_id"),
        ("nps", "responses.csv", "contact_id"),
        ("hubspot", "contacts.csv", "Record ID"),
    ):
        contacts |= csv_column_values(landing, source, file_name, column)
    others = sorted(contacts - set(mapping), key=int)
    for i, old in enumerate(others):
        mapping[old] = CONTACT_STYLES[i % len(CONTACT_STYLES)](i, old)
    return mapping, [(mapping[a], mapping[b]) for a, b in pairs]


def rewrite_csv(path: Path, columns: dict[str, dict[str, str]]) -> None:
    """Replace the cells of `columns` (column -> old -> new); every other cell as it was."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        for column, mapping in columns.items():
            if row[column]:
                row[column] = mapping[row[column]]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def rewrite_ga4(path: Path, orders: dict[str, str]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle if line.strip()]
    for event in events:
        ecommerce = event.get("ecommerce") or {}
        if ecommerce.get("transaction_id"):
            ecommerce["transaction_id"] = orders[ecommerce["transaction_id"]]
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(event) + "\n" for event in events)


def opaque_copy(numbers: Path, opaque: Path) -> list[tuple[str, str]]:
    """Copy the landing zone with every id replaced; the `00<k>` / `<k>` pairs."""
    shutil.copytree(numbers, opaque, dirs_exist_ok=True)
    contacts, pairs = contact_mapping(numbers)
    order_ids = sorted(csv_column_values(numbers, "orders", "orders.csv", "order_id"))
    orders = {old: ORDER_STYLES[i % len(ORDER_STYLES)](i, old) for i, old in enumerate(order_ids)}
    responses = {
        old: str(uuid.uuid5(NAMESPACE, f"response-{old}"))
        for old in csv_column_values(numbers, "nps", "responses.csv", "response_id")
    }
    deals = {
        old: f"{i:012d}"
        for i, old in enumerate(
            sorted(csv_column_values(numbers, "hubspot", "deals.csv", "Record ID"))
        )
    }
    for path in opaque.glob("orders/dt=*/orders.csv"):
        rewrite_csv(path, {"contact_id": contacts, "order_id": orders})
    for path in opaque.glob("nps/dt=*/responses.csv"):
        rewrite_csv(path, {"contact_id": contacts, "response_id": responses})
    for path in opaque.glob("hubspot/dt=*/contacts.csv"):
        rewrite_csv(path, {"Record ID": contacts})
    for path in opaque.glob("hubspot/dt=*/deals.csv"):
        rewrite_csv(path, {"Record ID": deals})
    for path in opaque.glob("ga4/dt=*/events_*.json*"):
        rewrite_ga4(path, orders)
    return pairs


def published(snapshots: Path, day: dt.date) -> pl.DataFrame:
    frame = pl.read_parquet(snapshots / day.isoformat() / "latest" / "kpis.parquet")
    return frame.sort("kpi_id", "dimension", "dimension_value")


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.e2e
def test_text_ids_give_exactly_the_kpis_of_numeric_ids(tmp_path: Path, monkeypatch) -> None:
    with_numbers = deploy(tmp_path / "numbers", monkeypatch)
    generate_sample(FIRST, LAST, with_numbers.landing, scale=0.1, seed=7)
    report = with_numbers.run(FIRST, LAST)
    assert report.success, report.reason()

    with_text = deploy(tmp_path / "text", monkeypatch)
    pairs = opaque_copy(with_numbers.landing, with_text.landing)
    assert len(pairs) >= 2, "the sample must acquire customers on several days"
    assert ("007", "7") in pairs
    report = with_text.run(FIRST, LAST)
    assert report.success, report.reason()

    for deployment in (with_numbers, with_text):
        assert query(deployment.warehouse, "select count(*) from raw._quarantine") == [(0,)]
    # the text ids reached the marts' inputs as written, leading zeros and all
    acquired = {
        row[0]
        for row in query(
            with_text.warehouse, "select contact_id from intermediate.int_customers__acquisitions"
        )
    }
    assert {id_ for pair in pairs for id_ in pair} <= acquired
    buyers = {row[0] for row in query(with_text.warehouse, "select contact_id from raw.orders")}
    assert any(i.startswith("gid://shop/Customer/") for i in buyers)
    assert any(len(i) == 18 and i.startswith("0035e00000") for i in buyers)
    assert any(len(i) == 15 and i.startswith("0035e") for i in buyers)
    assert any(i.startswith("cus_") for i in buyers)
    assert any(len(i) == 36 and i.count("-") == 4 for i in buyers)  # a UUID
    attributed = query(
        with_text.warehouse,
        "select count(*) from intermediate.int_orders__attribution where session_key is not null",
    )[0][0]
    assert attributed > 0, "GA4 transaction ids still find their orders"

    for day in DAYS:
        numbers, text = published(with_numbers.snapshots, day), published(with_text.snapshots, day)
        assert numbers.height > 0
        assert_frame_equal(numbers, text, check_exact=True)
    cpa = [
        published(with_text.snapshots, day).filter(
            (pl.col("kpi_id") == "cost_per_acquisition") & (pl.col("dimension") == "all")
        )["denominator"][0]
        for day in DAYS[1:]
    ]
    assert all(n and n >= 1 for n in cpa), "later days acquire customers: the pairs matter"


ORDERS_AFTER = (
    "order_id,contact_id,placed_at,fulfilled_at,status,net_amount,currency\n"
    "007,cus_Nf8Xq2,2025-03-04T09:00:00Z,,placed,20,USD\n"
    "0035e00000AbCdEAA1, 007 ,2025-03-04T10:00:00Z,,placed,30,USD\n"
)


@pytest.fixture(params=["duckdb", "postgres"])
def old_warehouse(request, tmp_path: Path) -> str:
    """An empty warehouse of either kind (PostgreSQL: a fresh database on the session's
    server, skipped without its binaries)."""
    if request.param == "duckdb":
        return str(tmp_path / "warehouse.duckdb")
    return request.getfixturevalue("postgres_database")


def test_a_warehouse_with_integer_ids_takes_text_ids(tmp_path: Path, old_warehouse: str) -> None:
    """raw.orders created with contact_id BIGINT (the contract before ids were text), with
    a view over it as dbt's staging has, and a day loaded: the next load turns the column
    into text, the number loaded before reads back as its digits, and text ids load as
    written (trimmed; leading zeros kept)."""
    landing = tmp_path / "landing"
    folder = landing / "orders" / "dt=2025-03-04"
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_text(ORDERS_AFTER)
    loaded_at = dt.datetime(2025, 3, 5, tzinfo=dt.UTC)
    with connect(old_warehouse) as con:
        for sql in (
            "create schema raw",
            "create schema staging",
            "create table raw.orders (order_id VARCHAR, contact_id BIGINT,"
            " placed_at TIMESTAMPTZ, fulfilled_at TIMESTAMPTZ, status VARCHAR,"
            " net_amount DOUBLE PRECISION, currency VARCHAR, _extract_date DATE NOT NULL,"
            " _source_file VARCHAR NOT NULL, _row_number BIGINT NOT NULL,"
            " _loaded_at TIMESTAMPTZ NOT NULL)",
            "create view staging.stg_orders__orders as select * from raw.orders",
            "insert into raw.orders values ('O-1', 7, '2025-03-03 09:00:00+00', null, 'placed',"
            " 10, 'USD', '2025-03-03', 'orders.csv', 1, '2025-03-04 06:00:00+00')",
        ):
            con.execute(sql)
        result = load_csv_day(con, c.ORDERS, landing, dt.date(2025, 3, 4), b"k", loaded_at)
        assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
        types = dict(
            con.execute(
                "select column_name, upper(data_type) from information_schema.columns"
                " where table_schema = 'raw' and table_name = 'orders'"
            ).fetchall()
        )
        rows = con.execute(
            "select order_id, contact_id from raw.orders order by _extract_date, _row_number"
        ).fetchall()
    assert types["contact_id"] in {"VARCHAR", "CHARACTER VARYING"}
    assert rows == [("O-1", "7"), ("007", "cus_Nf8Xq2"), ("0035e00000AbCdEAA1", "007")]
