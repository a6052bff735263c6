"""A KPI's trend chart in the report: the y axis scaled to the series, so a target far
from it never flattens the line; the target is a dashed line when it is near the series,
otherwise a note that it lies above or below the chart. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 240, 72, 4
# the target is drawn when it lies within this many series ranges of the series, so the
# series keeps at least a third of the chart's height
TARGET_REACH = 2.0
FLAT_SPREAD = 0.05  # a flat series is drawn as if it spread over 5 % of its value


@dataclass(frozen=True)
class Chart:
    segments: tuple[str, ...]  # polyline points, split where a value is missing
    low: float | None  # the series' lowest and highest values (None: no value)
    high: float | None
    axis: tuple[float, float]  # the y axis, bottom to top
    target_y: float | None  # the dashed target line (None: no target, or off the chart)
    target_outside: str | None  # "above" or "below" when the target is off the chart
    dates: tuple[dt.date, ...]  # first, middle, last day, under the chart


def y_axis(values: list[float], target: float | None) -> tuple[float, float, bool]:
    """The y axis (bottom, top) for a series, padded a little, and whether the target is
    on it: only when it lies within TARGET_REACH series ranges of the series."""
    if not values:
        if target is None:
            return 0.0, 1.0, False
        values = [target]
    low, high = min(values), max(values)
    spread = high - low or abs(high) * FLAT_SPREAD or 1.0
    on_axis = target is not None and (
        low - TARGET_REACH * spread <= target <= high + TARGET_REACH * spread
    )
    if on_axis:
        low, high = min(low, target), max(high, target)  # type: ignore[type-var]
    pad = (high - low or spread) * 0.08
    return low - pad, high + pad, on_axis


def trend_chart(
    series: list[tuple[dt.date, float | None]],
    target: float | None,
    first: dt.date,
    last: dt.date,
) -> Chart:
    """The chart of `series` (one value or None per day from `first` to `last`) against
    `target`, in the coordinates of a CHART_WIDTH x CHART_HEIGHT view box."""
    values = [v for _, v in series if v is not None]
    bottom, top, target_on_axis = y_axis(values, target)
    days = max((last - first).days, 1)

    def x(day: dt.date) -> float:
        return CHART_PAD + (day - first).days / days * (CHART_WIDTH - 2 * CHART_PAD)

    def y(value: float) -> float:
        return (
            CHART_HEIGHT
            - CHART_PAD
            - (value - bottom) / (top - bottom) * (CHART_HEIGHT - 2 * CHART_PAD)
        )

    segments, current = [], []
    for day, value in series:
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        current.append(f"{x(day):.1f},{y(value):.1f}")
    if current:
        segments.append(" ".join(current))
    outside = None
    if target is not None and values and not target_on_axis:
        outside = "above" if target > max(values) else "below"
    middle = first + dt.timedelta(days=days // 2)
    return Chart(
        segments=tuple(segments),
        low=min(values) if values else None,
        high=max(values) if values else None,
        axis=(bottom, top),
        target_y=round(y(target), 1) if target is not None and target_on_axis else None,
        target_outside=outside,
        dates=(first, middle, last),
    )
