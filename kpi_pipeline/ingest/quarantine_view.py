"""What ingest set aside: the rows of `raw._quarantine`, filtered, newest extract day first.
The same SQL on DuckDB, PostgreSQL and Spark (whose identifiers are quoted with backticks)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kpi_pipeline.ingest.raw_tables import QUARANTINE_TABLE
from kpi_pipeline.warehouse import is_spark, query_polars, table_exists

VIEW_COLUMNS = ("day", "source", "raw_table", "file", "line", "row", "column", "reason")


def quarantined_rows(
    con,
    source: str | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    limit: int | None = None,
) -> tuple[pl.DataFrame, int]:
    """The quarantined rows matching the filters (at most `limit`) and how many match."""
    if not table_exists(con, *QUARANTINE_TABLE.split(".")):
        return pl.DataFrame(schema=dict.fromkeys(VIEW_COLUMNS, pl.String)), 0
    where = "where (? is null or source = ?) and _extract_date between ? and ?"
    params = [source, source, first or dt.date.min, last or dt.date.max]
    total = con.execute(f"select count(*) from {QUARANTINE_TABLE} {where}", params).fetchall()[0][0]
    rows = query_polars(
        con,
        f"""select _extract_date as day, source, raw_table, source_file as file,
                   line_number as line, row_number as {quoted(con, "row")},
                   column_name as {quoted(con, "column")}, reason
            from {QUARANTINE_TABLE} {where}
            order by _extract_date desc, source, source_file, row_number nulls last
            limit ?""",
        [*params, limit if limit is not None else total],
    )
    return rows, total


def quoted(con, name: str) -> str:
    """`name` quoted as an identifier in the connection's SQL (`row` and `column` are
    keywords): backticks on Spark, double quotes on DuckDB and PostgreSQL."""
    return f"`{name}`" if is_spark(con) else f'"{name}"'
