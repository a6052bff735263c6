"""The ad platforms' own downloads: the lines around the table that are no campaign rows.

A Google Ads report downloaded from the web UI starts with a title line and a date-range
line above its header, writes ` --` for "none" and ends with `Total: ...` rows (`Total:
Campaigns`, `Total: Account`, `Total: Search`, ...). A Meta Ads Manager export gives each
row the period it covers (`Reporting starts`, `Reporting ends`) and may carry a totals row
(no campaign name, `Total`, `Results from 3 campaigns`) first or last.

Those lines are recognised here, never loaded and never quarantined: `raw._ingest_log`
counts them in `summary_lines_skipped`, so `rows_read = rows_loaded + rows_quarantined`
keeps holding for the rows of the table. What the report says about its period is
checked against the folder it was delivered in; a row that cannot be put on one day is
refused with the file, never split by guess. The API / Scripts layouts (`segments.date`,
`metrics.cost_micros`, `date_start`) have none of these lines and pass through unchanged.

Used by `loaders.parse_csv_file`: `recognise` on the file's bytes (the preamble), `table`
on its text cells (totals, ` --`, periods), `set_aside` on the parsed rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kpi_pipeline.ingest.contracts import CsvExtract, Kind
from kpi_pipeline.ingest.csv_reader import ROW_NUMBER, CsvText, ParsedExtract, normalise_label
from kpi_pipeline.ingest.decoding import sniff_delimiter, to_utf8
from kpi_pipeline.ingest.errors import ExtractError
from kpi_pipeline.ingest.excerpt import escape, excerpt
from kpi_pipeline.ingest.survey_layouts import QUALTRICS
from kpi_pipeline.ingest.survey_layouts import recognise as recognise_survey

GOOGLE_ADS = "google_ads"
META_ADS = "meta_ads"

# The header is looked for in this many first lines; Google writes two lines above it.
HEADER_SCAN_LINES = 10
# Labels quoted from a file in a message are cut to this (campaign names, header labels).
QUOTED_CHARS = 60

_ISO_DAY = "%Y-%m-%d"
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# Google writes the preset "All time" as it is, with no dates.
_ALL_TIME = re.compile(r"(?i)^all\s+time$")
_RANGE_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+")  # ' - ', en or em dash
_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS = {name: n for n, full in enumerate(_MONTH_NAMES, 1) for name in (full, full[:3])}
_MONTHS["sept"] = 9
_DATE_FORMS = (
    re.compile(r"^(?P<month>[a-z]+)\.? (?P<day>\d{1,2}),? (?P<year>\d{4})$"),  # Nov 1, 2026
    re.compile(r"^(?P<day>\d{1,2}) (?P<month>[a-z]+)\.?,? (?P<year>\d{4})$"),  # 1 Nov 2026
    re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})$"),  # 2026-11-01
)
_DATE_EXAMPLES = "'November 1, 2026 - November 1, 2026', '1 Nov 2026 - 7 Nov 2026' or '2026-11-01'"

# Google's total rows: `Total: Campaigns`, `Total: Account`, `Total : Search`, `Total`.
_GOOGLE_TOTAL = r"(?i)^total\b"
# Meta's totals row: no campaign name, `Total(s)`, or `Results from 3 campaigns`.
_META_TOTAL = r"(?i)^(totals?|results from \d[\d,]* (campaigns?|ad sets?|ads?))$"
# Meta's period columns (Ads Manager labels, then Marketing API field names).
_META_STARTS = ("reporting starts", "date_start")
_META_ENDS = ("reporting ends", "date_stop")
_META_DAY = ("day",)
# A number this pipeline reads: a decimal point, `,` only between groups of three digits.
_GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"


class ReportLayoutError(ExtractError):
    """An ad platform's download whose own lines contradict its folder, or whose rows cannot
    be put on days: the file is refused (contract error), nothing of its day loads."""

    def __init__(self, path: Path | str, line: int | None, problem: str, todo: str) -> None:
        at = f"line {line}: " if line else ""
        super().__init__(f"{escape(str(path))}: {at}{problem}. {todo}")


@dataclass(frozen=True)
class DateRange:
    """The period a Google Ads UI report says it covers (its second line); `All time` has
    no first nor last day."""

    first: dt.date | None
    last: dt.date | None
    line: int
    text: str

    @property
    def bounded(self) -> bool:
        return self.first is not None and self.last is not None

    def described(self) -> str:
        return f"{self.first} to {self.last}" if self.bounded else _quoted(self.text)


def _date(text: str) -> dt.date | None:
    text = " ".join(text.lower().split())
    for form in _DATE_FORMS:
        match = form.match(text)
        if not match:
            continue
        month = match["month"]
        number = int(month) if month.isdigit() else _MONTHS.get(month)
        try:
            return dt.date(int(match["year"]), number, int(match["day"])) if number else None
        except ValueError:
            return None
    return None


def parse_date_range(text: str) -> tuple[dt.date, dt.date] | None:
    """`November 1, 2026 - November 7, 2026` (English month names, full or short, either
    order), ISO dates, or one date alone; None when it is not such a range."""
    parts = _RANGE_SEPARATOR.split(text.strip())
    if len(parts) > 2:
        return None
    days = [_date(part) for part in parts]
    if None in days:
        return None
    return days[0], days[-1]


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]


def _contract_labels(extract: CsvExtract) -> set[str]:
    return {normalise_label(label) for column in extract.columns for label in column.labels}


def _header_at(lines: list[str], extract: CsvExtract) -> int | None:
    """The first line holding at least two of the contract's labels: the header."""
    labels = _contract_labels(extract)
    for number, line in enumerate(lines):
        cells = _cells(line, sniff_delimiter(line.encode("utf-8")))
        if len({normalise_label(cell) for cell in cells} & labels) >= 2:
            return number
    return None


def _quoted(text: str) -> str:
    return f"'{excerpt(text, QUOTED_CHARS)}'"


def _range_of_preamble(
    preamble: list[str], delimiter: str, path: Path | str, day: dt.date
) -> DateRange | None:
    """The date-range line among the lines above the header (the one naming a year), read
    and checked against the folder day: a report delivered in `dt=D` ends on `D`."""
    found = None
    for number, line in enumerate(preamble, start=1):
        text = ", ".join(cell.strip() for cell in _cells(line, delimiter) if cell.strip())
        all_time = bool(_ALL_TIME.match(text))
        if not all_time and not _YEAR.search(text):
            continue  # the report's title
        period = (None, None) if all_time else parse_date_range(text)
        if period is None or found is not None:
            problem = (
                f"cannot read the report's date range {_quoted(text)}"
                if period is None
                else f"a second date range {_quoted(text)} above the header"
            )
            raise ReportLayoutError(
                path,
                number,
                f"{problem}; expected one line such as {_DATE_EXAMPLES}",
                "Download the report again with the Google Ads interface in English, or "
                "deliver the API layout (segments.date, metrics.cost_micros, ...).",
            )
        found = DateRange(period[0], period[1], number, text)
    if found is None or not found.bounded:
        return found
    if found.first > found.last or found.last != day:
        folder = f"dt={day.isoformat()}"
        move = (
            f"or move it to the folder dt={found.last.isoformat()}"
            if found.first <= found.last
            else ""
        )
        raise ReportLayoutError(
            path,
            found.line,
            f"the report's date range is {found.first} to {found.last} ({_quoted(found.text)}), "
            f"but the file is in the folder of {day} ({folder}); a report delivered in "
            "dt=D must cover a period ending on D",
            f"Download the report again for a range ending on {day} {move}".rstrip() + ".",
        )
    return found


@dataclass(frozen=True)
class ReportTable:
    """The text cells of a download, tidied, and which of its rows are the report's own."""

    text: CsvText
    preamble_lines: int = 0
    summary_rows: tuple[int, ...] = ()  # row numbers (1 = first row under the header)

    @property
    def lines_skipped(self) -> int:
        """Title, date-range and total lines: recognised, neither loaded nor quarantined."""
        return self.preamble_lines + len(self.summary_rows)

    def set_aside(self, parsed: ParsedExtract) -> ParsedExtract:
        """The parsed rows without the summary rows (rows read counts table rows only);
        quarantined rows keep the line of the file they are on (the preamble counted)."""
        if not self.lines_skipped:
            return parsed
        summary = list(self.summary_rows)
        rows = parsed.rows.filter(~pl.col(ROW_NUMBER).is_in(summary))
        quarantine = parsed.quarantine.filter(~pl.col("row_number").is_in(summary))
        quarantine = quarantine.with_columns(pl.col("line_number") + self.preamble_lines)
        dropped = parsed.rows.height - rows.height + parsed.quarantine.height - quarantine.height
        return ParsedExtract(rows=rows, quarantine=quarantine, rows_read=parsed.rows_read - dropped)


@dataclass(frozen=True)
class Report:
    """A delivered file as far as its layout goes: the bytes from its header on, and what
    the lines above the header said."""

    extract: CsvExtract
    path: Path | str
    day: dt.date
    content: bytes
    preamble_lines: int = 0
    date_range: DateRange | None = None

    def table(self, text: CsvText) -> ReportTable:
        """Recognise the summary rows, blank ` --` cells, and refuse rows that cannot be put
        on one day (the first such row named by its line)."""
        layout = self.extract.report_layout
        if layout not in (GOOGLE_ADS, META_ADS) or text.encoding == "parquet":
            return ReportTable(text, self.preamble_lines)
        frame = text.frame
        if layout == GOOGLE_ADS:
            summary = _trailing(_google_totals(frame, self._columns(frame, "spend_date")))
        else:
            summary = _leading_and_trailing(_meta_totals(frame))
        rows = _Rows(frame, summary, self.preamble_lines)
        if layout == GOOGLE_ADS:
            self._check_google_days(rows)
        else:
            frame = self._check_meta_periods(rows)
        self._check_numbers(rows)
        none = [
            pl.when(pl.col(name).str.strip_chars() == "--")
            .then(pl.lit(""))
            .otherwise(pl.col(name))
            .alias(name)
            for name in frame.columns
        ]
        frame = frame.with_columns(none) if none else frame
        # the truncated tail keeps its line: `set_aside` shifts every quarantined line
        text = CsvText(
            frame, text.encoding, text.delimiter, text.truncated_tail, text.truncated_tail_line
        )
        numbers = tuple(int(n) for n in summary.arg_true() + 1)
        return ReportTable(text, self.preamble_lines, numbers)

    def _columns(self, frame: pl.DataFrame, name: str) -> list[str]:
        labels = {
            normalise_label(label)
            for column in self.extract.columns
            if column.name == name
            for label in column.labels
        }
        return [c for c in frame.columns if normalise_label(c) in labels]

    def _check_google_days(self, rows: _Rows) -> None:
        """With a date range: a `Day` column, and every row's day inside the range."""
        period = self.date_range
        if period is None:
            return
        day_columns = self._columns(rows.frame, "spend_date")
        if not day_columns:
            whole = "range" if period.bounded else "period"
            raise ReportLayoutError(
                self.path,
                period.line + 1,
                f"the report has no 'Day' column, so each row covers the whole {whole} "
                f"{period.described()} and cannot be put on a day",
                "Add the segment Time > Day to the report and download it again"
                + ("." if period.bounded else f", for a date range ending on {self.day}."),
            )
        if not period.bounded:
            return  # every day of the report is restated (see docs/landing_zone.md)
        day = _as_day(day_columns[0])
        outside = day.is_not_null() & ((day < period.first) | (day > period.last))
        found = rows.first(outside)
        if found is not None:
            index, line = found
            raise ReportLayoutError(
                self.path,
                line,
                f"the row's day {rows.cell(day_columns[0], index)} is outside the report's "
                f"date range {period.first} to {period.last} (line {period.line})",
                "Download the report again without editing it.",
            )

    def _check_meta_periods(self, rows: _Rows) -> pl.DataFrame:
        """Each row covers one day: `Reporting starts` = `Reporting ends`, or, when a `Day`
        breakdown column is there too, the day lies in the row's reporting period (and the
        period columns are not loaded)."""
        frame = rows.frame
        by_label = {normalise_label(c): c for c in frame.columns}
        starts = next((by_label[k] for k in _META_STARTS if k in by_label), None)
        ends = next((by_label[k] for k in _META_ENDS if k in by_label), None)
        day = next((by_label[k] for k in _META_DAY if k in by_label), None)
        if day is not None:
            outside = [_as_day(day) < _as_day(starts)] if starts else []
            outside += [_as_day(day) > _as_day(ends)] if ends else []
            found = rows.first(pl.any_horizontal(outside)) if outside else None
            if found is not None:
                index, line = found
                period = " to ".join(rows.cell(c, index) for c in (starts, ends) if c)
                raise ReportLayoutError(
                    self.path,
                    line,
                    f"the row's day {rows.cell(day, index)} is outside its reporting period "
                    f"{period}",
                    "Export the report again without editing it.",
                )
            return frame.drop(starts) if starts else frame
        if starts is None or ends is None:
            return frame
        found = rows.first(_as_day(starts) != _as_day(ends))
        if found is not None:
            index, line = found
            campaign = next(
                (by_label[k] for k in ("campaign name", "campaign_name") if k in by_label), None
            )
            name = f"of campaign {_quoted(rows.cell(campaign, index))} " if campaign else ""
            raise ReportLayoutError(
                self.path,
                line,
                f"the row {name}covers {rows.cell(starts, index)} to {rows.cell(ends, index)} "
                f"({_quoted(starts)} to {_quoted(ends)}); spend over several days cannot be "
                "put on days without guessing how it was spread",
                "Export the report again broken down by day (Breakdown > By time > Day), so "
                "that each row covers one day, and deliver it again.",
            )
        return frame

    def _check_numbers(self, rows: _Rows) -> None:
        """Numbers with a decimal comma (`2.000,50`, `12,5`) would be misread as thousands
        separators: the download is refused rather than loaded with wrong amounts."""
        numeric = {
            normalise_label(label)
            for column in self.extract.columns
            if column.kind in (Kind.INTEGER, Kind.DECIMAL)
            for label in column.labels
        }
        money = (
            normalise_label(self.extract.currency_in_label[0]) + " ("
            if self.extract.currency_in_label
            else None
        )
        for name in rows.frame.columns:
            label = normalise_label(name)
            if label not in numeric and not (money and label.startswith(money)):
                continue
            text = pl.col(name).str.strip_chars()
            misread = text.str.contains(",", literal=True) & ~text.str.contains(_GROUPED)
            found = rows.first(misread.fill_null(False))
            if found is not None:
                index, line = found
                raise ReportLayoutError(
                    self.path,
                    line,
                    f"column {_quoted(name)}: {_quoted(rows.cell(name, index))} is not a "
                    "number written with a decimal point (and ',' only between thousands); "
                    "the report was downloaded with another number format",
                    "Download it again with the interface language set to English, whose "
                    "numbers read 2,000.50.",
                )


class _Rows:
    """The table rows of a download that are not summary rows, with their file lines."""

    def __init__(self, frame: pl.DataFrame, summary: pl.Series, preamble: int) -> None:
        self.frame = frame
        self.summary = summary
        if frame.columns:
            embedded = frame.select(
                pl.sum_horizontal(
                    pl.col(c).str.count_matches("\n").fill_null(0) for c in frame.columns
                ).cast(pl.Int64)
            ).to_series()
        else:
            embedded = pl.Series([], dtype=pl.Int64)
        # header = line 1 + preamble; a row starts after the newlines quoted in the ones above
        self.lines = (
            2 + preamble + pl.int_range(frame.height, eager=True) + (embedded.cum_sum() - embedded)
        )

    def first(self, condition: pl.Expr) -> tuple[int, int] | None:
        """(index, file line) of the first non-summary row meeting `condition`."""
        hits = self.frame.select(condition.fill_null(False).alias("hit")).to_series()
        hits = (hits & ~self.summary).arg_true()
        if hits.is_empty():
            return None
        index = int(hits[0])
        return index, int(self.lines[index])

    def cell(self, column: str, index: int) -> str:
        return excerpt(str(self.frame[column][index] or ""), QUOTED_CHARS)


def _as_day(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_date(_ISO_DAY, strict=False)


def _google_totals(frame: pl.DataFrame, day_columns: list[str]) -> pl.Series:
    """Rows whose first cell is `Total...` and that carry no day."""
    if not frame.columns or frame.height == 0:
        return pl.Series([False] * frame.height)
    first = pl.col(frame.columns[0]).str.strip_chars().str.contains(_GOOGLE_TOTAL).fill_null(False)
    dated = (
        _as_day(day_columns[0]).is_not_null()
        if day_columns and day_columns[0] != frame.columns[0]
        else pl.lit(False)
    )
    return frame.select((first & ~dated).alias("total")).to_series()


def _meta_totals(frame: pl.DataFrame) -> pl.Series:
    """Rows without a campaign name, or named `Total(s)` / `Results from N campaigns`."""
    campaign = next(
        (c for c in frame.columns if normalise_label(c) in ("campaign name", "campaign_name")),
        None,
    )
    if campaign is None or frame.height == 0:
        return pl.Series([False] * frame.height)
    name = pl.col(campaign).str.strip_chars()
    total = name.is_null() | (name == "") | name.str.contains(_META_TOTAL)
    return frame.select(total.fill_null(True).alias("total")).to_series()


def _trailing(flags: pl.Series) -> pl.Series:
    """Only the block of flagged rows at the end counts (a total inside the table does not)."""
    others = (~flags).arg_true()
    last = int(others[-1]) if len(others) else -1
    return pl.int_range(flags.len(), eager=True) > last


def _leading_and_trailing(flags: pl.Series) -> pl.Series:
    others = (~flags).arg_true()
    if others.is_empty():
        return flags
    index = pl.int_range(flags.len(), eager=True)
    return (index < int(others[0])) | (index > int(others[-1]))


def _refuse_unknown_preamble(first: str, extract: CsvExtract, path: Path | str) -> None:
    """A first line of one cell that is no column label is a report title: without a header
    the reader would only say that later lines have more fields than the first."""
    cells = [cell.strip() for cell in _cells(first, sniff_delimiter(first.encode("utf-8")))]
    cells = [cell for cell in cells if cell]
    if len(cells) != 1 or normalise_label(cells[0]) in _contract_labels(extract):
        return
    required = ", ".join(c.label for c in extract.columns if c.required)
    raise ReportLayoutError(
        path,
        None,
        f"line 1 is {_quoted(cells[0])}, and none of the first {HEADER_SCAN_LINES} lines is a "
        f"header with the report's columns ({required}, Cost, ...)",
        "Download the report with the Google Ads interface in English, so that its columns "
        "are labelled as listed in docs/landing_zone.md, or deliver the API layout "
        "(segments.date, campaign.name, metrics.cost_micros, ...).",
    )


def recognise(extract: CsvExtract, path: Path | str, content: bytes, day: dt.date) -> Report:
    """Find the header of a Google Ads UI download below its title and date-range lines;
    the date range must end on the folder day; a Qualtrics export rewritten to the NPS
    contract (`survey_layouts`). Other files pass through untouched."""
    if str(path).endswith(".parquet"):
        return Report(extract, path, day, content)
    if extract.report_layout == QUALTRICS:
        survey = recognise_survey(extract, path, content)
        if survey is None:
            return Report(extract, path, day, content)
        return Report(survey.extract, path, day, survey.content, survey.lines_removed)
    if extract.report_layout != GOOGLE_ADS:
        return Report(extract, path, day, content)
    text, _ = to_utf8(content)
    lines = [
        line.rstrip(b"\r").decode("utf-8", errors="replace")
        for line in text.split(b"\n", HEADER_SCAN_LINES)[:HEADER_SCAN_LINES]
    ]
    header = _header_at(lines, extract)
    if header is None and len(lines) > 1:
        _refuse_unknown_preamble(lines[0], extract, path)
    if not header:  # on the first line, or not found: the reader says what is wrong
        return Report(extract, path, day, content)
    delimiter = sniff_delimiter(lines[header].encode("utf-8"))
    period = _range_of_preamble(lines[:header], delimiter, path, day)
    body = text.split(b"\n", header)[header]
    return Report(extract, path, day, body, preamble_lines=header, date_range=period)
