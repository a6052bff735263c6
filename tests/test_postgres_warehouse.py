"""The same Dagster job (ingest -> dbt -> quality gate -> publish) on PostgreSQL and on
DuckDB: every KPI fact and every published KPI value equal; the PostgreSQL run's snapshot
also matches the plain-Python oracle (tests/oracle.py). The PostgreSQL backfill runs its
steps two at a time, each in a process of its own (KPI_INGEST_PARALLELISM=2)."""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from kpi_pipeline.cli.catalogue import latest_values
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.kpis.show import read_days, read_periods
from kpi_pipeline.orchestration.readonly_query import (
    QueryError,
    read_only_connection,
    read_only_query,
)
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from kpi_pipeline.warehouse import connect, query_polars
from tests.conftest import deploy
from tests.mart_keys import FACT_MART_KEYS
from tests.parallel_steps import assert_ingest_ran_in_parallel
from tests.test_end_to_end import assert_matches_oracle

FIRST = dt.date(2025, 6, 2)
LAST_OF_BACKFILL = dt.date(2025, 6, 3)
LAST = dt.date(2025, 6, 4)  # a daily run after the backfill: dbt's incremental path
DAYS = [FIRST + dt.timedelta(days=n) for n in range((LAST - FIRST).days + 1)]

# each mart's key columns (tests/mart_keys.py)
MARTS = FACT_MART_KEYS

pytestmark = pytest.mark.e2e


def rows_by_key(frame: pl.DataFrame, keys: list[str]) -> dict[tuple, dict]:
    rows = {tuple(r[k] for k in keys): r for r in frame.iter_rows(named=True)}
    assert len(rows) == frame.height, "duplicate keys"
    return rows


def assert_same_rows(expected: pl.DataFrame, actual: pl.DataFrame, keys: list[str], what: str):
    """Same keys; floats equal to 1e-9 relative, everything else exactly."""
    assert sorted(actual.columns) == sorted(expected.columns), what
    want, got = rows_by_key(expected, keys), rows_by_key(actual, keys)
    assert set(got) == set(want), f"{what}: keys differ: {set(want) ^ set(got)}"
    for key, row in want.items():
        for column, value in row.items():
            other = got[key][column]
            if isinstance(value, float) and other is not None:
                assert math.isclose(float(other), value, rel_tol=1e-9, abs_tol=1e-12), (
                    f"{what} {key} {column}: duckdb {value}, postgres {other}"
                )
            else:
                assert other == value, f"{what} {key} {column}: duckdb {value}, postgres {other}"


def backfill_then_daily_run(deployment) -> None:
    generate_sample(FIRST, LAST, deployment.landing, scale=0.03, seed=11)
    for first, last in ((FIRST, LAST_OF_BACKFILL), (LAST, LAST)):
        report = deployment.run(first, last)
        assert report.success, report.reason()


def test_postgres_run_equals_duckdb_run(tmp_path, monkeypatch, postgres_database) -> None:
    postgres_url = postgres_database  # a database of its own: no other test's tables
    on_duckdb = deploy(tmp_path / "duckdb", monkeypatch)
    backfill_then_daily_run(on_duckdb)
    with duckdb.connect(str(on_duckdb.warehouse), read_only=True) as con:
        duckdb_marts = {m: con.sql(f"select * from marts.{m}").pl() for m in MARTS}

    # the backfill with two step processes at a time (KPI_INGEST_PARALLELISM=2), the daily
    # run in process: the marts and snapshots below are the same as DuckDB's all the same
    root = tmp_path / "postgres"
    in_parallel = deploy(root, monkeypatch, warehouse=postgres_url, parallelism=2)
    generate_sample(FIRST, LAST, in_parallel.landing, scale=0.03, seed=11)
    backfill = in_parallel.run(FIRST, LAST_OF_BACKFILL)
    assert backfill.success, backfill.reason()
    assert_ingest_ran_in_parallel(in_parallel, backfill.run_id)
    on_postgres = deploy(root, monkeypatch, warehouse=postgres_url)
    daily = on_postgres.run(LAST, LAST)
    assert daily.success, daily.reason()
    with connect(postgres_url) as con:
        backend = con.execute("select version()").fetchone()[0]
        nested = con.execute(
            "select data_type from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'ga4_events' and column_name = 'event_params'"
        ).fetchone()
        postgres_marts = {m: query_polars(con, f"select * from marts.{m}") for m in MARTS}

    assert backend.startswith("PostgreSQL"), backend
    assert nested == ("jsonb",)  # GA4's nested records, read by the dbt macros' JSON branch
    for mart, keys in MARTS.items():
        assert duckdb_marts[mart].height > 0, mart
        assert_same_rows(duckdb_marts[mart], postgres_marts[mart], keys, mart)

    for day in DAYS:
        folder = f"{day.isoformat()}/latest/kpis.parquet"
        published = [pl.read_parquet(d.snapshots / folder) for d in (on_duckdb, on_postgres)]
        assert published[0].height > 0
        snapshot_keys = ["kpi_id", "dimension", "dimension_value"]
        assert_same_rows(*published, snapshot_keys, f"snapshot {day}")
        # and both equal the independent computation from the landing files known by the
        # last run: it restates (and republishes) the published days of its lookback
        assert_matches_oracle(on_postgres, day, as_of=LAST)
        # each manifest says which engine computed it
        engines = [
            json.loads((d.snapshots / day.isoformat() / "latest" / "manifest.json").read_text())[
                "warehouse"
            ]
            for d in (on_duckdb, on_postgres)
        ]
        assert engines[0] == {"engine": "duckdb", "version": duckdb.__version__}
        assert engines[1]["engine"] == "postgres"
        assert backend.startswith(f"PostgreSQL {engines[1]['version'].split()[0]}"), engines

    # the analysts' readers work on the PostgreSQL warehouse too, and stay read-only
    counted_sql = "select count(*) as n from marts.fct_kpi_daily"
    counted = read_only_query(postgres_url, counted_sql)
    assert counted["n"].to_list() == [duckdb_marts["fct_kpi_daily"].height]
    with pytest.raises(QueryError, match="refused: DELETE is not a read"):
        read_only_query(postgres_url, "delete from marts.fct_kpi_daily")
    assert read_only_query(postgres_url, counted_sql)["n"].to_list() == counted["n"].to_list()
    latest_day, value, _ = latest_values(postgres_url)["net_revenue"]
    assert latest_day == LAST
    assert value == pytest.approx(
        published[1].filter(pl.col("kpi_id") == "net_revenue")["value"][0]
    )
    # kpi show reads the same values from either warehouse
    kpi = load_catalogue(KPI_CATALOGUE_PATH)["session_conversion_rate"]
    shown = []
    for warehouse in (on_duckdb.warehouse, postgres_url):
        with read_only_connection(warehouse) as con:
            shown.append(
                pl.concat(
                    [
                        read_days(con, kpi, FIRST, LAST, "channel"),
                        read_periods(con, kpi, "month", FIRST, LAST, "channel"),
                    ]
                )
            )
    assert shown[0].height > 2
    assert_frame_equal(shown[0], shown[1], check_exact=False, rel_tol=1e-9)


def test_parallel_ingest_steps_create_raw_tables_in_turn(postgres_database) -> None:
    """Two sessions creating the same schema or table at once can fail on PostgreSQL (a
    duplicate key in its catalog): an ingest step makes the raw tables' DDL under an
    advisory lock, so parallel steps take turns. Held here by another session, the step's
    DDL waits for it (seen in pg_locks, not timed) and creates nothing until it is free."""
    import threading

    from kpi_pipeline.ingest import raw_tables
    from kpi_pipeline.ingest.loaders import prepare_ga4_table
    from kpi_pipeline.warehouse import table_exists

    errors: list[BaseException] = []
    done = threading.Event()

    def ingest_step() -> None:
        try:
            with connect(postgres_database) as con:
                prepare_ga4_table(con)
        except BaseException as err:  # reported by the test below
            errors.append(err)
        finally:
            done.set()

    waiting_sql = (
        "select count(*) from pg_locks where locktype = 'advisory' and not granted"
        " and database = (select oid from pg_database where datname = current_database())"
    )
    with connect(postgres_database) as other:
        other.execute("select pg_advisory_lock(?)", [raw_tables.RAW_DDL_LOCK])
        step = threading.Thread(target=ingest_step)
        step.start()
        waiting = 0
        while not waiting and not done.is_set():
            waiting = other.execute(waiting_sql).fetchone()[0]
            done.wait(0.05)
        assert waiting == 1, errors
        assert not table_exists(other, "raw", "_quarantine")
        other.execute("select pg_advisory_unlock(?)", [raw_tables.RAW_DDL_LOCK])
        step.join()
        assert not errors, errors
        assert table_exists(other, "raw", "_quarantine")
        assert table_exists(other, "raw", "ga4_events")
