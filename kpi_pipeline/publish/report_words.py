"""The report's words: values, changes, dates, the header, the summary (status counts and
the biggest movers) and the period-to-date / projection sentence. Pure functions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STATUS_LABELS = {
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "no_data": "no data",
    "no_target": "no target",
}
# spelt here, not by strftime, so the words do not follow the machine's locale
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
PERIOD_NAMES = {
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "quarter": "Quarter",
    "year": "Year",
}
PERIOD_COLUMNS = (
    "period_grain",
    "period_to_date_value",
    "target_to_date",
    "period_target",
    "projected_value",
    "projected_low",
    "projected_high",
    "projected_status",
)
MOVERS_SHOWN = 3


def format_value(value: float | None, unit: str, currency: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value * 100:,.2f} %"
    if unit == "currency":
        return f"{value:,.2f} {currency}"
    if unit == "hours":
        return f"{value:,.1f} h"
    return f"{value:,.1f}"


def format_change(value: float | None, before: float | None, unit: str) -> str:
    if value is None or before is None:
        return "-"
    delta = value - before
    text = f"{delta * 100:+,.2f} pt" if unit == "ratio" else f"{delta:+,.2f}"
    if before:
        text += f" ({delta / abs(before) * 100:+,.1f} %)"
    return text


def day_words(day: dt.date) -> str:
    """'Monday 3 March 2025'."""
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def date_words(day: dt.date) -> str:
    """'4 March 2025'."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def short_date(day: dt.date) -> str:
    """'3 Mar 2025', under a chart."""
    return f"{day.day} {MONTH_NAMES[day.month - 1][:3]} {day.year}"


def report_title(day: dt.date) -> str:
    return f"KPIs of {day_words(day)}"


def published_words(published_at: str, version: int) -> str:
    """'Published 4 March 2025 at 06:04 UTC, version 2' from an ISO timestamp (one without
    an offset is taken as UTC; one that cannot be read is shown as it is)."""
    try:
        moment = dt.datetime.fromisoformat(published_at)
    except ValueError:
        return f"Published {published_at}, version {version}"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return f"Published {date_words(moment.date())} at {moment:%H:%M} UTC, version {version}"


def header_line(day: dt.date, published_at: str, version: int) -> str:
    """'KPIs of Monday 3 March 2025 · Published 4 March 2025 at 06:04 UTC, version 2'."""
    return f"{report_title(day)} · {published_words(published_at, version)}"


def status_counts(statuses: Iterable[str | None]) -> dict[str, int]:
    """How many KPIs have each status, in STATUS_LABELS order (a missing status counts as
    no data); on track, at risk and off track always, no data and no target when any."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for status in statuses:
        key = status or "no_data"
        counts[key] = counts.get(key, 0) + 1
    return {s: n for s, n in counts.items() if n or s in ("on_track", "at_risk", "off_track")}


@dataclass(frozen=True)
class Mover:
    kpi_id: str
    name: str
    before: float
    after: float
    unit: str
    direction: str

    @property
    def relative(self) -> float:
        return (self.after - self.before) / abs(self.before)

    def sentence(self, currency: str, previous_day: dt.date) -> str:
        """'Net revenue rose 25.0 % to 7,500.00 USD (6,000.00 USD on 2 March 2025), a good
        move'."""
        verb = "rose" if self.after > self.before else "fell"
        good = (self.after > self.before) == (self.direction == "higher_is_better")
        return (
            f"{self.name} {verb} {abs(self.relative) * 100:,.1f} % to "
            f"{format_value(self.after, self.unit, currency)} "
            f"({format_value(self.before, self.unit, currency)} on {date_words(previous_day)}), "
            f"{'a good move' if good else 'a bad move'}"
        )


def biggest_movers(movers: Iterable[Mover], shown: int = MOVERS_SHOWN) -> list[Mover]:
    """The KPIs whose overall value changed most against the previous day, by relative
    change; a KPI without a previous value, a previous value of 0 or no change is left
    out; ties keep the given (catalogue) order."""
    moved = [
        m
        for m in movers
        if m.before and m.after != m.before and math.isfinite(m.before) and math.isfinite(m.after)
    ]
    return sorted(moved, key=lambda m: -abs(m.relative))[:shown]


def _present(row: Mapping, column: str) -> object | None:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def period_sentence(row: Mapping, unit: str, currency: str, is_additive: bool = True) -> str | None:
    """The period to date against its target and the projection of the period's end, from
    the snapshot's optional period columns (PERIOD_COLUMNS; absent or null: None):
    'Month to date 182,400.00 USD of 248,000.00 USD target; projected 241,000.00 USD
    (228,000.00 USD to 255,000.00 USD), at risk'."""
    grain = _present(row, "period_grain")
    to_date = _present(row, "period_to_date_value")
    target = _present(row, "period_target")
    target_to_date = _present(row, "target_to_date")
    projected = _present(row, "projected_value")
    low, high = _present(row, "projected_low"), _present(row, "projected_high")
    status = _present(row, "projected_status")

    def value(v: object) -> str:
        return format_value(float(v), unit, currency)  # type: ignore[arg-type]

    period = PERIOD_NAMES.get(str(grain), str(grain).capitalize()) if grain else "Period"
    parts = []
    if to_date is not None:
        text = f"{period} to date {value(to_date)}"
        if target is not None and is_additive and target_to_date is not None:
            # an amount against its target pro-rated to date, and the period's
            text += f" against {value(target_to_date)} to date ({value(target)} target)"
        elif target is not None:
            # an amount is a share of the period's target; a rate is held against it
            text += (
                f" of {value(target)} target"
                if is_additive
                else f" against a {value(target)} target"
            )
        parts.append(text)
    elif target is not None:
        parts.append(f"{period} target {value(target)}")
    if projected is not None:
        text = f"projected {value(projected)}"
        if low is not None and high is not None and low != high:  # no span: the last day
            text += f" ({value(low)} to {value(high)})"
        if status is not None:
            text += f", {STATUS_LABELS.get(str(status), str(status))}"
        parts.append(text)
    if not parts:
        return None
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:]


def day_span_words(days: list[dt.date]) -> str:
    """Consecutive days in words: '29 November 2026', '28-29 November 2026', '30 November -
    1 December 2026', '31 December 2026 - 1 January 2027'."""
    first, last = min(days), max(days)
    if first == last:
        return date_words(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{date_words(last)}"
    if first.year == last.year:
        return f"{first.day} {MONTH_NAMES[first.month - 1]} - {date_words(last)}"
    return f"{date_words(first)} - {date_words(last)}"


def maturity_sentence(
    mature: tuple[dt.date, str] | None,
    mature_through: dt.date,
    provisional: list[tuple[dt.date, str | None]],
    lookback_days: int,
) -> str:
    """What a KPI whose data matures late shows instead of its newest day: its latest mature
    value with its day, then its provisional days with what they hold so far (None: no
    value yet), never as final: '20.6 h on 27 November 2026, the latest complete day;
    28-29 November 2026 provisional (so far 21.3 h, no value)'. `mature` is (day, value in
    words), None when no day up to `mature_through` in `lookback_days` has a value."""
    if mature is None:
        text = (
            f"No complete day with a value in the {lookback_days} days to "
            f"{date_words(mature_through)}"
        )
    elif mature[0] == mature_through:
        text = f"{mature[1]} on {date_words(mature[0])}, the latest complete day"
    else:
        text = (
            f"{mature[1]} on {date_words(mature[0])}, the latest complete day with a value "
            f"(complete through {date_words(mature_through)})"
        )
    if provisional:
        so_far = ", ".join("no value" if v is None else v for _, v in provisional)
        text += f"; {day_span_words([d for d, _ in provisional])} provisional (so far {so_far})"
    return text


def no_value_sentence(day: dt.date, latest: tuple[dt.date, str] | None, lookback_days: int) -> str:
    """A KPI without a value on `day` (missing, never 0), with its latest earlier value and
    its day, so the card is not a blank: 'No value on 29 November 2026; the latest: 20.6 h
    on 28 November 2026'. `latest` is (day, value in words), None when none of the
    `lookback_days` before has one."""
    if latest is None:
        return f"No value on {date_words(day)}, nor in the {lookback_days} days before"
    return f"No value on {date_words(day)}; the latest: {latest[1]} on {date_words(latest[0])}"
