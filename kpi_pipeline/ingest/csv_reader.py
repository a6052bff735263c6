"""Read one flat CSV extract with Polars, type it, and set aside the rows that cannot load."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kpi_pipeline.ingest.contracts import Column, CsvExtract, Kind
from kpi_pipeline.ingest.errors import ExtractUnreadableError, MissingColumnsError
from kpi_pipeline.ingest.pii import keyed_hash

ROW_NUMBER = "_row_number"


@dataclass(frozen=True)
class ParsedExtract:
    """The loadable rows (typed, warehouse names) and the quarantined ones, with reasons."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int


def normalise_label(label: str) -> str:
    """Header labels match case- and space-insensitively: ' Record  id' == 'Record ID'."""
    return re.sub(r"\s+", " ", label.replace("\ufeff", "")).strip().lower()


def _typed(column: Column, raw: pl.Expr) -> pl.Expr:
    text = raw.str.strip_chars()
    if column.kind is Kind.INTEGER:
        return text.cast(pl.Int64, strict=False)
    if column.kind is Kind.DECIMAL:
        return text.str.replace_all(",", "").cast(pl.Float64, strict=False)
    if column.kind is Kind.DATE:
        return text.str.to_date("%Y-%m-%d", strict=False)
    if column.kind is Kind.TIMESTAMP:
        return text.str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_zone="UTC", time_unit="us"
        )
    if column.kind is Kind.HUBSPOT_DATETIME:
        return pl.coalesce(
            text.str.to_datetime(
                "%Y-%m-%d %H:%M", strict=False, time_unit="us"
            ).dt.replace_time_zone("UTC"),
            text.str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_zone="UTC", time_unit="us"
            ),
        )
    return raw


_EXPECTED = {
    Kind.INTEGER: "an integer",
    Kind.DECIMAL: "a number",
    Kind.DATE: "a date YYYY-MM-DD",
    Kind.TIMESTAMP: "an ISO 8601 timestamp with a zone (Z or +hh:mm)",
    Kind.HUBSPOT_DATETIME: "a date-time 'YYYY-MM-DD HH:MM' (UTC) or ISO 8601 with a zone",
}


def _row_problem(column: Column, raw: pl.Expr, typed: pl.Expr) -> pl.Expr:
    """Why this cell stops its row from loading, or null when it is fine."""
    empty = raw.is_null() | (raw.str.strip_chars() == "")
    problem = pl.lit(None, dtype=pl.String)
    if column.kind is not Kind.TEXT:
        problem = (
            pl.when(~empty & typed.is_null())
            .then(
                pl.format(
                    "column '{}': expected {}, found '{}'",
                    pl.lit(column.label),
                    pl.lit(_EXPECTED[column.kind]),
                    raw,
                )
            )
            .otherwise(problem)
        )
    if column.required:
        problem = (
            pl.when(empty)
            .then(pl.lit(f"column '{column.label}': required value is empty"))
            .otherwise(problem)
        )
    return problem


def read_csv_text(path: Path) -> pl.DataFrame:
    """Every cell as text, header as written; unreadable files raise with the file named."""
    try:
        return pl.read_csv(
            path,
            infer_schema=False,
            encoding="utf8-lossy",
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as err:
        raise ExtractUnreadableError(path, str(err).splitlines()[0]) from err


def parse_extract(
    frame: pl.DataFrame, extract: CsvExtract, path: Path, pii_key: bytes
) -> ParsedExtract:
    """Type the text frame of one file; return loadable rows and quarantined rows."""
    by_label = {normalise_label(name): name for name in frame.columns}
    missing = [
        c.label for c in extract.columns if c.required and normalise_label(c.label) not in by_label
    ]
    if missing:
        raise MissingColumnsError(path, missing, list(frame.columns))

    present = [c for c in extract.columns if normalise_label(c.label) in by_label]
    absent = [c for c in extract.columns if normalise_label(c.label) not in by_label]
    frame = frame.with_row_index(ROW_NUMBER, offset=1).with_columns(
        pl.col(ROW_NUMBER).cast(pl.Int64)
    )
    raw = {c.name: pl.col(by_label[normalise_label(c.label)]) for c in present}

    typed = frame.select(
        pl.col(ROW_NUMBER),
        *[_typed(c, raw[c.name]).alias(c.name) for c in present if not c.personal],
        *[pl.lit(None, dtype=pl.String).alias(c.name) for c in absent if not c.personal],
        pl.coalesce(
            *[_row_problem(c, raw[c.name], _typed(c, raw[c.name])) for c in present]
            or [pl.lit(None, dtype=pl.String)]
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

    good = typed.filter(pl.col("_problem").is_null()).drop("_problem", "_raw")
    bad = typed.filter(pl.col("_problem").is_not_null()).select(
        pl.col(ROW_NUMBER).alias("row_number"),
        pl.col("_problem").str.extract(r"^column '([^']*)'", 1).alias("column_name"),
        pl.col("_problem").alias("reason"),
        pl.col("_raw")
        .map_elements(lambda r: json.dumps(r, ensure_ascii=False), return_dtype=pl.String)
        .alias("raw_record"),
    )
    return ParsedExtract(rows=good, quarantine=bad, rows_read=frame.height)


def warehouse_columns(extract: CsvExtract) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the raw table, in load order (lineage columns come after)."""
    duck = {
        Kind.TEXT: "VARCHAR",
        Kind.INTEGER: "BIGINT",
        Kind.DECIMAL: "DOUBLE",
        Kind.DATE: "DATE",
        Kind.TIMESTAMP: "TIMESTAMPTZ",
        Kind.HUBSPOT_DATETIME: "TIMESTAMPTZ",
    }
    columns = [(c.name, duck[c.kind]) for c in extract.columns if not c.personal]
    columns += [(c.hashed_name, "VARCHAR") for c in extract.columns if c.hashed_name]
    return columns
