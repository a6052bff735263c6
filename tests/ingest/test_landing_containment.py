"""A contained landing zone: only regular files inside it are read, within size limits,
and nothing a file holds reaches a message unbounded or unescaped.

Every case plants a secret marker somewhere ingest must not read (a file outside the
landing zone, the far end of an oversized cell) and shows the refusal or quarantine
names the file and the problem while the marker appears nowhere: not in the error, the
quarantine, the ingest log, nor (through `kpi run`) in any file of the deployment.
Operations that would block if they opened a FIFO run under `finishes`, a hang guard: it
fails the test instead of hanging it (a generous bound, not a speed threshold).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import fsspec
import polars as pl
import pytest

from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.containment import (
    DEFAULT_MAX_FIELD_BYTES,
    MAX_FIELD_BYTES_ENV,
    MAX_FILE_ROWS_ENV,
    IngestLimits,
)
from kpi_pipeline.ingest.errors import (
    ExtractUnreadableError,
    LandingFileRefusedError,
    MissingColumnsError,
    TooManyRowsError,
)
from kpi_pipeline.ingest.excerpt import (
    EXCERPT_CHARS,
    bounded_sql,
    excerpt,
    excerpt_expr,
    excerpt_sql,
)
from kpi_pipeline.ingest.landing import extract_files
from kpi_pipeline.ingest.loaders import load_csv_day, load_ga4_day
from kpi_pipeline.notify.failures import failure_markdown
from kpi_pipeline.orchestration.landing_sensor import scan_landing
from tests.landing_files import CSV_HEADERS, folder, ga4_event, write_csv, write_ga4

DAY = dt.date(2025, 3, 3)
KEY = b"containment-key"
LOADED_AT = dt.datetime(2025, 3, 4, 6, 0, tzinfo=dt.UTC)
MARKER = "SECRET-MARKER-7f3a"
HANG_GUARD_SECONDS = 120
DEALS = f"hubspot/dt={DAY}/deals.csv"
DEAL_ROW = [
    "9001",
    "Big deal",
    "closedwon",
    "default",
    "1200",
    "2025-03-01 10:00",
    "2025-03-03",
    "2025-03-03 09:00",
]
SPEND_ROW = [str(DAY), "google_ads", "spring_sale", "30.00", "USD", "1000", "40"]


def finishes(operation: Callable[[], object]) -> object:
    """The operation's result, or its exception re-raised; fails the test if it is still
    running after HANG_GUARD_SECONDS (it opened something that blocks, e.g. a FIFO)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = operation()
        except BaseException as err:  # handed to the test thread
            outcome["error"] = err

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(HANG_GUARD_SECONDS)
    if worker.is_alive():
        pytest.fail(f"still running after {HANG_GUARD_SECONDS} s: it opened a blocking file")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("result")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the landing zone holding a file with the secret marker."""
    folder_ = tmp_path_factory.mktemp("outside")
    (folder_ / "secret.csv").write_text(
        ",".join(CSV_HEADERS[("hubspot", "deals.csv")])
        + f"\n{MARKER},{MARKER},closedwon,default,1,2025-03-01 10:00,,2025-03-03 09:00\n"
    )
    return folder_


@pytest.fixture
def fifo_cleanup() -> Iterator[list[Path]]:
    """FIFOs a test makes: if something still waits on one, open it for writing so the
    waiting reader sees its end and the stray thread finishes."""
    fifos: list[Path] = []
    yield fifos
    for fifo in fifos:
        with contextlib.suppress(OSError):  # nobody is reading it: nothing to release
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def deals_path(landing: Path) -> Path:
    return folder(landing, "hubspot", DAY) / "deals.csv"


def load_deals(landing: Path, con=None) -> object:
    con = con or duckdb.connect()
    return finishes(lambda: load_csv_day(con, c.HUBSPOT_DEALS, landing, DAY, KEY, LOADED_AT))


def refused(landing: Path) -> LandingFileRefusedError:
    with pytest.raises(LandingFileRefusedError) as err:
        load_deals(landing)
    assert MARKER not in str(err.value)
    return err.value


def everything_in(con) -> str:
    """The quarantine, the ingest log and every raw table of a warehouse, as text."""
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ).fetchall()
    return "\n".join(
        str(con.execute(f'select * from raw."{name}"').fetchall()) for (name,) in tables
    )


# --- file types and symbolic links -------------------------------------------------------


def test_a_symlink_to_a_file_outside_the_zone_is_refused_unread(
    landing: Path, outside: Path
) -> None:
    deals_path(landing).symlink_to(outside / "secret.csv")
    con = duckdb.connect()
    with pytest.raises(LandingFileRefusedError) as err:
        load_deals(landing, con)
    message = str(err.value)
    assert message.startswith(f"{DEALS} (in the landing zone): refused, it is ")
    assert "a symbolic link to a path outside the landing zone" in message
    assert "Replace it with the regular file the extract should be" in message
    assert MARKER not in message and str(outside) not in message  # nor the target's path
    # nothing of the day was written, and nothing of the target anywhere
    assert MARKER not in everything_in(con)


def test_a_symlink_out_through_a_folder_link_inside_the_zone_is_refused(
    landing: Path, outside: Path
) -> None:
    """Only the fully resolved target counts: a chain of links that ends outside leaves."""
    (landing / "shared").symlink_to(outside, target_is_directory=True)
    deals_path(landing).symlink_to(landing / "shared" / "secret.csv")
    assert "outside the landing zone" in refused(landing).what


def test_a_symlink_to_a_file_inside_the_zone_loads_under_its_own_name(landing: Path) -> None:
    """A team may link a file within the zone: it loads, recorded under the link's path."""
    shared = write_csv(landing, "hubspot", "deals.csv", dt.date(2025, 3, 2), [DEAL_ROW])
    link = deals_path(landing)
    link.symlink_to(os.path.relpath(shared, link.parent))
    con = duckdb.connect()
    result = load_deals(landing, con)
    assert (result.rows_read, result.rows_loaded) == (1, 1)
    assert con.execute("select source_file from raw._ingest_log").fetchall() == [(str(link),)]


def test_a_dangling_symlink_is_refused_not_taken_for_a_missing_file(landing: Path) -> None:
    deals_path(landing).symlink_to(landing / "hubspot" / "not-there.csv")
    error = refused(landing)
    assert error.relative_path == DEALS
    assert "a symbolic link to nothing" in str(error)


def test_a_day_folder_linked_outside_the_zone_is_refused_and_not_listed(
    landing: Path, outside: Path
) -> None:
    (outside / "deals.csv").write_text((outside / "secret.csv").read_text())
    (landing / "hubspot").mkdir()
    (landing / "hubspot" / f"dt={DAY}").symlink_to(outside, target_is_directory=True)
    error = refused(landing)
    assert str(error).startswith(f"hubspot/dt={DAY} (in the landing zone): refused, it is ")
    assert "a folder that leads outside the landing zone through a symbolic link" in str(error)
    (listed,) = extract_files(landing, "hubspot", DAY, c.HUBSPOT_DEALS.file_patterns)
    assert listed.refused and listed.name == f"dt={DAY}"  # the folder, not what it holds


def test_a_fifo_is_refused_without_being_opened(landing: Path, fifo_cleanup) -> None:
    """Opening a FIFO for reading blocks until a writer comes: had ingest opened it,
    `finishes` would fail the test instead of the error below."""
    fifo = deals_path(landing)
    os.mkfifo(fifo)
    fifo_cleanup.append(fifo)
    error = refused(landing)
    assert error.relative_path == DEALS
    assert error.what == "a named pipe (FIFO)"


def test_a_fifo_fails_the_day_before_any_file_of_it_is_read(landing: Path, fifo_cleanup) -> None:
    """The contract of a file that breaks it: the source's day fails whole and what was
    loaded for it before stays as it was."""
    write_csv(landing, "ads", "spend.csv", DAY, [SPEND_ROW])
    con = duckdb.connect()
    finishes(lambda: load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT))
    fifo = folder(landing, "ads", DAY) / "spend.csv.gz"  # sorts after spend.csv
    os.mkfifo(fifo)
    fifo_cleanup.append(fifo)
    with pytest.raises(LandingFileRefusedError, match=r"spend\.csv\.gz"):
        finishes(lambda: load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT))
    assert con.execute("select count(*) from raw.ads_spend").fetchone() == (1,)
    assert con.execute("select rows_loaded from raw._ingest_log").fetchall() == [(1,)]


def test_a_link_to_a_device_is_refused(landing: Path) -> None:
    deals_path(landing).symlink_to("/dev/null")  # read, it would be an empty file
    assert refused(landing).what == "a symbolic link to a path outside the landing zone"


def test_a_device_file_is_refused(landing: Path) -> None:
    try:  # the character device /dev/null is (1, 3); making one needs CAP_MKNOD
        os.mknod(deals_path(landing), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device file is not permitted here")
    assert refused(landing).what == "a device (character device)"


def test_a_socket_is_refused(landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(deals_path(landing).parent)  # a short path: sockets' are limited
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind("deals.csv")
        assert refused(landing).what == "a socket"


def test_a_folder_named_like_a_file_is_refused(landing: Path) -> None:
    deals_path(landing).mkdir()
    assert refused(landing).what == "a folder"


def test_a_folder_named_like_a_file_is_refused_in_a_remote_landing_zone() -> None:
    """Object stores have no links or FIFOs; a `deals.csv/` prefix is still no file."""
    url = f"memory://landing-{uuid.uuid4().hex}"
    fs, root = fsspec.core.url_to_fs(url)
    fs.pipe(f"{root}/{DEALS}/part-0.csv", b"Record ID\n1\n")
    try:
        with pytest.raises(LandingFileRefusedError) as err:
            load_csv_day(duckdb.connect(), c.HUBSPOT_DEALS, url, DAY, KEY, LOADED_AT)
        assert err.value.what == "a folder"
        assert str(err.value).startswith(f"{DEALS} (in the landing zone)")
    finally:
        fs.rm(root, recursive=True)


def test_ga4_refuses_a_symlink_out_before_reading_any_file(landing: Path, outside: Path) -> None:
    events = [ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 11)]
    write_ga4(landing, DAY, events)
    (outside / "events.json").write_text(json.dumps({"user_pseudo_id": MARKER}) + "\n")
    link = folder(landing, "ga4", DAY) / "events_intraday_20250303.json"
    link.symlink_to(outside / "events.json")
    con = duckdb.connect()
    with pytest.raises(LandingFileRefusedError) as err:
        finishes(lambda: load_ga4_day(con, landing, DAY, LOADED_AT))
    assert err.value.relative_path == f"ga4/dt={DAY}/events_intraday_20250303.json"
    assert MARKER not in str(err.value)
    assert MARKER not in everything_in(con)


# --- the landing-zone sensor ---------------------------------------------------------------


def test_the_sensor_lists_refused_entries_by_their_own_state_and_never_looks_outside(
    landing: Path, outside: Path, fifo_cleanup
) -> None:
    """The sensor neither opens a FIFO nor follows a link out: a refused entry counts with
    its own `lstat` (so its day is run, and fails with the refusal), a day folder leading
    outside is one entry, unlisted; a link inside the zone counts as its target."""
    write_csv(landing, "ads", "spend.csv", DAY, [SPEND_ROW])
    os.mkfifo(folder(landing, "orders", DAY) / "orders.csv")
    fifo_cleanup.append(landing / "orders" / f"dt={DAY}" / "orders.csv")
    deals_path(landing).symlink_to(outside / "secret.csv")
    (outside / "many").mkdir()
    for n in range(3):
        (outside / "many" / f"file{n}.csv").write_text(MARKER)
    (landing / "nps").mkdir()
    (landing / "nps" / f"dt={DAY}").symlink_to(outside / "many", target_is_directory=True)
    inside_link = folder(landing, "social", DAY) / "posts.csv"
    inside_link.symlink_to(landing / "ads" / f"dt={DAY}" / "spend.csv")

    states = finishes(lambda: scan_landing(landing, DAY, DAY))

    assert set(states) == {
        f"ads/dt={DAY}/spend.csv",
        f"orders/dt={DAY}/orders.csv",
        DEALS,
        f"nps/dt={DAY}/",
        f"social/dt={DAY}/posts.csv",
    }
    link_size = os.lstat(deals_path(landing)).st_size
    assert states[DEALS].size == link_size != (outside / "secret.csv").stat().st_size
    assert states[f"social/dt={DAY}/posts.csv"] == states[f"ads/dt={DAY}/spend.csv"]


# --- limits --------------------------------------------------------------------------------


def spend_with_campaign(landing: Path, campaign: str) -> Path:
    return write_csv(
        landing,
        "ads",
        "spend.csv",
        DAY,
        [SPEND_ROW, [str(DAY), "meta_ads", campaign, "20.00", "USD", "2000", "30"]],
    )


def quarantine_of(con) -> list[tuple]:
    return con.execute(
        "select row_number, line_number, column_name, reason, raw_record from raw._quarantine"
    ).fetchall()


def accounting(con) -> list[tuple]:
    return con.execute(
        "select rows_read, rows_loaded, rows_quarantined from raw._ingest_log"
    ).fetchall()


def test_a_field_over_the_limit_quarantines_its_row_with_a_bounded_record(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tester's 100 MB campaign name, at a smaller scale: the limit comes from
    KPI_MAX_FIELD_BYTES, the size from the cell, the marker stays out of the quarantine."""
    monkeypatch.setenv(MAX_FIELD_BYTES_ENV, "1024")
    spend_with_campaign(landing, "x" * 4000 + MARKER + "y" * 982)  # 5,000 bytes
    con = duckdb.connect()
    result = load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT)
    ((row, line, column, reason, record),) = quarantine_of(con)
    assert (row, line, column) == (2, 3, "campaign")
    assert reason == (
        "column 'campaign': field is 5,000 bytes, over the 1,024-byte limit (KPI_MAX_FIELD_BYTES)"
    )
    campaign = json.loads(record)["campaign"]
    assert campaign == "x" * EXCERPT_CHARS + "…[5,000 characters]"
    assert MARKER not in everything_in(con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert accounting(con) == [(2, 1, 1)]


def test_a_field_one_byte_over_the_default_limit_is_quarantined_and_one_at_it_loads(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MAX_FIELD_BYTES_ENV, raising=False)
    at_limit = "a" * DEFAULT_MAX_FIELD_BYTES
    write_csv(
        landing,
        "ads",
        "spend.csv",
        DAY,
        [
            [str(DAY), "google_ads", at_limit, "30.00", "USD", "1000", "40"],
            [str(DAY), "meta_ads", at_limit + "b", "20.00", "USD", "2000", "30"],
        ],
    )
    con = duckdb.connect()
    result = load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    ((_, _, column, reason, record),) = quarantine_of(con)
    assert column == "campaign"
    assert "65,537 bytes, over the 65,536-byte limit" in reason
    assert len(record) < 2 * EXCERPT_CHARS + 200
    assert con.execute("select length(campaign) from raw.ads_spend").fetchall() == [
        (DEFAULT_MAX_FIELD_BYTES,)
    ]


def test_an_oversized_typed_or_personal_cell_is_described_by_its_size_alone(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size check comes first: an oversized number is not quoted as 'expected a
    number, found ...', and a personal cell (never kept) is not quoted at all."""
    monkeypatch.setenv(MAX_FIELD_BYTES_ENV, "100")
    write_csv(
        landing,
        "hubspot",
        "contacts.csv",
        DAY,
        [
            [1, "Ada", "L", MARKER * 10, "2025-03-03 08:00", "2025-03-03 08:00", "lead", "x"],
            [2, "Bo", "M", "b@x.io", "2025-03-03 08:00", "9" * 90 + MARKER, "lead", "x"],
        ],
    )
    con = duckdb.connect()
    load_csv_day(con, c.HUBSPOT_CONTACTS, landing, DAY, KEY, LOADED_AT)
    reasons = [r[3] for r in quarantine_of(con)]
    assert reasons == [
        "column 'Email': field is 180 bytes, over the 100-byte limit (KPI_MAX_FIELD_BYTES)",
        "column 'Last Modified Date': field is 108 bytes, over the 100-byte limit "
        "(KPI_MAX_FIELD_BYTES)",
    ]
    rows = quarantine_of(con)
    assert MARKER not in rows[0][3] + rows[0][4] + rows[1][3]  # a personal cell is never kept
    assert "Email" not in json.loads(rows[0][4])


def test_a_file_over_the_row_limit_is_refused_whole(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused, not cut: loading the first N rows would lose the rest without a word."""
    monkeypatch.setenv(MAX_FILE_ROWS_ENV, "3")
    path = write_csv(landing, "ads", "spend.csv", DAY, [SPEND_ROW] * 3)
    con = duckdb.connect()
    assert load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT).rows_read == 3
    write_csv(landing, "ads", "spend.csv", DAY, [SPEND_ROW] * 4)
    with pytest.raises(TooManyRowsError) as err:
        load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT)
    assert str(err.value).startswith(f"{path}: has more than 3 rows, over the per-file limit")
    assert con.execute("select count(*) from raw.ads_spend").fetchone() == (3,)  # unchanged


def test_a_file_cut_short_one_row_over_the_limit_is_refused_too(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incomplete last line counts as read (and would be quarantined): it is a row."""
    monkeypatch.setenv(MAX_FILE_ROWS_ENV, "2")
    path = write_csv(landing, "ads", "spend.csv", DAY, [SPEND_ROW] * 2)
    path.write_text(path.read_text() + f'{DAY},google_ads,"spring')
    with pytest.raises(TooManyRowsError):
        load_csv_day(duckdb.connect(), c.ADS_SPEND, landing, DAY, KEY, LOADED_AT)


def test_a_parquet_file_over_the_row_limit_is_refused(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_FILE_ROWS_ENV, "1")
    frame = pl.DataFrame(
        {
            "order_id": ["O-1", "O-2"],
            "placed_at": ["2025-03-03T09:00:00Z"] * 2,
            "status": ["placed"] * 2,
            "net_amount": ["1.0"] * 2,
            "currency": ["USD"] * 2,
        }
    )
    frame.write_parquet(folder(landing, "orders", DAY) / "orders.parquet")
    with pytest.raises(TooManyRowsError):
        load_csv_day(duckdb.connect(), c.ORDERS, landing, DAY, KEY, LOADED_AT)


def test_ga4_quarantines_an_oversized_field_by_its_size_and_bounds_the_record(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_FIELD_BYTES_ENV, "1000")
    big = "c" * 1500 + MARKER
    events = [
        ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 11),
        ga4_event("2025-03-03T10:01:00Z", "page_view", "u2", 12, "google", "cpc", big),
        ga4_event("2025-03-03T10:02:00Z", "page_view", "u" * 1200 + MARKER, 13),
    ]
    write_ga4(landing, DAY, events)
    con = duckdb.connect()
    result = load_ga4_day(con, landing, DAY, LOADED_AT)
    rows = quarantine_of(con)
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (
            2,
            "event_params",
            "event_params: a value is 1,518 bytes, over the 1,000-byte limit (KPI_MAX_FIELD_BYTES)",
        ),
        (
            3,
            "user_pseudo_id",
            "user_pseudo_id: field is 1,218 bytes, over the 1,000-byte limit (KPI_MAX_FIELD_BYTES)",
        ),
    ]
    assert json.loads(rows[1][4])["user_pseudo_id"] == "u" * EXCERPT_CHARS + "…[1,218 characters]"
    assert MARKER not in everything_in(con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 1, 2)
    assert accounting(con) == [(3, 1, 2)]


def test_ga4_refuses_a_file_over_the_row_limit(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_FILE_ROWS_ENV, "2")
    write_ga4(landing, DAY, [ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 11)] * 3)
    with pytest.raises(TooManyRowsError, match="has more than 2 rows"):
        load_ga4_day(duckdb.connect(), landing, DAY, LOADED_AT)


def test_limits_come_from_the_environment_and_refuse_nonsense() -> None:
    assert IngestLimits.from_env({}) == IngestLimits(65_536, 10_000_000)
    assert IngestLimits.from_env({MAX_FIELD_BYTES_ENV: "1_024", MAX_FILE_ROWS_ENV: "5,000"}) == (
        IngestLimits(1024, 5000)
    )
    for bad in ("0", "-3", "lots"):
        with pytest.raises(ValueError, match=MAX_FIELD_BYTES_ENV):
            IngestLimits.from_env({MAX_FIELD_BYTES_ENV: bad})


# --- bounded, escaped excerpts -------------------------------------------------------------

HOSTILE = ["plain", "a\nb\r\x1b[31mred\x00\x7f\x85\u202e", "x" * 250, "é" * 201 + "\n", "", "it's"]


def test_an_excerpt_is_bounded_escaped_and_the_same_in_python_polars_and_sql() -> None:
    assert excerpt("ok\n\x1b[2J\x00") == "ok\\n\\x1b[2J\\x00"
    assert excerpt("x" * 250) == "x" * EXCERPT_CHARS + "…[250 characters]"
    polars = pl.DataFrame({"t": HOSTILE}).select(excerpt_expr(pl.col("t")))["t"].to_list()
    con = duckdb.connect()
    con.execute("create table t (i INTEGER, v VARCHAR)")
    con.executemany("insert into t values (?, ?)", list(enumerate(HOSTILE)))
    sql = [r[0] for r in con.execute(f"select {excerpt_sql('v')} from t order by i").fetchall()]
    assert polars == sql == [excerpt(text) for text in HOSTILE]
    bounded = con.execute(f"select {bounded_sql('v', 3)} from t where i = 1").fetchone()[0]
    assert bounded == "a\nb…[16 characters]"  # data, not a message: JSON will escape it


def test_a_bad_value_is_quoted_as_an_escaped_excerpt_in_the_quarantine(landing: Path) -> None:
    write_csv(
        landing,
        "ads",
        "spend.csv",
        DAY,
        [
            [str(DAY), "google_ads", "c", "1\x1b[31m\n2", "USD", "1", "1"],
            [str(DAY), "google_ads", "c", "9" * 300 + "z" + MARKER, "USD", "1", "1"],
        ],
    )
    con = duckdb.connect()
    load_csv_day(con, c.ADS_SPEND, landing, DAY, KEY, LOADED_AT)
    reasons = [r[3] for r in quarantine_of(con)]
    assert reasons == [
        "column 'spend': expected a number, found '1\\x1b[31m\\n2'",
        "column 'spend': expected a number, found '"
        + "9" * EXCERPT_CHARS
        + f"…[{301 + len(MARKER)} characters]'",
    ]


def test_ga4_quotes_a_bad_timestamp_as_an_escaped_excerpt(landing: Path) -> None:
    event = ga4_event("2025-03-03T10:00:00Z", "page_view", "u1", 11)
    event["event_timestamp"] = "\x1b]0;owned\x07" + "1" * 300 + MARKER
    write_ga4(landing, DAY, [event])
    con = duckdb.connect()
    load_ga4_day(con, landing, DAY, LOADED_AT)
    ((_, _, column, reason, _),) = quarantine_of(con)
    assert column == "event_timestamp"
    assert reason.startswith(
        "event_timestamp: expected microseconds since the epoch, found '\\x1b]0;owned\\x07111"
    )
    assert reason.endswith(f"…[{310 + len(MARKER)} characters]'")
    assert "\x1b" not in reason and MARKER not in reason


def test_a_parser_complaint_quoting_the_file_is_bounded_and_escaped(landing: Path) -> None:
    """Polars quotes the field it could not parse: the message keeps only an excerpt."""
    path = folder(landing, "ads", DAY) / "spend.csv"
    header = ",".join(CSV_HEADERS[("ads", "spend.csv")])
    path.write_bytes(f'{header}\n"\x1b[31m{"q" * 400}{MARKER}"x,1,2,3,4,5,6\n'.encode())
    with pytest.raises(ExtractUnreadableError) as err:
        load_csv_day(duckdb.connect(), c.ADS_SPEND, landing, DAY, KEY, LOADED_AT)
    message = str(err.value)
    assert message.startswith(f"{path}: cannot be read as expected")
    assert "\x1b" not in message and "\n" not in message and MARKER not in message
    assert len(message) < 600


def test_a_hostile_header_is_quoted_bounded_and_escaped(landing: Path) -> None:
    labels = ["h" * 500 + MARKER] + [f"\x1b[2Jcol{n}" for n in range(100)]
    path = folder(landing, "orders", DAY) / "orders.csv.gz"
    path.write_bytes(gzip.compress((",".join(labels) + "\n").encode()))
    with pytest.raises(MissingColumnsError) as err:
        load_csv_day(duckdb.connect(), c.ORDERS, landing, DAY, KEY, LOADED_AT)
    message = str(err.value)
    assert f"'{'h' * 60}…[{500 + len(MARKER)} characters]'" in message
    assert "'\\x1b[2Jcol0'" in message and "and 61 more" in message
    assert "\x1b" not in message and MARKER not in message
    assert len(message) < 4000


def test_the_failure_report_quotes_check_samples_as_excerpts() -> None:
    summary = {
        "run_id": "r1",
        "job": "daily_kpis",
        "partitions": str(DAY),
        "failed_checks": [
            {
                "asset": "raw/ads_spend",
                "check": "gx",
                "severity": "ERROR",
                "description": "",
                "failures": [
                    {
                        "expectation": "x",
                        "column": "campaign",
                        "observed": 1,
                        "expected": 0,
                        "sample": ["\x1b[2J" + "s" * 5000 + MARKER],
                    }
                ],
            }
        ],
        "failed_steps": [],
    }
    text = failure_markdown(summary)
    assert "\x1b" not in text and MARKER not in text and "\\x1b[2J" in text


# --- the real run path ---------------------------------------------------------------------


def regular_files(root: Path) -> Iterator[Path]:
    """The regular files under `root`, links and special files left alone (so looking
    for the marker reads nothing ingest was right to refuse)."""
    for folder_, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(folder_) / name
            if stat.S_ISREG(os.lstat(path).st_mode):
                yield path


@pytest.mark.e2e
def test_kpi_run_refuses_a_link_out_and_a_fifo_and_leaks_nothing(
    cli_env: Path, outside: Path, fifo_cleanup
) -> None:
    """`kpi run` as a scheduler runs it (its own process, a persistent Dagster instance):
    it finishes, fails naming both files, and the marker is nowhere in the deployment:
    warehouse, failure report, Dagster's event log and compute logs, console output."""
    from tests.test_hand_worked_kpis import DAY1, write_day1

    landing = cli_env / "landing"
    write_day1(landing)
    deals = landing / "hubspot" / f"dt={DAY1}" / "deals.csv"
    deals.unlink()
    deals.symlink_to(outside / "secret.csv")
    orders = landing / "orders" / f"dt={DAY1}" / "orders.csv"
    orders.unlink()
    os.mkfifo(orders)
    fifo_cleanup.append(orders)

    done = subprocess.run(
        [Path(sys.executable).parent / "kpi", "run", "--date", str(DAY1)],
        capture_output=True,
        text=True,
        timeout=600,  # the hang guard: a run that opened the FIFO never ends
        env={**os.environ, "COLUMNS": "240"},
    )

    assert done.returncode != 0, done.stdout
    assert MARKER not in done.stdout + done.stderr
    (report,) = (cli_env / "failures").glob("*/failure.json")
    failure = json.loads(report.read_text())
    errors = {s["step"]: s["error"] for s in failure["failed_steps"]}
    assert (
        str(
            LandingFileRefusedError(
                f"hubspot/dt={DAY1}/deals.csv",
                "a symbolic link to a path outside the landing zone",
            )
        )
        in errors["raw__hubspot_deals"]
    )
    assert (
        f"orders/dt={DAY1}/orders.csv (in the landing zone): refused, it is a named pipe (FIFO)"
        in errors["raw__orders"]
    )
    markdown = (report.parent / "failure.md").read_text()
    assert f"hubspot/dt={DAY1}/deals.csv" in markdown and "named pipe (FIFO)" in markdown
    searched = {path: path.read_bytes() for path in regular_files(cli_env)}
    # the places the tester found /etc/shadow's first line hold the refusal instead
    told = [str(p) for p, data in searched.items() if b"named pipe (FIFO)" in data]
    assert any("/dagster_home/" in p and p.endswith(".db") for p in told)  # event log
    # the compute logs were searched too (the command line's run keeps Dagster's console
    # logger quiet, so the refusal is in the event log and the failure report only)
    assert any("/compute_logs/" in str(p) for p in searched)
    leaks = [path for path, data in searched.items() if MARKER.encode() in data]
    assert leaks == []
