"""The raw check's frame, its text columns fetched through Arrow, is the frame `.df()` gives:
the same values, dtypes and GX fingerprint, so the same verdicts, evidence and stored results."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from great_expectations.execution_engine.pandas_execution_engine import hash_pandas_dataframe

from kpi_pipeline.quality import checks
from kpi_pipeline.quality.checks import columns_read, raw_rows_frame
from kpi_pipeline.quality.suites import load_suite_dict, validate_frame
from kpi_pipeline.warehouse.pandas_frame import duckdb_frame
from tests.quality.gx_results import stored_results

DAY = dt.date(2025, 3, 3)
NULL_TYPES = ["varchar", "bigint", "integer", "timestamptz", "date", "decimal(18, 6)", "boolean"]
NULLS = {f"null_{n}" for n in range(len(NULL_TYPES))}
COLUMNS = ["t", "u", "empty", "d", "n", "ts", "amount", "flag", "x", *sorted(NULLS)]
TEXTS = {"t", "u", "empty"}


def table(con, rows: int) -> None:
    """Text with values, nulls, empty strings and other scripts; a text column without any
    value; dates, nullable integers, timestamps, decimals, booleans and doubles; a null of
    each type as the raw check selects a column its suite does not read."""
    con.execute(
        f"""create or replace table sample as
        select
            case when i % 7 = 0 then null when i % 5 = 0 then '' else 'value-' || i end as t,
            case when i % 3 = 0 then 'é漢字' || i else 'u' end as u,
            cast(null as varchar) as empty,
            date '2025-03-03' + cast(i % 4 as integer) as d,
            case when i % 2 = 0 then null else i end as n,
            timestamptz '2025-03-03 10:00:00+00' + to_seconds(i) as ts,
            cast(i / 7 as decimal(18, 6)) as amount,
            i % 2 = 0 as flag,
            i / 3.0 as x,
            {", ".join(f"cast(null as {t}) as null_{n}" for n, t in enumerate(NULL_TYPES))}
        from range({rows}) r(i)"""
    )


def arrow_chunks(frame: pd.DataFrame) -> dict[str, int]:
    """How many Arrow chunks each Arrow-backed column holds (GX reads one chunk faster)."""
    return {
        c: getattr(frame[c].array.__arrow_array__(), "num_chunks", 1)
        for c in frame
        if hasattr(frame[c].array, "__arrow_array__")
    }


def assert_same_frame(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(expected, actual, check_exact=True)
    assert list(expected.dtypes) == list(actual.dtypes)
    assert hash_pandas_dataframe(expected) == hash_pandas_dataframe(actual)
    assert arrow_chunks(expected) == arrow_chunks(actual)


# 200,000 rows: DuckDB hands Arrow several record batches
@pytest.mark.parametrize("rows", [0, 1, 14, 200_000])
def test_the_frame_is_the_one_df_gives(rows: int) -> None:
    con = duckdb.connect()
    table(con, rows)
    sql = f"select {', '.join(COLUMNS)} from sample where d between ? and ?"
    params = [DAY, DAY + dt.timedelta(days=3)]
    expected = con.execute(sql, params).df()
    assert_same_frame(expected, duckdb_frame(con, sql, params, COLUMNS, TEXTS, NULLS))
    # a text column with values only, and no text column at all
    assert_same_frame(
        con.execute("select t, u from sample").df(),
        duckdb_frame(con, "select t, u from sample", [], ["t", "u"], {"t", "u"}),
    )
    assert_same_frame(
        con.execute("select d, n from sample").df(),
        duckdb_frame(con, "select d, n from sample", [], ["d", "n"], set()),
    )


def test_the_query_runs_once_and_its_columns_line_up_without_insertion_order() -> None:
    """Without DuckDB's insertion order, two runs of a query may give its rows in different
    orders: the frame comes from one run, so each row's columns stay together."""
    con = duckdb.connect()
    table(con, 200_000)
    con.execute("set preserve_insertion_order = false")
    sql = f"select {', '.join(COLUMNS)} from sample"
    runs = []
    real_sql = con.sql

    class Spy:
        def sql(self, query, params=None):
            runs.append(query)
            return real_sql(query, params=params or [])

        def from_arrow(self, arrow):
            return con.from_arrow(arrow)

    frame = duckdb_frame(Spy(), sql, [], COLUMNS, TEXTS, NULLS)
    assert runs == [sql]
    assert len(frame) == 200_000 and list(frame.columns) == COLUMNS
    # `t` and `n` are both functions of the row's i: they agree on every row
    i_from_t = frame["t"].str.removeprefix("value-").where(frame["t"].str.startswith("value-"))
    odd_n = frame["n"].notna() & i_from_t.notna()
    assert odd_n.sum() > 0
    assert (i_from_t[odd_n].astype("int64") == frame["n"][odd_n].astype("int64")).all()


def ga4_table(con, rows: int) -> None:
    """`raw.ga4_events` as ingest leaves it, with every way its suite can fail: a missing event
    name and user, a malformed event date, an event days away from its extract day."""
    con.execute("create schema raw")
    con.execute(
        f"""create table raw.ga4_events as
        select
            case when i % 97 = 5 then '2025-03-03' else '20250303' end as event_date,
            cast(1740996000000000 + i * 1000000
                 - case when i % 89 = 3 then 86400000000 * 9 else 0 end as varchar)
                as event_timestamp,
            case when i % 83 = 1 then null else 'page_view' end as event_name,
            case when i % 79 = 2 then null else 'user-' || (i % 500) end as user_pseudo_id,
            cast(null as struct(category varchar)) as device,
            date '2025-03-03' as _extract_date,
            'events_20250303.json' as _source_file,
            i as _row_number,
            timestamptz '2025-03-04 01:00:00+00' as _loaded_at
        from range({rows}) r(i)"""
    )


@pytest.mark.parametrize("failing", [False, True])
def test_the_ga4_check_says_what_it_said_before(
    failing: bool, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = duckdb.connect()
    ga4_table(con, 5000)
    if not failing:
        con.execute("delete from raw.ga4_events where _row_number % 97 = 5 or _row_number % 89 = 3")
        con.execute("delete from raw.ga4_events where _row_number % 83 = 1 or _row_number % 79 = 2")
    read = columns_read(load_suite_dict("raw_ga4_events"))
    split = raw_rows_frame(con, "ga4_events", [DAY], "UTC", read)
    whole_df = lambda con, sql, params, *_: con.execute(sql, params).df()  # noqa: E731
    monkeypatch.setattr(checks, "duckdb_frame", whole_df)
    whole = raw_rows_frame(con, "ga4_events", [DAY], "UTC", read)
    assert_same_frame(whole, split)
    before = validate_frame("raw_ga4_events", whole, store=tmp_path / "before")
    after = validate_frame("raw_ga4_events", split, store=tmp_path / "after")
    assert before.outcomes == after.outcomes
    assert stored_results(tmp_path / "before") == stored_results(tmp_path / "after")
    assert bool(before.errors) == failing
    if failing:  # each row-level expectation of the suite failed on its rows
        counts = {o.column: o.unexpected_count for o in after.errors}
        assert counts == {
            "event_name": len(range(1, 5000, 83)),
            "user_pseudo_id": len(range(2, 5000, 79)),
            "event_date": len(range(5, 5000, 97)),
            "_lag_days__event_timestamp": len(range(3, 5000, 89)),
        }
