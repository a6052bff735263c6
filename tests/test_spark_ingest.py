"""Ingest on Spark: the sample landing zone's days (with a quarantined CSV row and GA4 event)
loaded into a local Spark through `warehouse.connect`, which starts the deployment's server,
give exactly the raw tables, quarantine and ingest log DuckDB's ingest of the same files
gives; GA4's nested fields stay nested; re-ingesting a day replaces only its partition, and
sessions replacing partitions of one table at once (parallel ingest) keep each other's."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS
from kpi_pipeline.ingest.loaders import DayResult, load_csv_day
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.warehouse import append_frame, connect, is_spark, query_polars, warehouse_engine
from kpi_pipeline.warehouse.spark import SparkPaths, spark_location, stop_recorded_server
from tests.ingest_days import PII_KEY, ingest_days
from tests.ports import free_port
from tests.spark_extra import require_spark_extra

require_spark_extra()

DAYS = [dt.date(2025, 6, 1), dt.date(2025, 6, 2)]
LOADED_AT = dt.datetime(2025, 6, 3, 4, 5, 6, tzinfo=dt.UTC)
LOG_COLUMNS = (
    "source, raw_table, _extract_date, source_file, checksum, rows_read, rows_loaded, "
    "rows_quarantined, loaded_at, duplicate_of, summary_lines_skipped"
)

pytestmark = pytest.mark.e2e


def spoil_a_row_of_each_kind(landing: Path) -> None:
    """An order whose amount is not a number (day 1) and a GA4 event without a user (day 2):
    one quarantined row each."""
    orders = landing / "orders" / "dt=2025-06-01" / "orders.csv"
    with orders.open("a") as f:
        f.write("O-20250601-99999,2025060199999,2025-06-01T10:00:00Z,,placed,lots,USD\n")
    events = landing / "ga4" / "dt=2025-06-02" / "events_20250602.json"
    first = events.read_text().splitlines()[0]
    with events.open("a") as f:
        f.write(re.sub(r'"user_pseudo_id":"[^"]*"', '"user_pseudo_id":""', first) + "\n")


def ingest(con, landing: Path, days: list[dt.date]) -> list[DayResult]:
    return ingest_days(con, landing, days, LOADED_AT)


def raw_tables(con) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
        ).fetchall()
    ]


def sorted_rows(con, table: str, columns: list[str]) -> list[tuple]:
    """The table's rows, `columns` in this order, sorted by their text (independent of row
    order and of where an engine puts its partition columns)."""
    quote = "`" if is_spark(con) else '"'
    names = ", ".join(f"{quote}{c}{quote}" for c in columns)
    return sorted(con.execute(f"select {names} from {table}").fetchall(), key=repr)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark_ingest")
    landing = root / "landing"
    generate_sample(DAYS[0], DAYS[-1], landing, scale=0.03, seed=11)
    spoil_a_row_of_each_kind(landing)
    duckdb_file = root / "warehouse.duckdb"
    with connect(duckdb_file) as con:
        duckdb_results = ingest(con, landing, DAYS)
        tables = raw_tables(con)
        columns = {
            t: [c for (c, *_) in con.execute(f"describe raw.{t}").fetchall()] for t in tables
        }
        expected = {t: sorted_rows(con, f"raw.{t}", columns[t]) for t in tables}
    paths = SparkPaths(root / "spark")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("KPI_SPARK_PORT", str(free_port()))
        try:
            # no server runs yet: connect starts the deployment's own
            with connect(spark_location(paths.root)) as con:
                spark_results = ingest(con, landing, DAYS)
                actual = {t: sorted_rows(con, f"raw.{t}", columns[t]) for t in tables}
                schema = dict(con.table_columns("raw.ga4_events"))
                orders_before = sorted_rows(con, "raw.orders", columns["orders"])
                log_before = sorted_rows(con, "raw._ingest_log", LOG_COLUMNS.split(", "))
                # day 2's orders delivered again, one order fewer
                orders_file = landing / "orders" / "dt=2025-06-02" / "orders.csv"
                lines = orders_file.read_text().splitlines(keepends=True)
                orders_file.write_text("".join(lines[:-1]))
                again = load_csv_day(
                    con, CSV_EXTRACTS_BY_TABLE["orders"], landing, DAYS[1], PII_KEY, LOADED_AT
                )
                orders_after = sorted_rows(con, "raw.orders", columns["orders"])
                log_after = sorted_rows(con, "raw._ingest_log", LOG_COLUMNS.split(", "))
                yield {
                    "con": con,
                    "paths": paths,
                    "tables": tables,
                    "expected": expected,
                    "actual": actual,
                    "duckdb_results": duckdb_results,
                    "spark_results": spark_results,
                    "schema": schema,
                    "orders_before": orders_before,
                    "orders_after": orders_after,
                    "log_before": log_before,
                    "log_after": log_after,
                    "again": again,
                    "columns": columns,
                }
        finally:
            stop_recorded_server(paths)


CSV_EXTRACTS_BY_TABLE = {extract.table: extract for extract in CSV_EXTRACTS}


def test_each_raw_table_holds_the_rows_duckdbs_ingest_holds(ingested) -> None:
    tables = ingested["tables"]
    assert {"ga4_events", "orders", "_ingest_log", "_quarantine"} <= set(tables)
    for table in tables:
        assert ingested["actual"][table] == ingested["expected"][table], table
    assert len(ingested["expected"]["ga4_events"]) > 500
    assert len(ingested["expected"]["_quarantine"]) == 2  # the order and the event spoiled


def test_the_row_accounting_is_duckdbs(ingested) -> None:
    def accounting(results: list[DayResult]) -> list[tuple]:
        return [
            (r.table, r.day, len(r.files), r.rows_read, r.rows_loaded, r.rows_quarantined)
            for r in results
        ]

    spark = accounting(ingested["spark_results"])
    assert spark == accounting(ingested["duckdb_results"])
    assert all(read == loaded + quarantined for *_, read, loaded, quarantined in spark)
    quarantined = {(table, day) for table, day, *_, q in spark if q}
    assert quarantined == {("orders", DAYS[0]), ("ga4_events", DAYS[1])}


def test_ga4_nested_fields_are_nested_in_sparks_schema(ingested) -> None:
    schema = ingested["schema"]
    assert schema["event_params"].startswith("array<struct<key:string,value:struct<")
    assert schema["geo"] == "struct<country:string>"
    assert schema["_extract_date"] == "date"


def test_the_raw_tables_are_partitioned_by_day(ingested) -> None:
    orders = ingested["paths"].warehouse_dir / "raw.db" / "orders"
    assert sorted(p.name for p in orders.glob("_extract_date=*")) == [
        f"_extract_date={day}" for day in DAYS
    ]
    log = ingested["paths"].warehouse_dir / "raw.db" / "_ingest_log"
    assert (log / "raw_table=orders" / f"_extract_date={DAYS[0]}").is_dir()


def test_reingesting_a_day_replaces_only_its_partition(ingested) -> None:
    columns = ingested["columns"]["orders"]
    day = columns.index("_extract_date")
    before, after = ingested["orders_before"], ingested["orders_after"]

    def of_day(rows: list[tuple], wanted: dt.date) -> list[tuple]:
        return [row for row in rows if row[day] == wanted]

    assert of_day(after, DAYS[0]) == of_day(before, DAYS[0])  # the other day untouched
    assert len(of_day(after, DAYS[1])) == len(of_day(before, DAYS[1])) - 1
    assert len(set(after)) == len(after)  # no row twice
    again = ingested["again"]
    assert (again.rows_read, again.rows_loaded) == (len(of_day(after, DAYS[1])),) * 2
    # the ingest log: day 2's orders row replaced, every other row as it was
    changed = set(ingested["log_before"]) ^ set(ingested["log_after"])
    assert len(changed) == 2 and {(row[1], row[2]) for row in changed} == {("orders", DAYS[1])}
    assert len(ingested["log_after"]) == len(ingested["log_before"])


def test_the_connection_offers_the_warehouse_surface(ingested) -> None:
    """What the pipeline's Python uses of a DuckDB connection, on Spark."""
    import polars as pl

    con = ingested["con"]
    assert warehouse_engine(con) == {"engine": "spark", "version": "4.3.0"}
    assert con.execute("select ? as day, ? as text", [DAYS[0], "it's"]).fetchone() == (
        DAYS[0],
        "it's",
    )
    assert con.execute("select 1 as one where false").fetchone() is None
    assert con.execute("select 1 as one union all select 2").df()["one"].tolist() == [1, 2]
    con.execute("create schema if not exists scratch")
    con.execute("create table scratch.t (n bigint, d date) using parquet partitioned by (d)")
    rows = pl.DataFrame({"d": DAYS, "n": [1, 2]})  # columns matched by name
    con.execute("begin transaction")
    append_frame(con, "scratch.t", rows)
    con.execute("rollback")
    assert con.execute("select count(*) from scratch.t").fetchall() == [(0,)]
    append_frame(con, "scratch.t", rows)  # outside a transaction: inserted at once
    assert query_polars(con, "select n, d from scratch.t order by n").rows() == [
        (1, DAYS[0]),
        (2, DAYS[1]),
    ]
    con.execute("begin transaction")
    con.replace_partition("scratch.t", {"d": DAYS[0]})  # and nothing appended: emptied
    con.execute("commit")
    assert con.execute("select n, d from scratch.t").fetchall() == [(2, DAYS[1])]


def replace_at_once(location: str, table: str, rows: dict[str, int], day: dt.date) -> None:
    """One session per raw table of `rows` (as parallel ingest steps have), each replacing
    its partition (`raw_table`, `day`) of `table` with that many rows, their commits at
    once. A writer's error is raised here."""
    import threading

    import polars as pl

    ready = threading.Barrier(len(rows))
    errors: list[Exception] = []

    def write(raw_table: str, count: int) -> None:
        try:
            with connect(location) as con:
                frame = pl.DataFrame(
                    {
                        "n": list(range(count)),
                        "raw_table": [raw_table] * count,
                        "_extract_date": [day] * count,
                    }
                )
                con.execute("begin transaction")
                con.replace_partition(table, {"raw_table": raw_table, "_extract_date": day})
                append_frame(con, table, frame)
                ready.wait(timeout=300)
                con.execute("commit")
        except Exception as err:  # raised by the test's thread below
            errors.append(err)

    writers = [threading.Thread(target=write, args=item) for item in rows.items()]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    if errors:
        raise errors[0]


def test_sessions_replacing_partitions_of_one_table_at_once_keep_each_others(ingested) -> None:
    """Two sessions replacing different partitions of one table together (two ingest steps'
    quarantine rows) leave both; a replacement with no rows then empties exactly its own
    partition. Measured against the static form these once replaced: docs/warehouses.md."""
    con, paths = ingested["con"], ingested["paths"]
    location = spark_location(paths.root)
    table = "scratch.quarantined"
    con.execute("create schema if not exists scratch")
    con.execute(
        f"create table {table} (n bigint, raw_table string, _extract_date date) "
        "using parquet partitioned by (raw_table, _extract_date)"
    )

    def counts() -> dict[tuple, int]:
        con.execute(f"refresh table {table}")  # other sessions wrote it
        found = con.execute(
            f"select raw_table, _extract_date, count(*) from {table} group by 1, 2"
        ).fetchall()
        return {(name, day): count for name, day, count in found}

    for attempt in range(3):  # each time other row counts: the last replacement's are kept
        rows = {"orders": 20_000 + attempt, "ga4_events": 30_000 + attempt}
        replace_at_once(location, table, rows, DAYS[0])
        assert counts() == {(name, DAYS[0]): count for name, count in rows.items()}, attempt
    replace_at_once(location, table, {"orders": 5}, DAYS[1])
    replace_at_once(location, table, {"orders": 0}, DAYS[0])  # no rows this time
    assert counts() == {("ga4_events", DAYS[0]): 30_002, ("orders", DAYS[1]): 5}
    folder = paths.warehouse_dir / "scratch.db" / "quarantined"
    assert not (folder / "raw_table=orders" / f"_extract_date={DAYS[0]}").exists()
    assert not list(folder.glob(".spark-staging-*")) and not (folder / "_temporary").exists()
