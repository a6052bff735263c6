"""What the tests of the incremental marts share: a run of days, and an incremental
table held against the one a full refresh builds, row by row."""

from __future__ import annotations

import datetime as dt
import math

DAY = dt.timedelta(days=1)


def days_from(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + i * DAY for i in range((last - first).days + 1)]


def differing(found: dict[tuple, tuple], expected: dict[tuple, tuple]) -> list:
    """The rows of `found` that are not those of `expected`, and the rows missing or added.
    Dates, texts and integers are compared exactly; doubles to 1e-12 relative: DuckDB adds
    a group's doubles in the order its threads deliver them, so two full builds of the
    same facts already differ in the last bit or two of those."""
    wrong = sorted(set(found) ^ set(expected))
    for key in set(found) & set(expected):
        for got, want in zip(found[key], expected[key], strict=True):
            if isinstance(want, float) and isinstance(got, float):
                if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9):
                    wrong.append((key, got, want))
                    break
            elif got != want:
                wrong.append((key, got, want))
                break
    return wrong
