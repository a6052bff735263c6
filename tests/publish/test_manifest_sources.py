"""What a day's manifest says of its sources, from `raw._ingest_log` read once: the day's
files, the digest over every file up to the day, the rows loaded per raw table and the
files of the days around it (figures written out by hand)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from kpi_pipeline.publish.manifest import (
    raw_row_counts,
    read_ingest_log,
    source_files,
    window_files,
)
from kpi_pipeline.warehouse import connect

D = dt.date
LOG = [  # by day, raw table and file
    (D(2025, 6, 1), "orders", "orders/dt=2025-06-01/orders.csv", "o1", 10, 9, 1),
    (D(2025, 6, 2), "ga4_events", "ga4/dt=2025-06-02/events_1.json", "g2", 100, 100, 0),
    (D(2025, 6, 2), "orders", "orders/dt=2025-06-02/orders.csv", "o2", 5, 5, 0),
    (D(2025, 6, 2), "orders", "orders/dt=2025-06-02/orders_resent.csv", "o2b", 3, 2, 1),
    (D(2025, 6, 3), "nps_responses", "nps/dt=2025-06-03/responses.csv", None, None, None, None),
    (D(2025, 6, 5), "orders", "orders/dt=2025-06-05/orders.csv", "o5", 4, 4, 0),
]


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    location = str(tmp_path / "warehouse.duckdb")
    with connect(location) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw._ingest_log (_extract_date date, raw_table varchar, source_file "
            "varchar, checksum varchar, rows_read bigint, rows_loaded bigint, "
            "rows_quarantined bigint)"
        )
        for row in reversed(LOG):  # stored in no particular order
            con.execute("insert into raw._ingest_log values (?, ?, ?, ?, ?, ?, ?)", row)
    return location


def test_a_days_sources_from_one_read_of_the_log(warehouse: str) -> None:
    with connect(warehouse, read_only=True) as con:
        log = read_ingest_log(con, D(2025, 6, 3))  # the day and one day around it

    assert [(f.extract_date, f.file) for f in log] == [(r[0], r[2]) for r in LOG[:5]]
    sources = source_files(log, D(2025, 6, 2))
    assert sources["files"] == [
        {
            "raw_table": "ga4_events",
            "file": "ga4/dt=2025-06-02/events_1.json",
            "sha256": "g2",
            "rows_read": 100,
            "rows_loaded": 100,
            "rows_quarantined": 0,
        },
        {
            "raw_table": "orders",
            "file": "orders/dt=2025-06-02/orders.csv",
            "sha256": "o2",
            "rows_read": 5,
            "rows_loaded": 5,
            "rows_quarantined": 0,
        },
        {
            "raw_table": "orders",
            "file": "orders/dt=2025-06-02/orders_resent.csv",
            "sha256": "o2b",
            "rows_read": 3,
            "rows_loaded": 2,
            "rows_quarantined": 1,
        },
    ]
    # every file up to the day, by day, table and file: not the next day's
    every_file = (
        "2025-06-01|orders|orders/dt=2025-06-01/orders.csv|o1\n"
        "2025-06-02|ga4_events|ga4/dt=2025-06-02/events_1.json|g2\n"
        "2025-06-02|orders|orders/dt=2025-06-02/orders.csv|o2\n"
        "2025-06-02|orders|orders/dt=2025-06-02/orders_resent.csv|o2b"
    )
    assert sources["all_extracts_digest"] == hashlib.sha256(every_file.encode()).hexdigest()
    assert sources["all_extracts_files"] == 4
    assert raw_row_counts(log, D(2025, 6, 2)) == {"ga4_events": 100, "orders": 7}
    # a file whose rows nobody counted: no count, never a zero
    assert raw_row_counts(log, D(2025, 6, 3)) == {"nps_responses": None}
    assert [f["file"] for f in window_files(log, D(2025, 6, 2), 1)] == [r[2] for r in LOG[:5]]
    assert window_files(log, D(2025, 6, 1), 0) == [
        {
            "extract_date": "2025-06-01",
            "raw_table": "orders",
            "file": "orders/dt=2025-06-01/orders.csv",
            "sha256": "o1",
        }
    ]


def test_a_warehouse_without_an_ingest_log_has_no_sources(tmp_path: Path) -> None:
    with connect(str(tmp_path / "warehouse.duckdb")) as con:
        log = read_ingest_log(con, D(2025, 6, 3))

    assert log is None
    assert source_files(log, D(2025, 6, 2)) == {
        "files": [],
        "all_extracts_digest": None,
        "all_extracts_files": 0,
    }
    assert raw_row_counts(log, D(2025, 6, 2)) == {}
    assert window_files(log, D(2025, 6, 2), 1) == []
