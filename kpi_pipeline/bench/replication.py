"""A long backfill's landing zone from one generated day: the day's files copied to the
other days with their dates shifted and their ids tagged per copy, in DuckDB (vectorised),
so generating a year at a million events a day costs a year of file copies, not a year of
sample generation. And the disk such a backfill needs, estimated before it starts."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kpi_pipeline.bench.ga4_format import (
    GA4_EXPORT_COLUMNS,
    ga4_day_folder,
    ga4_file,
    read_ga4_sql,
    sql_text,
    write_parquet,
)
from kpi_pipeline.warehouse.duckdb_file import DEFAULT_MEMORY_LIMIT

MIB = 2**20
# The warehouse's growth per million GA4 events, measured between 30 and 365 days of history
# (docs/benchmarks.md, "Warehouse size": 43 MiB), rounded up; plus its fixed part (schemas,
# seeds, catalogue: about 8 MiB) and, for snapshots, Dagster's and dbt's files, a margin.
WAREHOUSE_BYTES_PER_MILLION_EVENTS = 45 * MIB
FIXED_BYTES = 64 * MIB
MARGIN = 1.2
# What dbt's largest rebuild in a backfill holds, in memory up to DuckDB's memory_limit and
# spilled to `<warehouse>.tmp/` beyond it, per million GA4 events of the backfill: the
# backfill's window touches every period, so `fct_kpi_period` is built whole, its distinct
# counts recounted over every week, month, quarter and year. Measured on 30 days at 1.08 M
# events a day (docs/benchmarks.md, "fct_kpi_period incremental"): memory_limit + spill was
# 3.3, 3.5 and 3.9 GiB at limits of 1, 2 and 4 GB, so 3.9 GiB for 32.5 M events, rounded up.
DBT_WORKING_BYTES_PER_MILLION_EVENTS = 125 * MIB


@dataclass(frozen=True)
class CsvCopy:
    """How one CSV extract of the sample is copied to another day."""

    source: str
    file_name: str
    # values starting with YYYY-MM-DD (a date, `YYYY-MM-DD HH:MM`, ISO 8601): shifted
    date_columns: tuple[str, ...]
    # record ids (and the ids that point at them): tagged per copy, so no two days' records
    # share an id (the intermediate models keep one row per id: shared ids would merge them)
    id_columns: tuple[str, ...]


# Every CSV the sample writes (kpi_pipeline/sample/generator.py); a file not listed here
# stops the replication rather than being copied with its dates unshifted.
CSV_COPIES = (
    CsvCopy("hubspot", "contacts.csv", ("Create Date", "Last Modified Date"), ("Record ID",)),
    CsvCopy(
        "hubspot", "deals.csv", ("Create Date", "Close Date", "Last Modified Date"), ("Record ID",)
    ),
    CsvCopy("ads", "spend.csv", ("date",), ()),
    CsvCopy("social", "posts.csv", ("date",), ("post_id",)),
    CsvCopy("nps", "responses.csv", ("submitted_at",), ("response_id", "contact_id")),
    CsvCopy("orders", "orders.csv", ("placed_at", "fulfilled_at"), ("order_id", "contact_id")),
)


class ReplicationError(Exception):
    """The template day's landing zone holds a file the replication does not know."""


class NotEnoughDiskError(Exception):
    """The backfill's estimated disk is more than the work folder's file system has free."""


def copy_tag(copy: int) -> str:
    """The suffix of copy `copy`'s ids: fixed width, so tagged ids never equal another
    copy's or an untagged one's (the generated day keeps its own ids)."""
    return f"-r{copy:04d}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shift_date_sql(column: str, days: int) -> str:
    c = _quoted(column)
    return (
        f"case when {c} is null or {c} = '' then {c} "
        f"else strftime(cast(left({c}, 10) as date) + {days}, '%Y-%m-%d') || substr({c}, 11) "
        f"end as {c}"
    )


def _tag_sql(column: str, tag: str) -> str:
    c = _quoted(column)
    return f"case when {c} is null or {c} = '' then {c} else {c} || {sql_text(tag)} end as {c}"


def ga4_copy_sql(template: Path, days: int, tag: str, ga4_format: str) -> str:
    """The template's GA4 events `days` later: event_date, event_timestamp and the
    ga_session_id (a session's start, in seconds) shifted; user_pseudo_id and the
    transaction_id (an order id) tagged. As the export writes them in `ga4_format`."""
    us, seconds = days * 86_400_000_000, days * 86_400
    session_param = (
        "case when p.key = 'ga_session_id' then {'key': p.key, 'value': {"
        "'string_value': p.value.string_value, "
        f"'int_value': p.value.int_value + {seconds}, "
        "'float_value': p.value.float_value, 'double_value': p.value.double_value}} else p end"
    )
    text = ga4_format == "ndjson"  # the JSON export writes INT64 fields as strings
    params_type = GA4_EXPORT_COLUMNS["event_params"].replace("BIGINT", "VARCHAR")
    params = f"list_transform(event_params, lambda p: {session_param})"
    timestamp = f"event_timestamp + {us}"
    return f"""
        select
            strftime(strptime(event_date, '%Y%m%d')::date + {days}, '%Y%m%d') as event_date,
            {f"cast({timestamp} as VARCHAR)" if text else timestamp} as event_timestamp,
            event_name,
            user_pseudo_id || {sql_text(tag)} as user_pseudo_id,
            {f"cast({params} as {params_type})" if text else params} as event_params,
            traffic_source,
            geo,
            device,
            case when ecommerce is null then null else {{
                'purchase_revenue': ecommerce.purchase_revenue,
                'transaction_id': ecommerce.transaction_id || {sql_text(tag)}}} end as ecommerce
        from {read_ga4_sql(template)}"""


def csv_copy_sql(path: Path, spec: CsvCopy, days: int, tag: str) -> str:
    """The template CSV `days` later, every cell kept as the text it was but the dates
    shifted and the ids tagged."""
    read = (
        f"read_csv({sql_text(str(path))}, header = true, all_varchar = true, delim = ',', "
        "quote = '\"', escape = '\"', hive_partitioning = false)"
    )
    replace = [_shift_date_sql(c, days) for c in spec.date_columns]
    replace += [_tag_sql(c, tag) for c in spec.id_columns]
    return f"select * replace ({', '.join(replace)}) from {read}"


def replicate_day(
    landing: Path, template_day: dt.date, day: dt.date, copy: int, ga4_format: str
) -> None:
    """Write `day`'s landing files as copy number `copy` of `template_day`'s."""
    days = (day - template_day).days
    tag = copy_tag(copy)
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        source = ga4_file(landing, template_day, ga4_format)
        target = ga4_file(landing, day, ga4_format)
        target.parent.mkdir(parents=True, exist_ok=True)
        select = ga4_copy_sql(source, days, tag, ga4_format)
        if ga4_format == "parquet":
            write_parquet(con, select, target)
        else:
            tmp = target.with_name(f".{target.name}.tmp")
            con.execute(f"copy ({select}) to {sql_text(str(tmp))} (format json)")
            tmp.replace(target)
        for spec in CSV_COPIES:
            path = landing / spec.source / f"dt={template_day.isoformat()}" / spec.file_name
            if not path.exists():
                continue
            out = landing / spec.source / f"dt={day.isoformat()}" / spec.file_name
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp")
            con.execute(
                f"copy ({csv_copy_sql(path, spec, days, tag)}) to {sql_text(str(tmp))} "
                "(format csv, header true, delimiter ',')"
            )
            tmp.replace(out)
    finally:
        con.close()


def template_files(landing: Path, day: dt.date) -> list[Path]:
    """The template day's landing files; an unknown one raises `ReplicationError`."""
    known = {(s.source, s.file_name) for s in CSV_COPIES}
    files = sorted(landing.glob(f"*/dt={day.isoformat()}/*"))
    for path in files:
        source = path.parent.parent.name
        if source == "ga4":
            if path.parent != ga4_day_folder(landing, day) or not path.name.startswith("events_"):
                raise ReplicationError(f"{path}: not a GA4 daily export file")
        elif (source, path.name) not in known:
            raise ReplicationError(
                f"{path}: the replication does not know this extract's dates and ids "
                "(kpi_pipeline/bench/replication.py, CSV_COPIES)"
            )
    return files


def replicate_days(
    landing: Path, template_day: dt.date, days: list[dt.date], ga4_format: str, log=print
) -> None:
    """Every day of `days` (not the template's) written as a copy of the template day."""
    template_files(landing, template_day)
    copies = [d for d in days if d != template_day]
    for number, day in enumerate(copies, start=1):
        replicate_day(landing, template_day, day, number, ga4_format)
        if number % 50 == 0 or number == len(copies):
            log(f"replicated {number} of {len(copies)} days")


def memory_bytes(amount: str) -> int:
    """Bytes of a DuckDB memory amount such as `4GB` (10^9) or `512MiB` (2^20 each)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])(i?)B\s*", amount, re.IGNORECASE)
    if not match:
        raise ValueError(f"{amount!r} is not an amount of memory, e.g. 4GB or 512MiB")
    number, unit, binary = match.groups()
    power = "KMGT".index(unit.upper()) + 1
    return int(float(number) * (1024 if binary else 1000) ** power)


@dataclass(frozen=True)
class DiskEstimate:
    days: int
    landing_bytes_per_day: int
    ga4_events_per_day: int
    free_bytes: int
    folder: Path
    memory_limit_bytes: int = memory_bytes(DEFAULT_MEMORY_LIMIT)  # DuckDB's, for dbt

    @property
    def landing_bytes(self) -> int:
        return self.landing_bytes_per_day * self.days

    @property
    def warehouse_bytes(self) -> int:
        per_day = WAREHOUSE_BYTES_PER_MILLION_EVENTS * self.ga4_events_per_day / 1e6
        return int(per_day * self.days) + FIXED_BYTES

    @property
    def spill_bytes(self) -> int:
        """DuckDB's spill room for dbt's largest rebuild: what it holds beyond its memory."""
        events = self.ga4_events_per_day * self.days / 1e6
        return max(0, int(DBT_WORKING_BYTES_PER_MILLION_EVENTS * events) - self.memory_limit_bytes)

    @property
    def needed_bytes(self) -> int:
        return int((self.landing_bytes + self.warehouse_bytes + self.spill_bytes) * MARGIN)

    @property
    def enough(self) -> bool:
        return self.free_bytes >= self.needed_bytes

    def describe(self) -> str:
        gib = 2**30
        return (
            f"the {self.days}-day backfill needs about {self.needed_bytes / gib:,.1f} GiB "
            f"(landing {self.landing_bytes / gib:,.1f} GiB: {self.landing_bytes_per_day / MIB:,.1f}"
            f" MiB a day; warehouse {self.warehouse_bytes / gib:,.1f} GiB: "
            f"{WAREHOUSE_BYTES_PER_MILLION_EVENTS / MIB:.0f} MiB per million GA4 events, "
            f"{self.ga4_events_per_day:,} a day; DuckDB's spill for dbt's largest rebuild "
            f"{self.spill_bytes / gib:,.1f} GiB: {DBT_WORKING_BYTES_PER_MILLION_EVENTS / MIB:.0f}"
            f" MiB per million GA4 events beyond its memory limit of "
            f"{self.memory_limit_bytes / gib:,.1f} GiB; {MARGIN - 1:.0%} margin); "
            f"{self.free_bytes / gib:,.1f} GiB free on the file system of {self.folder}"
        )


def estimate_disk(
    landing: Path,
    template_day: dt.date,
    days: int,
    ga4_events_per_day: int,
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> DiskEstimate:
    """The disk a `days`-day backfill of copies of `template_day` needs, from the template's
    file sizes, the warehouse's measured bytes per GA4 event and DuckDB's spill for dbt's
    largest rebuild beyond `duckdb_memory_limit`, and what is free."""
    size = sum(p.stat().st_size for p in template_files(landing, template_day))
    free = shutil.disk_usage(landing).free
    limit = memory_bytes(duckdb_memory_limit)
    return DiskEstimate(days, size, ga4_events_per_day, free, landing, limit)


def require_disk(estimate: DiskEstimate) -> None:
    if not estimate.enough:
        raise NotEnoughDiskError(estimate.describe())
