"""What ingest set aside: the rows of `raw._quarantine`, filtered, newest extract day first."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kpi_pipeline.ingest.raw_tables import QUARANTINE_TABLE
from kpi_pipeline.warehouse import query_polars

VIEW_COLUMNS = ("day", "source", "raw_table", "file", "line", "row", "column", "reason")


def quarantined_rows(
    con,
    source: str | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    limit: int | None = None,
) -> tuple[pl.DataFrame, int]:
    """The quarantined rows matching the filters (at most `limit`) and how many match."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = '_quarantine'"
    ).fetchall()[0][0]
    if not exists:
        return pl.DataFrame(schema=dict.fromkeys(VIEW_COLUMNS, pl.String)), 0
    where = "where (? is null or source = ?) and _extract_date between ? and ?"
    params = [source, source, first or dt.date.min, last or dt.date.max]
    total = con.execute(f"select count(*) from {QUARANTINE_TABLE} {where}", params).fetchall()[0][0]
    rows = query_polars(
        con,
        f"""select _extract_date as day, source, raw_table, source_file as file,
                   line_number as line, row_number as "row", column_name as "column", reason
            from {QUARANTINE_TABLE} {where}
            order by _extract_date desc, source, source_file, row_number
            limit ?""",
        [*params, limit if limit is not None else total],
    )
    return rows, total
