"""Load and validate the KPI catalogue: a KPI that is not SMART is refused, by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FAMILIES = ("marketing", "financial", "customer_satisfaction", "process")
DIRECTIONS = ("higher_is_better", "lower_is_better")
CADENCES = ("daily", "weekly", "monthly", "quarterly")
REQUIRED_FIELDS = (
    "id",
    "name",
    "family",
    "description",
    "objective",
    "unit",
    "direction",
    "owner",
    "review_cadence",
    "target",
)


class CatalogueError(ValueError):
    """The catalogue file breaks its rules; the message names the KPI and the field."""


@dataclass(frozen=True)
class Target:
    value: float
    at_risk_tolerance: float  # share of the target within which a miss is "at risk"


@dataclass(frozen=True)
class Kpi:
    id: str
    name: str
    family: str
    description: str
    objective: str
    unit: str
    direction: str
    dimensions: tuple[str, ...]
    owner: str
    review_cadence: str
    target: Target


def _require(entry: dict[str, Any], where: str) -> None:
    for name in REQUIRED_FIELDS:
        if entry.get(name) in (None, "", {}):
            raise CatalogueError(f"{where}: missing required field '{name}'")


def _choice(value: str, allowed: tuple[str, ...], where: str, field: str) -> str:
    if value not in allowed:
        raise CatalogueError(
            f"{where}: field '{field}' is '{value}', expected one of {', '.join(allowed)}"
        )
    return value


def parse_kpi(entry: dict[str, Any], path: Path, index: int) -> Kpi:
    where = f"{path}: KPI '{entry.get('id', f'#{index + 1}')}'"
    _require(entry, where)
    target = entry["target"]
    if not isinstance(target, dict) or "value" not in target:
        raise CatalogueError(f"{where}: field 'target' needs a 'value'")
    try:
        target_value = float(target["value"])
        tolerance = float(target.get("at_risk_tolerance", 0.1))
    except (TypeError, ValueError) as err:
        raise CatalogueError(f"{where}: field 'target' must hold numbers ({err})") from err
    if not 0 <= tolerance < 1:
        raise CatalogueError(f"{where}: field 'target.at_risk_tolerance' must be in [0, 1)")
    return Kpi(
        id=str(entry["id"]),
        name=str(entry["name"]),
        family=_choice(entry["family"], FAMILIES, where, "family"),
        description=str(entry["description"]),
        objective=str(entry["objective"]),
        unit=str(entry["unit"]),
        direction=_choice(entry["direction"], DIRECTIONS, where, "direction"),
        dimensions=tuple(entry.get("dimensions") or ()),
        owner=str(entry["owner"]),
        review_cadence=_choice(entry["review_cadence"], CADENCES, where, "review_cadence"),
        target=Target(target_value, tolerance),
    )


def load_catalogue(path: Path) -> dict[str, Kpi]:
    """The KPIs of `path` by id, in file order; raises CatalogueError on the first problem."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError as err:
        raise CatalogueError(f"{path}: KPI catalogue not found (set KPI_CATALOGUE)") from err
    except yaml.YAMLError as err:
        raise CatalogueError(f"{path}: not valid YAML ({err})") from err
    entries = (document or {}).get("kpis")
    if not entries:
        raise CatalogueError(f"{path}: no 'kpis' list")
    kpis: dict[str, Kpi] = {}
    for index, entry in enumerate(entries):
        kpi = parse_kpi(entry, path, index)
        if kpi.id in kpis:
            raise CatalogueError(f"{path}: KPI '{kpi.id}' is defined twice")
        kpis[kpi.id] = kpi
    return kpis
