"""Load one source's extract day from the landing zone into the warehouse, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from kpi_pipeline.faults import failpoint
from kpi_pipeline.ingest import raw_tables, report_layouts
from kpi_pipeline.ingest.containment import IngestLimits
from kpi_pipeline.ingest.contracts import (
    GA4_FILE_GLOBS,
    GA4_JSON_COLUMNS,
    GA4_SOURCE,
    GA4_TABLE,
    CsvExtract,
)
from kpi_pipeline.ingest.csv_reader import (
    CsvText,
    parse_extract,
    read_csv_bytes,
    read_parquet_bytes,
    warehouse_columns,
)
from kpi_pipeline.ingest.decoding import UndecodableError, decompress
from kpi_pipeline.ingest.errors import ExtractUnreadableError, TooManyRowsError
from kpi_pipeline.ingest.excerpt import bounded_sql, excerpt_sql
from kpi_pipeline.ingest.jsonl_reader import read_jsonl_bytes
from kpi_pipeline.ingest.landing import (
    LandingFile,
    accepted,
    content_checksum,
    extract_files,
    readable_by_duckdb,
)
from kpi_pipeline.warehouse import (
    append_frame,
    column_type,
    duckdb_file,
    is_postgres,
    is_spark,
    query_polars,
)

QUARANTINE_COLUMNS = {
    "row_number": pl.Int64,
    "line_number": pl.Int64,
    "column_name": pl.String,
    "reason": pl.String,
    "raw_record": pl.String,
}


@dataclass
class DayResult:
    """Row accounting of one source for one day: read = loaded + quarantined."""

    table: str
    day: dt.date
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: list[str] = field(default_factory=list)

    def add(self, load: raw_tables.DayLoad) -> None:
        self.files.append(load.source_file)
        if load.duplicate_of:
            self.duplicates_skipped.append(load.source_file)
        self.rows_read += load.rows_read
        self.rows_loaded += load.rows_loaded
        self.rows_quarantined += load.quarantine.height


def parse_csv_file(
    extract: CsvExtract,
    path: LandingFile | Path,
    data: bytes,
    day: dt.date,
    pii_key: bytes,
    limits: IngestLimits | None = None,
) -> raw_tables.DayLoad:
    """Parse one delivered file (all checks before anything is written). The checksum is of
    the content: a file delivered plain and gzipped is the same file."""
    limits = limits or IngestLimits.from_env()
    try:
        content = decompress(data)
    except UndecodableError as err:
        raise ExtractUnreadableError(path, str(err)) from err
    if path.name.endswith(".jsonl"):  # records a pull landed: flattened to text cells

        def reader(data: bytes, name: str, max_rows: int | None) -> CsvText:
            return read_jsonl_bytes(data, name, extract, max_rows)

    elif path.name.endswith(".parquet"):
        reader = read_parquet_bytes
    else:
        reader = read_csv_bytes
    # an ad platform's own download: title, date range and total lines set aside and counted
    report = report_layouts.recognise(extract, path, content, day)
    table = report.table(reader(report.content, str(path), limits.max_file_rows))
    parsed = table.set_aside(parse_extract(table.text, report.extract, path, pii_key, day, limits))
    return raw_tables.DayLoad(
        source_file=str(path),
        checksum=content_checksum(content),
        rows=parsed.rows,
        quarantine=parsed.quarantine.cast(QUARANTINE_COLUMNS),
        rows_read=parsed.rows_read,
        rows_loaded=parsed.rows.height,
        summary_lines_skipped=table.lines_skipped,
    )


def _skipped(load: raw_tables.DayLoad, duplicate_of: str) -> raw_tables.DayLoad:
    empty = pl.DataFrame(schema=QUARANTINE_COLUMNS)
    return raw_tables.DayLoad(load.source_file, load.checksum, None, empty, 0, 0, duplicate_of)


def prepare_csv_table(con, extract: CsvExtract) -> None:
    """The raw schema, its bookkeeping tables and `raw.<table>` with every contract column.
    A step loading many days calls it once (`prepared=True` below): a dozen DDL statements
    a day add up over a year's backfill."""
    with raw_tables.one_ddl_at_a_time(con):
        raw_tables.ensure_raw_schema(con)
        raw_tables.ensure_table(con, extract.table, warehouse_columns(extract))


def load_csv_day(
    con,
    extract: CsvExtract,
    landing,
    day: dt.date,
    pii_key: bytes,
    loaded_at: dt.datetime,
    prepared: bool = False,
    limits: IngestLimits | None = None,
) -> DayResult:
    """Replace `raw.<table>` rows of `day` with the day's files; parse before touching the table.

    A file whose exact content was already loaded (another day, or twice this day) is
    recorded in the ingest log with `duplicate_of` and loads nothing. A refused landing
    entry (not a regular file inside the landing zone) fails the day before any file of
    it is opened. `limits` default to the environment (`KPI_MAX_FIELD_BYTES`,
    `KPI_MAX_FILE_ROWS`).
    """
    limits = limits or IngestLimits.from_env()
    result = DayResult(extract.table, day)
    loads = []
    for path in accepted(extract_files(landing, extract.source, day, extract.file_patterns)):
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ExtractUnreadableError(path, str(err)) from err
        loads.append(parse_csv_file(extract, path, data, day, pii_key, limits))
    columns = warehouse_columns(extract)
    if not prepared:
        prepare_csv_table(con, extract)
    con.execute("begin transaction")
    try:
        raw_tables.clear_day(con, extract.source, extract.table, day)
        seen: dict[str, str] = {}
        for load in loads:
            earlier = seen.get(load.checksum) or raw_tables.already_loaded(
                con, extract.table, load.checksum, day
            )
            if earlier:
                load = _skipped(load, earlier)
            else:
                seen[load.checksum] = load.source_file
                raw_tables.insert_rows(
                    con, extract.table, columns, load.rows, day, load.source_file, loaded_at
                )
            raw_tables.record_load(con, extract.source, extract.table, day, load, loaded_at)
            result.add(load)
        failpoint("ingest")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return result


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


GA4_REQUIRED_SQL = f"""
        when user_pseudo_id is null or trim(user_pseudo_id) = ''
            then 'user_pseudo_id: required value is empty'
        when try_cast(event_timestamp as BIGINT) is null
            then 'event_timestamp: expected microseconds since the epoch, found '
                 || coalesce('''' || {excerpt_sql("event_timestamp")} || '''', 'nothing')
        when event_name is null then 'event_name: required value is empty'
        when try_cast(list_extract(list_filter(event_params, lambda p: p.key = 'ga_session_id'), 1)
                      .value.int_value as BIGINT) is null
            then 'event_params: no integer ga_session_id'
"""

# The text fields of an event, by the name a quarantine reason gives them; the bytes of
# the longest key or text value stand for all of `event_params`.
GA4_PARAMS_BYTES = (
    "list_max(list_transform(event_params, lambda p: greatest(strlen(p.key), "
    "strlen(p.value.string_value), strlen(p.value.int_value))))"
)
GA4_TEXT_FIELDS = (
    "event_date",
    "event_timestamp",
    "event_name",
    "user_pseudo_id",
    "traffic_source.name",
    "traffic_source.medium",
    "traffic_source.source",
    "geo.country",
    "device.category",
    "ecommerce.transaction_id",
)


def _oversized_sql(name: str, size_sql: str, what: str, max_field_bytes: int) -> str:
    return f"""
        when {size_sql} > {max_field_bytes}
            then '{name}: {what} ' || format('{{:,}}', {size_sql})
                 || ' bytes, over the {max_field_bytes:,}-byte limit (KPI_MAX_FIELD_BYTES)'"""


def ga4_problem_sql(max_field_bytes: int) -> str:
    """Why an event cannot load, or null: a text field over the field limit first (its
    size, never its content), then a missing or untyped required field (an excerpt)."""
    oversized = "".join(
        _oversized_sql(name, f"strlen({name})", "field is", max_field_bytes)
        for name in GA4_TEXT_FIELDS
    )
    oversized += _oversized_sql("event_params", GA4_PARAMS_BYTES, "a value is", max_field_bytes)
    return f"case {oversized} {GA4_REQUIRED_SQL} end"


def _ga4_parquet_select(con: duckdb.DuckDBPyConnection, path: str) -> str:
    """Parquet exports type INT64 fields natively: cast them to the raw schema (text, as the
    JSON export writes them); columns an export lacks are null."""
    present = {
        name
        for name, *_ in con.execute(
            f"describe select * from read_parquet({_sql_string(path)})"
        ).fetchall()
    }
    return (
        ", ".join(
            f"cast({name} as {kind}) as {name}" if name in present else f"null::{kind} as {name}"
            for name, kind in GA4_JSON_COLUMNS.items()
        )
        + f" from read_parquet({_sql_string(path)})"
    )


def _ga4_json_select(path: str) -> str:
    columns_sql = (
        "{" + ", ".join(f"{k}: {_sql_string(v)}" for k, v in GA4_JSON_COLUMNS.items()) + "}"
    )
    return (
        f"* from read_json({_sql_string(path)}, format = 'newline_delimited', "
        f"columns = {columns_sql})"
    )


def read_ga4_file(
    con: duckdb.DuckDBPyConnection, path: LandingFile, limits: IngestLimits | None = None
) -> int:
    """Read one GA4 export file into the temp table `_ga4_file`, with each row's problem;
    returns its rows. A file over the row limit is refused whole (`TooManyRowsError`): at
    most one row more than the limit is read to tell."""
    limits = limits or IngestLimits.from_env()
    try:
        name = readable_by_duckdb(con, path)
        select = (
            _ga4_parquet_select(con, name)
            if path.name.endswith(".parquet")
            else _ga4_json_select(name)
        )
        con.execute(
            f"""create or replace temp table _ga4_file as
                select *, row_number() over () as _row_number,
                       {ga4_problem_sql(limits.max_field_bytes)} as _problem
                from (select {select} limit {limits.max_file_rows + 1})"""
        )
    except duckdb.Error as err:
        raise ExtractUnreadableError(path, str(err).splitlines()[0]) from err
    rows = con.execute("select count(*) from _ga4_file").fetchall()[0][0]
    if rows > limits.max_file_rows:
        raise TooManyRowsError(path, limits.max_file_rows)
    return rows


# A quarantined event keeps an excerpt of its identifying fields (never a whole 100 MB one).
GA4_QUARANTINE_SQL = f"""
    select _row_number::BIGINT as row_number,
           _row_number::BIGINT as line_number,
           split_part(_problem, ':', 1) as column_name,
           _problem as reason,
           to_json(struct_pack(
               event_date := {bounded_sql("event_date")},
               event_timestamp := {bounded_sql("event_timestamp")},
               event_name := {bounded_sql("event_name")},
               user_pseudo_id := {bounded_sql("user_pseudo_id")}))::VARCHAR as raw_record
    from _ga4_file where _problem is not null"""


@contextmanager
def ga4_reader(con) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB connection that reads GA4 files: the warehouse's own when it is DuckDB (rows
    go into the raw table without leaving it), else an in-memory one."""
    if is_postgres(con) or is_spark(con):
        with duckdb_file.connect(":memory:") as reader:
            yield reader
    else:
        yield con


def insert_ga4_rows(
    con, reader: duckdb.DuckDBPyConnection, source_file: str, day: dt.date, loaded_at: dt.datetime
) -> None:
    """The loadable rows of `_ga4_file` into `raw.ga4_events` (nested columns as JSON text
    where the warehouse stores them as JSONB; nested as they are on Spark)."""
    table = f"{raw_tables.RAW_SCHEMA}.{GA4_TABLE}"
    if reader is con:
        con.execute(
            f"""insert into {table}
                select {", ".join(GA4_JSON_COLUMNS)}, ?::DATE, ?, _row_number, ?::TIMESTAMPTZ
                from _ga4_file where _problem is null""",
            [day, source_file, loaded_at],
        )
        return
    columns = ", ".join(
        f"to_json({name})::VARCHAR as {name}" if column_type(con, kind) == "JSONB" else name
        for name, kind in GA4_JSON_COLUMNS.items()
    )
    frame = query_polars(
        reader,
        f"select {columns}, _row_number::BIGINT as _row_number "
        "from _ga4_file where _problem is null",
    )
    append_frame(con, table, frame.with_columns(raw_tables.lineage(day, source_file, loaded_at)))


def prepare_ga4_table(con) -> None:
    """The raw schema, its bookkeeping tables and `raw.ga4_events` (see prepare_csv_table)."""
    with raw_tables.one_ddl_at_a_time(con):
        raw_tables.ensure_raw_schema(con)
        raw_tables.ensure_table(con, GA4_TABLE, list(GA4_JSON_COLUMNS.items()))


def load_ga4_day(
    con,
    landing,
    day: dt.date,
    loaded_at: dt.datetime,
    prepared: bool = False,
    limits: IngestLimits | None = None,
) -> DayResult:
    """Read GA4's nested export (NDJSON, .json.gz or Parquet) with DuckDB into
    `raw.ga4_events`; a file whose content was already loaded is skipped. A refused landing
    entry fails the day before any file of it is opened."""
    limits = limits or IngestLimits.from_env()
    result = DayResult(GA4_TABLE, day)
    files = accepted(extract_files(landing, GA4_SOURCE, day, GA4_FILE_GLOBS))
    if not prepared:
        prepare_ga4_table(con)
    with ga4_reader(con) as reader:
        _load_ga4_files(con, reader, files, day, loaded_at, result, limits)
    return result


def _load_ga4_files(
    con,
    reader: duckdb.DuckDBPyConnection,
    files: list[LandingFile],
    day: dt.date,
    loaded_at: dt.datetime,
    result: DayResult,
    limits: IngestLimits,
) -> None:
    con.execute("begin transaction")
    try:
        raw_tables.clear_day(con, GA4_SOURCE, GA4_TABLE, day)
        seen: dict[str, str] = {}
        for path in files:
            try:
                checksum = path.checksum()
            except OSError as err:
                raise ExtractUnreadableError(path, str(err)) from err
            earlier = seen.get(checksum) or raw_tables.already_loaded(con, GA4_TABLE, checksum, day)
            if earlier:
                load = _skipped(raw_tables.DayLoad(str(path), checksum, None, None, 0, 0), earlier)
                raw_tables.record_load(con, GA4_SOURCE, GA4_TABLE, day, load, loaded_at)
                result.add(load)
                continue
            seen[checksum] = str(path)
            rows_read = read_ga4_file(reader, path, limits)
            insert_ga4_rows(con, reader, str(path), day, loaded_at)
            quarantine = query_polars(reader, GA4_QUARANTINE_SQL)
            load = raw_tables.DayLoad(
                source_file=str(path),
                checksum=checksum,
                rows=None,
                quarantine=quarantine.cast(QUARANTINE_COLUMNS),
                rows_read=rows_read,
                rows_loaded=rows_read - quarantine.height,
            )
            raw_tables.record_load(con, GA4_SOURCE, GA4_TABLE, day, load, loaded_at)
            result.add(load)
        reader.execute("drop table if exists _ga4_file")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
