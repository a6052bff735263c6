"""Where a KPI value stands against its target."""

from __future__ import annotations

from kpi_pipeline.kpis.catalogue import Kpi

ON_TRACK = "on_track"
AT_RISK = "at_risk"
OFF_TRACK = "off_track"
NO_DATA = "no_data"


def kpi_status(value: float | None, kpi: Kpi) -> str:
    """on_track when the target is met; at_risk when missed by at most the tolerance
    (a share of the target's size); off_track beyond; no_data without a value."""
    if value is None:
        return NO_DATA
    target = kpi.target.value
    margin = abs(target) * kpi.target.at_risk_tolerance
    if kpi.direction == "higher_is_better":
        if value >= target:
            return ON_TRACK
        return AT_RISK if value >= target - margin else OFF_TRACK
    if value <= target:
        return ON_TRACK
    return AT_RISK if value <= target + margin else OFF_TRACK
