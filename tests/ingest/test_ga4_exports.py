"""GA4 exports as they arrive: NDJSON, gzipped NDJSON and Parquet; intraday tables
superseded by the daily table of the same date; a daily table restated on a later day."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.ingest.contracts import GA4_JSON_COLUMNS
from kpi_pipeline.ingest.loaders import load_ga4_day
from kpi_pipeline.settings import DBT_PROJECT_DIR
from kpi_pipeline.transform.project import DBT_EXECUTABLE
from kpi_pipeline.warehouse import connect, is_postgres_url
from kpi_pipeline.warehouse.postgres import dbt_target_env
from tests.conftest import fresh_database
from tests.landing_files import ga4_event

D3, D4, D5 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
LOADED_AT = dt.datetime(2025, 3, 6, tzinfo=dt.UTC)


def events(day: str, user: str, count: int, engaged: object = None) -> list[dict]:
    out = [ga4_event(f"{day}T10:0{i}:00Z", "page_view", user, 1000 + i) for i in range(count)]
    if engaged is not None:
        for event in out:
            value = (
                {"string_value": engaged} if isinstance(engaged, str) else {"int_value": engaged}
            )
            event["event_params"].append({"key": "session_engaged", "value": value})
    return out


def ndjson(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def write_parquet(path: Path, rows: list[dict]) -> None:
    """A BigQuery-style Parquet export: INT64 fields typed as integers, not strings."""
    source = path.with_suffix(".src.json")
    source.write_bytes(ndjson(rows))
    columns = "{" + ", ".join(f"{k}: '{v}'" for k, v in GA4_JSON_COLUMNS.items()) + "}"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (
                select event_date, cast(event_timestamp as bigint) as event_timestamp,
                       event_name, user_pseudo_id,
                       list_transform(event_params, lambda p: {{'key': p.key, 'value': {{
                           'string_value': p.value.string_value,
                           'int_value': cast(p.value.int_value as bigint),
                           'float_value': null::double, 'double_value': null::double}}}})
                           as event_params,
                       geo, device
                from read_json('{source}', format = 'newline_delimited', columns = {columns})
            ) to '{path}' (format parquet)"""
        )
    source.unlink()


def folder(landing: Path, day: dt.date) -> Path:
    path = landing / "ga4" / f"dt={day}"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def ga4(request, tmp_path_factory):
    """The landing zone of three days, a warehouse of each kind (a DuckDB file, a fresh
    PostgreSQL database) and a scratch folder."""
    root = tmp_path_factory.mktemp("ga4")
    landing = root / "landing"
    write_deliveries(landing)
    if request.param == "duckdb":
        yield landing, str(root / "warehouse.duckdb"), root
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield landing, url, root


def write_deliveries(landing: Path) -> None:
    (folder(landing, D3) / "events_intraday_20250303.json").write_bytes(
        ndjson(events("2025-03-03", "intraday", 2))
    )
    broken = events("2025-03-03", "daily-v1", 3, engaged=1)
    broken.append({**broken[0], "event_params": []})  # no ga_session_id: quarantined
    write_parquet(folder(landing, D4) / "events_20250303.parquet", broken)
    (folder(landing, D4) / "events_intraday_20250304.json.gz").write_bytes(
        gzip.compress(ndjson(events("2025-03-04", "intraday", 2)), mtime=0)
    )
    (folder(landing, D5) / "events_20250303.json").write_bytes(
        ndjson(events("2025-03-03", "daily-v2", 4, engaged="1"))
    )
    (folder(landing, D5) / "events_20250304.json").write_bytes(
        ndjson(events("2025-03-04", "daily", 1, engaged="0"))
    )


def load(landing: Path, warehouse: str, day: dt.date):
    with connect(warehouse) as con:
        return load_ga4_day(con, landing, day, LOADED_AT)


def build_staging(warehouse: str, root: Path) -> None:
    env = {**os.environ, "KPI_WAREHOUSE": warehouse, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.update(dbt_target_env(warehouse if is_postgres_url(warehouse) else ""))
    run = subprocess.run(
        [DBT_EXECUTABLE, "run", "--select", "stg_ga4__events", "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
         str(root / "dbt_target"), "--log-path", str(root / "dbt_logs")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]


def staged(warehouse: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            """select user_pseudo_id, count(*), min(ga_session_id), bool_and(is_session_engaged)
               from staging.stg_ga4__events group by user_pseudo_id order by user_pseudo_id"""
        ).fetchall()


def test_each_export_table_counts_once_in_its_latest_delivery(ga4) -> None:
    landing, warehouse, root = ga4
    first = load(landing, warehouse, D3)
    assert (first.rows_read, first.rows_loaded) == (2, 2)
    build_staging(warehouse, root)
    assert staged(warehouse) == [("intraday", 2, 1000, None)]

    # day 4: the daily table of 03-03 (Parquet, INT64 typed) supersedes its intraday table
    second = load(landing, warehouse, D4)
    assert (second.rows_read, second.rows_loaded, second.rows_quarantined) == (6, 5, 1)
    with connect(warehouse, read_only=True) as con:
        assert con.execute(
            "select source_file, row_number, reason from raw._quarantine"
        ).fetchall() == [
            (
                str(landing / "ga4/dt=2025-03-04/events_20250303.parquet"),
                4,
                "event_params: no integer ga_session_id",
            )
        ]
    assert staged(warehouse) == [("daily-v1", 3, 1000, True), ("intraday", 2, 1000, None)]

    # day 5: 03-03 restated (JSON) replaces the Parquet delivery; 03-04's daily arrives
    load(landing, warehouse, D5)
    assert staged(warehouse) == [("daily", 1, 1000, False), ("daily-v2", 4, 1000, True)]

    # reloading a day changes nothing
    load(landing, warehouse, D4)
    assert staged(warehouse) == [("daily", 1, 1000, False), ("daily-v2", 4, 1000, True)]
