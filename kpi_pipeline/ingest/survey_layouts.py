"""Qualtrics response exports delivered as `nps/dt=D/responses.csv`, read as they are.

Qualtrics writes one of two CSV layouts:
- today's (the web download and the response-export API): the header of column names
  (`ResponseId`, `RecordedDate`, `Q1`, ...), then a line of question texts and a line of
  JSON import ids (`{"ImportId":"QID1"}`) before the first response;
- the legacy layout: a line `V1,V2,...,Q1,...` above the header (`ResponseID`, `EndDate`).

The Net Promoter Score question is the column that Qualtrics pairs with `<column>_NPS_GROUP`
(promoter / passive / detractor): it loads as `score`. `ResponseId` loads as
`response_id`, `RecordedDate` (legacy: `EndDate`) as `submitted_at`, `ExternalReference`
as `contact_id`; nothing else is loaded (names, e-mails and IP addresses included).
Qualtrics writes times without a zone, in UTC unless the export chose another zone: a
zone other than UTC named in the import ids refuses the file rather than guess.

The lines that are Qualtrics' own (question texts, import ids, the `V1` line) are counted
in `summary_lines_skipped`, never loaded nor quarantined; a quarantined response keeps the
line of the file it is on.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from kpi_pipeline.ingest.contracts import CsvExtract, Kind
from kpi_pipeline.ingest.csv_reader import normalise_label
from kpi_pipeline.ingest.decoding import sniff_delimiter, to_utf8
from kpi_pipeline.ingest.errors import ExtractError
from kpi_pipeline.ingest.excerpt import escape

QUALTRICS = "qualtrics"

_NPS_GROUP = re.compile(r"(?i)^(?P<question>.+)_NPS_GROUP$")
_IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:')
_UTC_ZONES = {"utc", "z", "gmt", "etc/utc", "etc/gmt", "+00:00"}
# Qualtrics column -> contract column (either layout)
_RENAMES = {
    "responseid": "response_id",
    "recordeddate": "submitted_at",
    "externalreference": "contact_id",
    "externaldatareference": "contact_id",
}
_LEGACY_SUBMITTED = "enddate"  # the legacy layout has no RecordedDate


class SurveyLayoutError(ExtractError):
    """A Qualtrics export the NPS responses cannot be read from: refused whole."""

    def __init__(self, path: Path | str, line: int, problem: str, todo: str) -> None:
        super().__init__(f"{escape(str(path))}: line {line}: {problem}. {todo}")


@dataclass(frozen=True)
class SurveyExport:
    """The export rewritten to the contract's header, its own lines taken out."""

    extract: CsvExtract
    content: bytes
    lines_removed: int  # Qualtrics' own lines, all above the first response


def _rows(text: bytes, delimiter: str, count: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text.decode("utf-8", errors="replace")), delimiter=delimiter)
    return [row for _, row in zip(range(count), reader, strict=False)]


def _layout(rows: list[list[str]]) -> tuple[int, int] | None:
    """(header line index, lines of Qualtrics' own below the header), or None."""
    labels = [{normalise_label(cell) for cell in row} for row in rows]
    if (
        len(rows) >= 3
        and "responseid" in labels[0]
        and all(_IMPORT_ID.match(cell) for cell in rows[2] if cell)
    ):
        return 0, 2
    if len(rows) >= 2 and "v1" in labels[0] and "responseid" in labels[1]:
        return 1, 0
    return None


def _zone_of(import_ids: list[str], index: int) -> str | None:
    try:
        return json.loads(import_ids[index]).get("timeZone")
    except (IndexError, ValueError, AttributeError):
        return None


def _nps_question(path: Path | str, codes: list[str]) -> int:
    """The index of the column Qualtrics pairs with `<column>_NPS_GROUP` (the codes are on
    the file's first line in both layouts: a refusal names line 1)."""
    line = 1
    groups = [m["question"] for cell in codes if (m := _NPS_GROUP.match(cell.strip()))]
    columns = {cell.strip(): i for i, cell in enumerate(codes)}
    found = [columns[q] for q in groups if q in columns]
    questions = [c.strip() for c in codes if re.match(r"(?i)^Q\d", c.strip())]
    if len(found) == 1:
        return found[0]
    if not found:
        listed = ", ".join(questions[:8]) or "none"
        raise SurveyLayoutError(
            path,
            line,
            "this Qualtrics export has no Net Promoter Score question (a 0-10 question of "
            f"type Net Promoter Score, exported with its _NPS_GROUP column); its questions: "
            f"{listed}",
            "Export the survey that asks the NPS question, or deliver responses.csv with the "
            "columns response_id, submitted_at and score (see docs/landing_zone.md).",
        )
    names = ", ".join(codes[i].strip() for i in found)
    raise SurveyLayoutError(
        path,
        line,
        f"this Qualtrics export has {len(found)} Net Promoter Score questions ({names}) and "
        "only one can be the score",
        "Export the responses with only the NPS question that this KPI tracks.",
    )


def recognise(extract: CsvExtract, path: Path | str, content: bytes) -> SurveyExport | None:
    """A Qualtrics export rewritten to the contract's header; None for any other file."""
    text, _ = to_utf8(content)
    delimiter = sniff_delimiter(text)
    rows = _rows(text, delimiter, 3)
    layout = _layout(rows)
    if layout is None:
        return None
    header_index, below = layout
    header = rows[header_index]
    labels = [normalise_label(cell) for cell in header]
    # the question codes (`Q1`, `Q1_NPS_GROUP`) are on the first line in both layouts
    score = _nps_question(path, rows[0])
    submitted = "recordeddate" if "recordeddate" in labels else _LEGACY_SUBMITTED
    if below:
        zone = _zone_of(rows[2], labels.index(submitted)) if submitted in labels else None
        if zone and zone.strip().lower() not in _UTC_ZONES:
            raise SurveyLayoutError(
                path,
                3,
                f"the export's times are in the zone {zone!r}, not UTC",
                "Export the responses again with the time zone set to UTC.",
            )
    renamed = [
        "score"
        if i == score
        else _RENAMES.get(label, "submitted_at" if label == submitted else cell)
        for i, (cell, label) in enumerate(zip(header, labels, strict=True))
    ]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(renamed)
    lines, body = _after_records(text, delimiter, header_index + 1 + below)
    # naive times, written in UTC by Qualtrics: read as the UTC date-times HubSpot writes
    columns = tuple(
        dataclasses.replace(column, kind=Kind.HUBSPOT_DATETIME)
        if column.name == "submitted_at"
        else column
        for column in extract.columns
    )
    return SurveyExport(
        extract=dataclasses.replace(extract, columns=columns),
        content=out.getvalue().encode("utf-8") + body,
        lines_removed=lines - 1,  # the header is written back
    )


def _after_records(text: bytes, delimiter: str, records: int) -> tuple[int, bytes]:
    """The physical lines the first `records` CSV records take (a question text may hold a
    quoted newline), and the bytes after them."""
    reader = csv.reader(io.StringIO(text.decode("utf-8", errors="replace")), delimiter=delimiter)
    for _ in range(records):
        next(reader, None)
    parts = text.split(b"\n", reader.line_num)
    return reader.line_num, parts[reader.line_num] if len(parts) > reader.line_num else b""
