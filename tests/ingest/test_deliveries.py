"""Deliveries across files and days: duplicates load once, a broken file fails its source
only, a reloaded day replaces itself, and the row accounting reaches Dagster."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.errors import MissingColumnsError
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.warehouse import connect
from tests.ingest.test_corpus import CORPUS, KEY, LOADED_AT

DAY1, DAY2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)


def put(landing: Path, extract: c.CsvExtract, day: dt.date, corpus_file: str, name=None) -> Path:
    folder = landing / extract.source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(CORPUS / corpus_file, folder / (name or extract.file_name)))


@pytest.fixture(params=["duckdb", "postgres"])
def con(request):
    """An empty warehouse of each kind: in-memory DuckDB, a fresh PostgreSQL database."""
    if request.param == "postgres":
        with connect(request.getfixturevalue("postgres_database")) as connection:
            yield connection
        return
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    yield connection
    connection.close()


def count(con, sql: str, params=None) -> int:
    return con.execute(sql, params or []).fetchone()[0]


def test_the_same_file_delivered_on_two_days_loads_once(con, tmp_path: Path) -> None:
    put(tmp_path, c.ORDERS, DAY1, "orders_bom.csv")
    second = put(tmp_path, c.ORDERS, DAY2, "orders_bom.csv")
    load_csv_day(con, c.ORDERS, tmp_path, DAY1, KEY, LOADED_AT)
    result = load_csv_day(con, c.ORDERS, tmp_path, DAY2, KEY, LOADED_AT)

    assert count(con, "select count(*) from raw.orders") == 2
    assert result.duplicates_skipped == [str(second)]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (0, 0, 0)
    log = con.execute(
        "select _extract_date, rows_read, rows_loaded, duplicate_of from raw._ingest_log "
        "order by _extract_date"
    ).fetchall()
    first = str(tmp_path / "orders/dt=2025-03-03/orders.csv")
    assert log == [(DAY1, 2, 2, None), (DAY2, 0, 0, first)]


def test_the_same_content_delivered_plain_and_gzipped_loads_once(con, tmp_path: Path) -> None:
    plain = put(tmp_path, c.ORDERS, DAY1, "orders_crlf.csv")
    zipped = plain.parent / "orders.csv.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    result = load_csv_day(con, c.ORDERS, tmp_path, DAY1, KEY, LOADED_AT)
    assert result.files == [str(plain), str(zipped)]
    assert result.duplicates_skipped == [str(zipped)]
    assert (result.rows_read, result.rows_loaded) == (2, 2)
    assert count(con, "select count(*) from raw.orders") == 2


def test_reloading_a_day_replaces_it_without_duplicates(con, tmp_path: Path) -> None:
    put(tmp_path, c.NPS_RESPONSES, DAY1, "nps_mixed.csv")
    for _ in range(3):
        load_csv_day(con, c.NPS_RESPONSES, tmp_path, DAY1, KEY, LOADED_AT)
    assert count(con, "select count(*) from raw.nps_responses") == 1
    assert count(con, "select count(*) from raw._quarantine") == 3
    assert count(con, "select count(*) from raw._ingest_log") == 1


def test_a_broken_file_fails_its_source_only_and_keeps_loaded_days(con, tmp_path: Path) -> None:
    put(tmp_path, c.ORDERS, DAY1, "orders_bom.csv")
    load_csv_day(con, c.ORDERS, tmp_path, DAY1, KEY, LOADED_AT)
    put(tmp_path, c.ORDERS, DAY2, "orders_missing_required_column.csv")
    put(tmp_path, c.ADS_SPEND, DAY2, "spend_future_date.csv")
    # a reload of day 1 that breaks must leave day 1's earlier load in place, too
    bad_day1 = put(tmp_path, c.ORDERS, DAY1, "orders_empty.csv")

    with pytest.raises(MissingColumnsError, match="'net_amount'"):
        load_csv_day(con, c.ORDERS, tmp_path, DAY2, KEY, LOADED_AT)
    with pytest.raises(MissingColumnsError, match=str(bad_day1)):
        load_csv_day(con, c.ORDERS, tmp_path, DAY1, KEY, LOADED_AT)
    spend = load_csv_day(con, c.ADS_SPEND, tmp_path, DAY2, KEY, LOADED_AT)

    assert con.execute(
        "select _extract_date, count(*) from raw.orders group by _extract_date"
    ).fetchall() == [(DAY1, 2)]
    assert (spend.rows_loaded, spend.rows_quarantined) == (2, 0)
    assert con.execute(
        "select raw_table, _extract_date, rows_loaded from raw._ingest_log order by raw_table"
    ).fetchall() == [("ads_spend", DAY2, 2), ("orders", DAY1, 2)]
