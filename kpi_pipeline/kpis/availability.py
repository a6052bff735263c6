"""Which KPIs a deployment can compute: those whose every metric is measured from a
declared source. The others are left out of the facts and the snapshots, and `kpi list`
says which source each one lacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kpi_pipeline.deployment import Deployment
from kpi_pipeline.kpis.catalogue import Kpi, Metric, kpi_sources, load_catalogue_with_metrics


@dataclass(frozen=True)
class Availability:
    available: tuple[str, ...]  # KPI ids, in catalogue order
    missing: dict[str, tuple[str, ...]]  # KPI id -> the sources (or groups) it lacks

    def reason(self, kpi_id: str) -> str | None:
        lacks = self.missing.get(kpi_id)
        return f"needs {' and '.join(lacks)}, not declared in this deployment" if lacks else None


def availability(
    kpis: dict[str, Kpi], metrics: dict[str, Metric], deployment: Deployment
) -> Availability:
    missing = {k.id: tuple(deployment.missing(kpi_sources(k, metrics))) for k in kpis.values()}
    return Availability(
        tuple(k for k, lacks in missing.items() if not lacks),
        {k: lacks for k, lacks in missing.items() if lacks},
    )


def deployment_availability(catalogue_path: Path, deployment: Deployment) -> Availability:
    metrics, kpis = load_catalogue_with_metrics(catalogue_path)
    return availability(kpis, metrics, deployment)
