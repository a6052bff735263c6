"""Read the records a pull landed (`<entity>.jsonl`) as the text cells of an export.

Each line is one API record, flattened to `field -> text`: its top-level values, the
`properties` of a HubSpot CRM record, and its `associations` as `associations.<kind>`
(the associated ids joined by `;`); nested objects such as Salesforce's `attributes` are
left out. The contract's columns then match these API names through their aliases
(`contracts.py`), and the rows are typed, checked, hashed and quarantined exactly like an
export's (`csv_reader.parse_extract`): one path for personal data, whatever delivered it.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from kpi_pipeline.ingest.contracts import CsvExtract
from kpi_pipeline.ingest.csv_reader import CsvText
from kpi_pipeline.ingest.errors import ExtractUnreadableError, TooManyRowsError

ENCODING = "jsonl"  # CsvText.encoding of a pulled file: its line numbers are its rows


def _text(value: Any) -> str | None:
    """A JSON scalar as the text an export would write (true/false, numbers as written)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(record: dict[str, Any]) -> dict[str, str | None]:
    """One API record as `field -> text`."""
    flat = {k: _text(v) for k, v in record.items() if not isinstance(v, dict | list)}
    properties = record.get("properties")
    if isinstance(properties, dict):
        flat.update({k: _text(v) for k, v in properties.items() if not isinstance(v, dict | list)})
    associations = record.get("associations")
    if isinstance(associations, dict):
        for kind, linked in associations.items():
            results = linked.get("results", []) if isinstance(linked, dict) else []
            flat[f"associations.{kind}"] = ";".join(str(r.get("id")) for r in results) or None
    return flat


def read_jsonl_bytes(
    data: bytes, name: str, extract: CsvExtract, max_rows: int | None = None
) -> CsvText:
    """Every record as a row of text cells; a line that is not a JSON object makes the file
    unreadable (a pull writes whole files: a broken one was damaged afterwards). A file
    without records is an export with a header and no rows."""
    rows: list[dict[str, str | None]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        if max_rows is not None and len(rows) >= max_rows:
            raise TooManyRowsError(name, max_rows)
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            record = None
        if not isinstance(record, dict):
            raise ExtractUnreadableError(
                name, f"line {number} is not a JSON object; pull the day again (kpi pull)"
            )
        rows.append(flatten(record))
    if not rows:
        header = {c.label: pl.String for c in extract.columns}
        return CsvText(pl.DataFrame(schema=header), ENCODING, "")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    frame = pl.DataFrame(
        {c: [row.get(c) for row in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )
    return CsvText(frame, ENCODING, "")
