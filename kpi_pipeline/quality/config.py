"""The gate's configuration (`quality.yml`): severities and thresholds, validated at load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kpi_pipeline.quality.suites import ERROR, WARN
from kpi_pipeline.settings import DBT_PROJECT_DIR, PROJECT_ROOT

QUALITY_CONFIG_PATH = PROJECT_ROOT / "quality.yml"
# the cross-checks: dbt singular tests, one file each, named as in quality.yml
DBT_TESTS_DIR = DBT_PROJECT_DIR / "tests"
SEVERITIES = (ERROR, WARN)
MEASURES = ("numerator", "denominator", "value")


class QualityConfigError(ValueError):
    """quality.yml breaks its rules; the message names the file and the key."""


@dataclass(frozen=True)
class Band:
    """A ratio to the trailing median at or below `below`, or at or above `above`, trips."""

    below: float | None = None
    above: float | None = None

    def trips(self, ratio: float) -> bool:
        return (self.below is not None and ratio <= self.below) or (
            self.above is not None and ratio >= self.above
        )

    def text(self) -> str:
        parts = []
        if self.below is not None:
            parts.append(f"<= {self.below:g}x")
        if self.above is not None:
            parts.append(f">= {self.above:g}x")
        return " or ".join(parts) or "never"


@dataclass(frozen=True)
class Thresholds:
    warn: Band = field(default_factory=Band)
    error: Band = field(default_factory=Band)


@dataclass(frozen=True)
class ValueAnomaly:
    kpi: str
    measure: str
    thresholds: Thresholds


@dataclass(frozen=True)
class QualityConfig:
    cross_checks: dict[str, str]
    net_revenue_tolerance: float
    trailing_days: int
    min_history_days: int
    min_baseline: float
    volume_default: Thresholds
    volume_tables: dict[str, Thresholds]
    values: tuple[ValueAnomaly, ...]
    # a declared source without a file for a day: error (blocks) or warn, per source
    missing_extract_default: str = ERROR
    missing_extract_sources: dict[str, str] = field(default_factory=dict)

    def missing_extract_severity(self, source: str) -> str:
        return self.missing_extract_sources.get(source, self.missing_extract_default)

    def volume_thresholds(self, table: str) -> Thresholds:
        return self.volume_tables.get(table, self.volume_default)

    def dbt_vars(self) -> dict[str, Any]:
        """The dbt var the cross-checks (dbt tests under dbt_project/tests/) read their
        severity and the net revenue tolerance from: `{cross_checks: {<test>: error|warn,
        net_revenue_tolerance: <amount>}}`."""
        tolerance = {"net_revenue_tolerance": self.net_revenue_tolerance}
        return {"cross_checks": {**self.cross_checks, **tolerance}}


def _band(raw: Any, where: str) -> Band:
    if raw is None:
        return Band()
    if not isinstance(raw, dict) or set(raw) - {"below", "above"}:
        raise QualityConfigError(f"{where}: expected a mapping with 'below' and/or 'above'")
    try:
        return Band(
            below=None if raw.get("below") is None else float(raw["below"]),
            above=None if raw.get("above") is None else float(raw["above"]),
        )
    except (TypeError, ValueError) as err:
        raise QualityConfigError(f"{where}: thresholds must be numbers ({err})") from err


def _thresholds(raw: Any, where: str, base: Thresholds | None = None) -> Thresholds:
    raw = raw or {}
    base = base or Thresholds()
    return Thresholds(
        warn=_band(raw["warn"], f"{where}.warn") if "warn" in raw else base.warn,
        error=_band(raw["error"], f"{where}.error") if "error" in raw else base.error,
    )


def parse_quality_config(raw: dict[str, Any], path: Path) -> QualityConfig:
    where = str(path)
    checks = dict(raw.get("cross_checks") or {})
    tolerance = float(checks.pop("net_revenue_tolerance", 0.005))
    for name, severity in checks.items():
        if severity not in SEVERITIES:
            raise QualityConfigError(
                f"{where}: cross_checks.{name} is '{severity}', expected one of error, warn"
            )
        if not (DBT_TESTS_DIR / f"{name}.sql").is_file():
            raise QualityConfigError(
                f"{where}: cross_checks.{name} names no cross-check: no dbt test "
                f"dbt_project/tests/{name}.sql"
            )
    anomalies = raw.get("anomalies") or {}
    volume = anomalies.get("volume") or {}
    default = _thresholds(volume.get("default"), f"{where}: anomalies.volume.default")
    tables = {
        table: _thresholds(spec, f"{where}: anomalies.volume.tables.{table}", default)
        for table, spec in (volume.get("tables") or {}).items()
    }
    values = []
    for i, spec in enumerate(anomalies.get("values") or []):
        at = f"{where}: anomalies.values[{i}]"
        if spec.get("measure", "value") not in MEASURES:
            raise QualityConfigError(f"{at}.measure must be one of {', '.join(MEASURES)}")
        if not spec.get("kpi"):
            raise QualityConfigError(f"{at}: missing 'kpi'")
        values.append(
            ValueAnomaly(str(spec["kpi"]), spec.get("measure", "value"), _thresholds(spec, at))
        )
    missing = raw.get("missing_extract") or {}
    missing_sources = dict(missing.get("sources") or {})
    for name, severity in {"default": missing.get("default", ERROR), **missing_sources}.items():
        if severity not in SEVERITIES:
            raise QualityConfigError(
                f"{where}: missing_extract {name} is '{severity}', expected one of error, warn"
            )
    return QualityConfig(
        missing_extract_default=missing.get("default", ERROR),
        missing_extract_sources=missing_sources,
        cross_checks=checks,
        net_revenue_tolerance=tolerance,
        trailing_days=int(anomalies.get("trailing_days", 28)),
        min_history_days=int(anomalies.get("min_history_days", 7)),
        min_baseline=float(anomalies.get("min_baseline", 0)),
        volume_default=default,
        volume_tables=tables,
        values=tuple(values),
    )


def load_quality_config(path: Path = QUALITY_CONFIG_PATH) -> QualityConfig:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as err:
        raise QualityConfigError(f"{path}: quality configuration not found") from err
    except yaml.YAMLError as err:
        raise QualityConfigError(f"{path}: not valid YAML ({err})") from err
    return parse_quality_config(raw, path)
