"""Which landing-zone sources a deployment has, and so which KPIs it can compute.

A team declares its sources in `deployment.yml` (next to `kpis.yml`) or in `KPI_SOURCES`
(comma-separated, e.g. `KPI_SOURCES=ga4,salesforce`, which wins over the file). Only
declared sources are ingested, checked and required; a KPI needing a source that is not
declared is left out of the facts and the snapshots (`kpi list` says why). The default,
`all`, is every source with the CRM and the ad spend each coming from any of its exports
(the sample data and the demo).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

SOURCES = ("ga4", "hubspot", "salesforce", "ads", "social", "nps", "orders")
# a metric may need "any CRM": either one delivers leads and deals
GROUPS: Mapping[str, tuple[str, ...]] = {"crm": ("hubspot", "salesforce")}
ALL = "all"
# With `all`, only these must deliver every day (as before sources were declared); a day
# without the others' files warns, and their KPIs have no value that day.
ALWAYS_REQUIRED = ("ga4", "orders", "ads")
# sources the pipeline can fetch itself from the tool's API (kpi_pipeline/pull/)
PULLABLE = ("hubspot", "salesforce")


class DeploymentError(ValueError):
    """The deployment file or KPI_SOURCES names something unknown; the message says what."""


@dataclass(frozen=True)
class Deployment:
    """The declared sources; `everything` for the default (no source required alone)."""

    sources: frozenset[str]
    everything: bool = False
    origin: str = "default"  # where the declaration came from, for messages
    # sources fetched from their API by the pull assets (`pull:` / KPI_PULL); none by default
    pulled: frozenset[str] = frozenset()

    def has(self, requirement: str) -> bool:
        """A metric's requirement (a source, or a group such as `crm`) is declared."""
        return bool(self.sources & set(GROUPS.get(requirement, (requirement,))))

    def missing(self, requirements: Iterable[str]) -> list[str]:
        return [r for r in requirements if not self.has(r)]

    def required(self, source: str) -> bool:
        """A declared source must deliver every day (with `all`, the CRM and ad exports are
        each optional: the groups' checks require one of them)."""
        return source in self.sources and not (
            self.everything and any(source in members for members in GROUPS.values())
        )


def parse_sources(text: str | list | None, origin: str) -> Deployment:
    """`all`, a comma-separated text or a list of source names."""
    if text is None or text == ALL or text == [ALL]:
        return Deployment(frozenset(SOURCES), everything=True, origin=origin)
    names = text.split(",") if isinstance(text, str) else [str(n) for n in text]
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        found = "unknown source " + ", ".join(repr(n) for n in unknown) if unknown else "no source"
        raise DeploymentError(f"{origin}: {found}; the sources are {', '.join(SOURCES)} (or 'all')")
    return Deployment(frozenset(names), everything=False, origin=origin)


def parse_pulled(text: str | list | None, origin: str, deployment: Deployment) -> Deployment:
    """The deployment with the sources it pulls from their APIs (`hubspot`, `salesforce`);
    each must be a declared source."""
    if text is None or text == "" or text == []:
        return deployment
    names = text.split(",") if isinstance(text, str) else [str(n) for n in text]
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in PULLABLE]
    if unknown:
        raise DeploymentError(
            f"{origin}: cannot pull {', '.join(repr(n) for n in unknown)}; the sources that "
            f"can be pulled are {', '.join(PULLABLE)}"
        )
    undeclared = [n for n in names if n not in deployment.sources]
    if undeclared:
        raise DeploymentError(
            f"{origin}: {', '.join(undeclared)} is pulled but not a source of this deployment "
            f"({deployment.origin}); add it to the sources"
        )
    return replace(deployment, pulled=frozenset(names))


def load_deployment(path: Path, environ: Mapping[str, str] | None = None) -> Deployment:
    """`KPI_SOURCES` if set, else the `sources:` of the deployment file, else all; the
    pulled sources from `KPI_PULL` if set, else the file's `pull:`, else none."""
    env = os.environ if environ is None else environ
    document: dict = {}
    if path.exists():
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise DeploymentError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(document, dict):
            raise DeploymentError(f"{path}: expected a mapping with 'sources'")
    if env.get("KPI_SOURCES"):
        deployment = parse_sources(env["KPI_SOURCES"], "KPI_SOURCES")
    elif path.exists():
        deployment = parse_sources(document.get("sources"), f"{path}: field 'sources'")
    else:
        deployment = parse_sources(None, "default")
    if env.get("KPI_PULL"):
        return parse_pulled(env["KPI_PULL"], "KPI_PULL", deployment)
    return parse_pulled(document.get("pull"), f"{path}: field 'pull'", deployment)
