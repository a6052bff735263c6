"""Read one flat CSV extract with Polars, type it, and set aside the rows that cannot load."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kpi_pipeline.ingest.containment import IngestLimits
from kpi_pipeline.ingest.contracts import Column, CsvExtract, Kind
from kpi_pipeline.ingest.decoding import UndecodableError, decode_csv
from kpi_pipeline.ingest.errors import (
    DuplicateColumnsError,
    ExtractUnreadableError,
    MissingColumnsError,
    TooManyRowsError,
)
from kpi_pipeline.ingest.excerpt import bounded_expr, excerpt_expr, thousands
from kpi_pipeline.ingest.pii import keyed_hash

ROW_NUMBER = "_row_number"
LINE_NUMBER = "_line_number"


@dataclass(frozen=True)
class ParsedExtract:
    """The loadable rows (typed, warehouse names) and the quarantined ones, with reasons."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int


def normalise_label(label: str) -> str:
    """Header labels match case- and space-insensitively: ' Record  id' == 'Record ID'."""
    return re.sub(r"\s+", " ", label.replace("\ufeff", "")).strip().lower()


_ISO_WITH_ZONE = "%Y-%m-%dT%H:%M:%S%.f%#z"
# HubSpot writes UTC date-times in the portal's format; ISO with a zone is read as well.
_HUBSPOT_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
)
_TRUE = ("true", "1", "yes", "t", "y")
_FALSE = ("false", "0", "no", "f", "n")


def _typed(column: Column, raw: pl.Expr) -> pl.Expr:
    text = raw.str.strip_chars()
    if column.kind is Kind.INTEGER:
        return text.str.replace_all(r"[,\s]", "").cast(pl.Int64, strict=False)
    if column.kind is Kind.DECIMAL:
        # thousands separators: 1,234.50 and 1 234.50 (decimal point only)
        return text.str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False)
    if column.kind is Kind.DATE:
        return text.str.to_date("%Y-%m-%d", strict=False)
    if column.kind is Kind.TIMESTAMP:
        return text.str.to_datetime(_ISO_WITH_ZONE, strict=False, time_zone="UTC", time_unit="us")
    if column.kind is Kind.HUBSPOT_DATETIME:
        return pl.coalesce(
            *[
                text.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
                for f in _HUBSPOT_NAIVE_FORMATS
            ],
            text.str.to_datetime(_ISO_WITH_ZONE, strict=False, time_zone="UTC", time_unit="us"),
        )
    if column.kind is Kind.BOOLEAN:
        lowered = text.str.to_lowercase()
        false = lowered.is_in(_FALSE)
        if column.empty_is_false:  # Data Loader / `sf data export`: false is an empty cell
            false = false | raw.is_null() | (text == "")
        return (
            pl.when(lowered.is_in(_TRUE))
            .then(pl.lit(True))
            .when(false)
            .then(pl.lit(False))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
    if column.kind is Kind.ID:  # opaque text: trimmed, never a number (`007` stays `007`)
        return pl.when(text == "").then(pl.lit(None, dtype=pl.String)).otherwise(text)
    return pl.when(text == "").then(pl.lit(None, dtype=pl.String)).otherwise(raw)  # blank: null


_EXPECTED = {
    Kind.INTEGER: "an integer",
    Kind.DECIMAL: "a number",
    Kind.DATE: "a date YYYY-MM-DD",
    Kind.TIMESTAMP: "an ISO 8601 timestamp with a zone (Z or +hh:mm)",
    Kind.HUBSPOT_DATETIME: (
        "a date-time 'YYYY-MM-DD HH:MM' or 'MM/DD/YYYY' (UTC) or ISO 8601 with a zone"
    ),
    Kind.BOOLEAN: "true/false, 1/0 or yes/no",
}


def _expected(column: Column) -> str:
    if column.kind is Kind.BOOLEAN and column.empty_is_false:
        return "true/false, 1/0, yes/no or empty (= false)"
    return _EXPECTED[column.kind]


def _after_extract_day(
    column: Column, typed: pl.Expr, extract_day: dt.date | None
) -> pl.Expr | None:
    """True where a typed value is dated after the extract day (None: no such rule)."""
    if not column.not_after_extract_day or extract_day is None:
        return None
    if column.kind is Kind.DATE:
        return typed > pl.lit(extract_day)
    # a day of grace: the extract day ends up to 14 h after UTC midnight in some zones
    limit = dt.datetime.combine(extract_day + dt.timedelta(days=2), dt.time(), dt.UTC)
    return typed >= pl.lit(limit).dt.cast_time_unit("us")


def _row_problem(
    column: Column,
    raw: pl.Expr,
    typed: pl.Expr,
    extract_day: dt.date | None,
    max_field_bytes: int = IngestLimits().max_field_bytes,
) -> pl.Expr:
    """Why this cell stops its row from loading, or null when it is fine.

    Order: a cell over the field limit, then a required value missing, then a value that
    cannot be typed, then a date after the extract day. A value quoted in the reason is
    an excerpt (bounded, control characters escaped); an oversized cell is described by
    its size alone.
    """
    empty = raw.is_null() | (raw.str.strip_chars() == "")
    problem = pl.lit(None, dtype=pl.String)
    found = excerpt_expr(raw)
    future = _after_extract_day(column, typed, extract_day)
    if future is not None:
        problem = (
            pl.when(typed.is_not_null() & future)
            .then(
                pl.format(
                    "column '{}': is after the extract day {}, found '{}'",
                    pl.lit(column.label),
                    pl.lit(str(extract_day)),
                    found,
                )
            )
            .otherwise(problem)
        )
    if column.kind not in (Kind.TEXT, Kind.ID):
        problem = (
            pl.when(~empty & typed.is_null())
            .then(
                pl.format(
                    "column '{}': expected {}, found '{}'",
                    pl.lit(column.label),
                    pl.lit(_expected(column)),
                    found,
                )
            )
            .otherwise(problem)
        )
    if column.required and not column.empty_is_false:
        problem = (
            pl.when(empty)
            .then(pl.lit(f"column '{column.label}': required value is empty"))
            .otherwise(problem)
        )
    size = raw.str.len_bytes()
    return (
        pl.when(size > max_field_bytes)
        .then(
            pl.format(
                "column '{}': field is {} bytes, over the {}-byte limit (KPI_MAX_FIELD_BYTES)",
                pl.lit(column.label),
                thousands(size),
                pl.lit(f"{max_field_bytes:,}"),
            )
        )
        .otherwise(problem)
    )


@dataclass(frozen=True)
class CsvText:
    """A delivered CSV as text cells, with how it was decoded."""

    frame: pl.DataFrame
    encoding: str
    delimiter: str
    truncated_tail: str | None = None  # an incomplete last line, set aside (quarantined)
    truncated_tail_line: int | None = None


def _polars_csv(data: bytes, delimiter: str, max_rows: int | None = None) -> pl.DataFrame:
    """At most `max_rows + 1` rows: one more than the limit tells the file is over it
    without reading the rest."""
    return pl.read_csv(
        data,
        infer_schema=False,
        separator=delimiter,
        raise_if_empty=False,
        empty_string_is_null=False,
        n_rows=None if max_rows is None else max_rows + 1,
    )


def _within_row_limit(text: CsvText, name: str, max_rows: int | None) -> CsvText:
    """The file is refused whole above the row limit (nothing of it loads, nothing is lost
    without a word): quarantining millions of rows would only move the flood."""
    rows = text.frame.height + (text.truncated_tail is not None)
    if max_rows is not None and rows > max_rows:
        raise TooManyRowsError(name, max_rows)
    return text


def read_csv_bytes(data: bytes, name: str, max_rows: int | None = None) -> CsvText:
    """Every cell as text, header as written; unreadable files raise with the file named.

    A file that cannot be parsed only because its last line is cut short (no final
    newline, an open quote) is read without that line, which is kept as `truncated_tail`.
    A file of more than `max_rows` rows raises `TooManyRowsError`.
    """
    return _within_row_limit(_read_csv_text(data, name, max_rows), name, max_rows)


def _read_csv_text(data: bytes, name: str, max_rows: int | None) -> CsvText:
    try:
        decoded = decode_csv(data)
    except UndecodableError as err:
        raise ExtractUnreadableError(name, str(err)) from err
    text, delimiter = decoded.data, decoded.delimiter
    try:
        return CsvText(_polars_csv(text, delimiter, max_rows), decoded.encoding, delimiter)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
        cut = text.rstrip(b"\r\n").rfind(b"\n")
        if text.endswith(b"\n") or cut < 0:
            raise ExtractUnreadableError(name, str(err).splitlines()[0]) from err
        try:
            frame = _polars_csv(text[: cut + 1], delimiter, max_rows)
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError):
            raise ExtractUnreadableError(name, str(err).splitlines()[0]) from err
        tail = text[cut + 1 :].decode("utf-8", errors="replace")
        line = text[: cut + 1].count(b"\n") + 1
        return CsvText(frame, decoded.encoding, delimiter, tail, line)


def _as_text(column: pl.Series) -> pl.Expr:
    """A typed Parquet column as the text a CSV export would hold (ISO dates and times)."""
    name, dtype = column.name, column.dtype
    if isinstance(dtype, pl.Datetime):
        zone = "%:z" if dtype.time_zone else ""  # a naive time stays without zone: refused
        return pl.col(name).dt.to_string(f"%Y-%m-%dT%H:%M:%S%.f{zone}")
    if dtype == pl.Date:
        return pl.col(name).dt.to_string("%Y-%m-%d")
    return pl.col(name).cast(pl.String)


def read_parquet_bytes(data: bytes, name: str, max_rows: int | None = None) -> CsvText:
    """A Parquet extract as text cells, so it is typed and checked exactly like its CSV."""
    try:
        frame = pl.read_parquet(data, n_rows=None if max_rows is None else max_rows + 1)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise ExtractUnreadableError(name, str(err).splitlines()[0]) from err
    text = CsvText(frame.select([_as_text(frame[c]) for c in frame.columns]), "parquet", "")
    return _within_row_limit(text, name, max_rows)


def read_csv_text(path: Path) -> pl.DataFrame:
    """Every cell of a local CSV file as text (see `read_csv_bytes`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ExtractUnreadableError(path, str(err)) from err
    return read_csv_bytes(data, str(path)).frame


_DUPLICATE_SUFFIX = re.compile(r"_duplicated_\d+$")


def _header_index(frame: pl.DataFrame, extract: CsvExtract, path: Path | str) -> dict[str, str]:
    """Contract column name -> the frame column holding it (any of its labels, case- and
    space-insensitively). A contract column given twice (as Polars renames duplicates,
    or under two of its labels) is ambiguous: contract error."""
    by_label: dict[str, list[str]] = {}
    for name in frame.columns:
        by_label.setdefault(normalise_label(_DUPLICATE_SUFFIX.sub("", name)), []).append(name)
    found: dict[str, str] = {}
    duplicated = []
    for column in extract.columns:
        labels = dict.fromkeys(normalise_label(label) for label in column.labels)
        names = [n for label in labels for n in by_label.get(label, [])]
        if len(names) > 1:
            duplicated.append(column.label)
        elif names:
            found[column.name] = names[0]
    if duplicated:
        raise DuplicateColumnsError(
            path, duplicated, [_DUPLICATE_SUFFIX.sub("", n) for n in frame.columns]
        )
    return found


def _currency_from_label(frame: pl.DataFrame, extract: CsvExtract) -> pl.DataFrame:
    """`Amount spent (EUR)` -> column `Amount spent`, plus `Currency` = EUR if absent."""
    if extract.currency_in_label is None:
        return frame
    money, currency = extract.currency_in_label
    pattern = re.compile(rf"^{re.escape(normalise_label(money))} \(([a-z]{{3}})\)$")
    for name in frame.columns:
        match = pattern.match(normalise_label(name))
        if match:
            frame = frame.rename({name: money})
            if normalise_label(currency) not in {normalise_label(n) for n in frame.columns}:
                frame = frame.with_columns(pl.lit(match.group(1).upper()).alias(currency))
            break
    return frame


def _one_of_problems(
    extract: CsvExtract, found: dict[str, str], path: Path | str, columns: list[str]
) -> list[pl.Expr]:
    """Each `required_one_of` group: a file without any of its columns breaks the contract;
    a row without a value in any of them is quarantined."""
    by_label = {c.label: c for c in extract.columns}
    problems = []
    for group in extract.required_one_of:
        present = [by_label[label] for label in group if by_label[label].name in found]
        if not present:
            raise MissingColumnsError(path, [" or ".join(group)], columns)
        empty = pl.all_horizontal(
            *[
                pl.col(found[c.name]).is_null() | (pl.col(found[c.name]).str.strip_chars() == "")
                for c in present
            ]
        )
        names = " or ".join(repr(label) for label in group)
        problems.append(
            pl.when(empty).then(
                pl.lit(f"column '{present[0].label}': required value is empty (one of {names})")
            )
        )
    return problems


def _line_numbers(frame: pl.DataFrame) -> pl.Expr:
    """The file line each record starts on (header = line 1; quoted newlines counted)."""
    if not frame.columns:
        return pl.lit(None, dtype=pl.Int64)
    embedded = pl.sum_horizontal(
        *[pl.col(c).str.count_matches("\n").fill_null(0) for c in frame.columns]
    ).cast(pl.Int64)
    return 1 + pl.col(ROW_NUMBER) + embedded.cum_sum() - embedded


def parse_extract(
    frame: pl.DataFrame | CsvText,
    extract: CsvExtract,
    path: Path | str,
    pii_key: bytes,
    extract_day: dt.date | None = None,
    limits: IngestLimits | None = None,
) -> ParsedExtract:
    """Type the text frame of one file; return loadable rows and quarantined rows.

    With `extract_day`, rows dated after it (columns marked `not_after_extract_day`) are
    quarantined too. A truncated last line counts as read and quarantined. A row with a
    cell over `limits.max_field_bytes` is quarantined; a quarantined row keeps at most an
    excerpt of each of its non-personal cells (`raw_record`).
    """
    limits = limits or IngestLimits()
    tail = frame.truncated_tail if isinstance(frame, CsvText) else None
    tail_line = frame.truncated_tail_line if isinstance(frame, CsvText) else None
    encoding = frame.encoding if isinstance(frame, CsvText) else "csv"
    has_lines = encoding != "parquet"
    frame = frame.frame if isinstance(frame, CsvText) else frame
    frame = _currency_from_label(frame, extract)
    found = _header_index(frame, extract, path)
    missing = [c.label for c in extract.columns if c.required and c.name not in found]
    if missing:
        raise MissingColumnsError(path, missing, list(frame.columns))
    one_of = _one_of_problems(extract, found, path, list(frame.columns))

    present = [c for c in extract.columns if c.name in found]
    absent = [c for c in extract.columns if c.name not in found]
    frame = frame.with_row_index(ROW_NUMBER, offset=1).with_columns(
        pl.col(ROW_NUMBER).cast(pl.Int64)
    )
    lines = _line_numbers(frame.drop(ROW_NUMBER)) if has_lines else pl.lit(None, pl.Int64)
    if encoding == "jsonl":  # a pulled file (jsonl_reader.py): one record a line, no header
        lines = pl.col(ROW_NUMBER)
    frame = frame.with_columns(lines.alias(LINE_NUMBER))
    raw = {c.name: pl.col(found[c.name]) for c in present}

    typed = frame.select(
        pl.col(ROW_NUMBER),
        pl.col(LINE_NUMBER),
        *[_typed(c, raw[c.name]).alias(c.name) for c in present if not c.personal],
        *[
            pl.lit(None, dtype=_POLARS_TYPES[c.kind]).alias(c.name)
            for c in absent
            if not c.personal
        ],
        pl.coalesce(
            *[
                _row_problem(
                    c, raw[c.name], _typed(c, raw[c.name]), extract_day, limits.max_field_bytes
                )
                for c in present
            ],
            *one_of,
            pl.lit(None, dtype=pl.String),
        ).alias("_problem"),
        *[raw[c.name].alias(f"_pii_{c.name}") for c in present if c.hashed_name],
        pl.struct([raw[c.name].alias(c.label) for c in present if not c.personal]).alias("_raw"),
    )
    for column in extract.columns:
        if column.hashed_name:
            source = f"_pii_{column.name}"
            typed = typed.with_columns(
                (
                    pl.col(source).map_elements(
                        lambda v: keyed_hash(v, pii_key), return_dtype=pl.String
                    )
                    if source in typed.columns
                    else pl.lit(None, dtype=pl.String)
                ).alias(column.hashed_name)
            ).drop(source, strict=False)

    good = typed.filter(pl.col("_problem").is_null()).drop("_problem", "_raw", LINE_NUMBER)
    bad = typed.filter(pl.col("_problem").is_not_null()).select(
        pl.col(ROW_NUMBER).alias("row_number"),
        pl.col(LINE_NUMBER).alias("line_number"),
        pl.col("_problem").str.extract(r"^column '([^']*)'", 1).alias("column_name"),
        pl.col("_problem").alias("reason"),
        _bounded_record([c.label for c in present if not c.personal]).alias("raw_record"),
    )
    rows_read = frame.height
    if tail is not None:
        bad = pl.concat(
            [
                bad,
                pl.DataFrame(
                    {
                        "row_number": [frame.height + 1],
                        "line_number": [tail_line],
                        "column_name": [None],
                        "reason": [
                            "last line is incomplete (file cut short?); re-deliver the file"
                        ],
                        "raw_record": [None],
                    },
                    schema=bad.schema,
                ),
            ]
        )
        rows_read += 1
    return ParsedExtract(rows=good, quarantine=bad, rows_read=rows_read)


def _bounded_record(labels: list[str]) -> pl.Expr:
    """A quarantined row's non-personal cells as JSON, each cut to an excerpt: a 100 MB
    cell must not be copied into the quarantine table."""
    cells = [bounded_expr(pl.col("_raw").struct.field(label)).alias(label) for label in labels]
    return pl.struct(cells).struct.json_encode() if cells else pl.lit("{}")


_POLARS_TYPES = {
    Kind.TEXT: pl.String,
    Kind.ID: pl.String,
    Kind.INTEGER: pl.Int64,
    Kind.DECIMAL: pl.Float64,
    Kind.DATE: pl.Date,
    Kind.TIMESTAMP: pl.Datetime("us", "UTC"),
    Kind.HUBSPOT_DATETIME: pl.Datetime("us", "UTC"),
    Kind.BOOLEAN: pl.Boolean,
}


def warehouse_columns(extract: CsvExtract) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the raw table, in load order (lineage columns come after)."""
    duck = {
        Kind.TEXT: "VARCHAR",
        Kind.ID: "VARCHAR",
        Kind.INTEGER: "BIGINT",
        Kind.DECIMAL: "DOUBLE",
        Kind.DATE: "DATE",
        Kind.TIMESTAMP: "TIMESTAMPTZ",
        Kind.HUBSPOT_DATETIME: "TIMESTAMPTZ",
        Kind.BOOLEAN: "BOOLEAN",
    }
    columns = [(c.name, duck[c.kind]) for c in extract.columns if not c.personal]
    columns += [(c.hashed_name, "VARCHAR") for c in extract.columns if c.hashed_name]
    return columns
