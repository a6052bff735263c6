"""What Dagster's UI says about the checks, the freshness and the lineage, read through the
same GraphQL resolvers the webserver serves (an in-process workspace over the deployment's
own Dagster instance).

The asset's check list shows, for a partitioned check, the worst status over its days
(`partitionStatuses`, aggregated as the UI's `getAggregateCheckIconType` does: failed, then
in progress, then skipped, then passed); the check's page shows its latest execution
(`executionForLatestMaterialization`). A multi-day run used to record each check's result
without a partition, so the list said Skipped (Failed after a failed run) while the page
said Passed; `quality/checks.per_partition` records one result per day."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from dagster import AssetKey, AssetSpec, DagsterInstance, Definitions
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import CronFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContextForTest
from dagster._core.test_utils import freeze_time, in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_graphql.test.utils import execute_dagster_graphql

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_TABLE
from kpi_pipeline.orchestration.asset_metadata import QUALITY_TABLE_KEYS
from kpi_pipeline.orchestration.freshness import DEADLINE_GRACE, daily_deadline
from tests.conftest import deploy

D1, D2 = dt.date(2025, 6, 2), dt.date(2025, 6, 3)
FACTS = ["marts", "fct_kpi_daily"]
ORDERS = ["raw", "orders"]
FACTS_CHECKS = {
    "gx_fct_kpi_daily",
    "anomalies_fct_kpi_daily",
    "gx_ad_spend_volume",
}
DEFINITIONS_FILE = """\
from kpi_pipeline.definitions import build_definitions
from kpi_pipeline.settings import Settings

defs = build_definitions(Settings.from_env())
"""
CHECKS = """
query Checks($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization { status evaluation { partition } }
          partitionStatuses {
            __typename
            ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
          }
        }
      }
    }
  }
}"""
GRAPH = """{
  assetNodes {
    assetKey { path }
    groupName
    kinds
    dependencyKeys { path }
    dependedByKeys { path }
    internalFreshnessPolicy {
      __typename
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
    }
  }
}"""
FAILED = {"FAILED", "EXECUTION_FAILED"}


def list_status(check: dict) -> str | None:
    """The status the asset's check list shows (the UI's `getAggregateCheckIconType`):
    the worst over the check's days, or its latest execution's when it has no days."""
    ranges = (check["partitionStatuses"] or {}).get("ranges") or []
    statuses = {r["status"] for r in ranges}
    if not statuses:
        return detail_status(check)
    for status in ("FAILED", "IN_PROGRESS", "SKIPPED", "SUCCEEDED"):
        if status in statuses or (status == "FAILED" and statuses & FAILED):
            return status
    return None


def detail_status(check: dict) -> str | None:
    """The status the check's own page shows: its latest execution's."""
    execution = check["executionForLatestMaterialization"]
    return execution["status"] if execution else None


def verdict(status: str | None) -> str | None:
    return "FAILED" if status in FAILED else status


def day_statuses(check: dict) -> dict[str, str]:
    """Each day's status in the list's source (ranges spread out to days)."""
    days = {}
    for r in check["partitionStatuses"]["ranges"]:
        day = dt.date.fromisoformat(r["startKey"])
        while day <= dt.date.fromisoformat(r["endKey"]):
            days[day.isoformat()] = r["status"]
            day += dt.timedelta(days=1)
    return days


@dataclass
class Workspace:
    deployment: object
    defs: Definitions
    instance: DagsterInstance
    context: object
    snapshots: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        result = execute_dagster_graphql(self.context, query, variables)
        assert not result.errors, result.errors
        return result.data

    def checks(self) -> dict[str, dict[str, dict]]:
        """The checks of the facts and of raw orders, by asset and name."""
        keys = [{"path": FACTS}, {"path": ORDERS}]
        nodes = self.graphql(CHECKS, {"keys": keys})["assetNodes"]
        return {
            "/".join(n["assetKey"]["path"]): {
                c["name"]: c for c in n["assetChecksOrError"]["checks"]
            }
            for n in nodes
        }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A deployment with sample extracts for two days, its Dagster instance (the generated
    dagster.yaml: the event log the UI reads), and the GraphQL context over its definitions."""
    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.sample import generate_sample
    from kpi_pipeline.settings import Settings

    root = tmp_path_factory.mktemp("ui_truth")
    with pytest.MonkeyPatch.context() as patch, ExitStack() as stack:
        patch.setenv("KPI_SCHEDULE_TIME", "06:00")
        patch.setenv("KPI_TIMEZONE", "UTC")
        deployment = deploy(root, patch)
        defs = build_definitions(Settings.from_env())
        generate_sample(D1, D2, deployment.landing, scale=0.02)
        instance = stack.enter_context(DagsterInstance.get())
        definitions = root / "ui_truth_definitions.py"
        definitions.write_text(DEFINITIONS_FILE)
        origin = LoadableTargetOrigin(python_file=str(definitions), attribute="defs")
        context = stack.enter_context(in_process_test_workspace(instance, origin))
        yield Workspace(deployment, defs, instance, context)


@pytest.fixture(scope="module")
def history(workspace: Workspace) -> Workspace:
    """Two days built as one run, blocked by a bad order on the second day; then the same
    two days passing; then the second day alone. The checks as the UI reads them after each."""
    from kpi_pipeline.runner import run_days

    defs = workspace.defs
    orders = workspace.deployment.landing / "orders" / f"dt={D2}" / "orders.csv"
    good = orders.read_text()
    rows = list(csv.DictReader(good.splitlines()))
    assert rows, "the sample has orders on the second day"
    rows[0]["status"] = "bogus"  # not placed, fulfilled or cancelled: an error expectation
    with orders.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    blocked = run_days(defs, D1, D2, instance=workspace.instance)
    assert blocked.blocked_by_gate, blocked.reason()  # the gate holds for the whole run
    assert not workspace.deployment.snapshots.exists() or not any(
        workspace.deployment.snapshots.iterdir()
    )
    orders_failures = [c for c in blocked.failed_checks if c.startswith("raw/orders:")]
    assert orders_failures and all(f"({D2}: " in c for c in orders_failures), orders_failures
    workspace.snapshots["blocked"] = workspace.checks()

    orders.write_text(good)
    passed = run_days(defs, D1, D2, instance=workspace.instance)
    assert passed.success, passed.reason()
    workspace.snapshots["passed"] = workspace.checks()

    again = run_days(defs, D2, D2, instance=workspace.instance)
    assert again.success, again.reason()
    workspace.snapshots["one_day"] = workspace.checks()
    return workspace


@pytest.mark.e2e
def test_after_a_passing_run_every_check_of_the_facts_reads_passed_in_list_and_page(
    history: Workspace,
) -> None:
    for moment in ("passed", "one_day"):
        facts = history.snapshots[moment]["marts/fct_kpi_daily"]
        assert set(facts) >= FACTS_CHECKS  # and the dbt tests
        for name, check in facts.items():
            assert (list_status(check), detail_status(check)) == ("SUCCEEDED", "SUCCEEDED"), (
                moment,
                name,
                check,
            )
        for name in FACTS_CHECKS:  # every day of the run has its own passed result
            assert day_statuses(facts[name]) == {
                D1.isoformat(): "SUCCEEDED",
                D2.isoformat(): "SUCCEEDED",
            }, (moment, name)
            execution = facts[name]["executionForLatestMaterialization"]
            assert execution["evaluation"]["partition"] == D2.isoformat()


@pytest.mark.e2e
def test_a_failed_then_passed_raw_check_reads_passed(history: Workspace) -> None:
    blocked = history.snapshots["blocked"]["raw/orders"]["gx_raw_orders"]
    # the bad order fails its own day only; the list and the page both say failed
    assert day_statuses(blocked) == {D1.isoformat(): "SUCCEEDED", D2.isoformat(): "FAILED"}
    assert (list_status(blocked), detail_status(blocked)) == ("FAILED", "FAILED")
    for moment in ("passed", "one_day"):
        check = history.snapshots[moment]["raw/orders"]["gx_raw_orders"]
        assert (list_status(check), detail_status(check)) == ("SUCCEEDED", "SUCCEEDED"), moment


@pytest.mark.e2e
def test_the_list_and_the_page_agree_after_every_run(history: Workspace) -> None:
    for moment, assets in history.snapshots.items():
        for asset, checks in assets.items():
            for name, check in checks.items():
                assert list_status(check) != "SKIPPED", (moment, asset, name)
                assert verdict(list_status(check)) == verdict(detail_status(check)), (
                    moment,
                    asset,
                    name,
                    check,
                )


def test_the_marts_and_the_snapshot_have_the_daily_deadline(workspace: Workspace) -> None:
    nodes = {"/".join(n["assetKey"]["path"]): n for n in workspace.graphql(GRAPH)["assetNodes"]}
    daily = {k for k in nodes if k.startswith("marts/")} | {"kpi_snapshot"}
    assert {"marts/fct_kpi_daily", "marts/fct_kpi_period", "kpi_snapshot"} <= daily
    for key in daily:  # KPI_SCHEDULE_TIME 06:00 in UTC, plus DEADLINE_GRACE
        assert nodes[key]["internalFreshnessPolicy"] == {
            "__typename": "CronFreshnessPolicy",
            "deadlineCron": "0 9 * * *",
            "lowerBoundDeltaSeconds": 9 * 3600,
            "timezone": "UTC",
        }, key
    for key in set(nodes) - daily:
        assert nodes[key]["internalFreshnessPolicy"] is None, key


def test_no_quality_table_is_drawn_upstream_of_the_transform(workspace: Workspace) -> None:
    nodes = {"/".join(n["assetKey"]["path"]): n for n in workspace.graphql(GRAPH)["assetNodes"]}
    quality = {k.to_user_string() for k in QUALITY_TABLE_KEYS}
    ingest = {f"raw/{e.table}" for e in CSV_EXTRACTS} | {f"raw/{GA4_TABLE}"}
    dbt = {k for k, n in nodes.items() if "dbt" in n["kinds"]}
    assert "marts/fct_kpi_daily" in dbt and "staging/stg_ga4__events" in dbt
    for key in quality:
        # side outputs of ingest: drawn below every ingest asset, above nothing
        assert {"/".join(d["path"]) for d in nodes[key]["dependencyKeys"]} == ingest, key
        assert nodes[key]["dependedByKeys"] == [], key
    for key in dbt:
        assert not {"/".join(d["path"]) for d in nodes[key]["dependencyKeys"]} & quality, key
    # the facts still follow the raw tables, through staging and intermediate models
    assert {"/".join(d["path"]) for d in nodes["staging/stg_ga4__events"]["dependencyKeys"]} == {
        f"raw/{GA4_TABLE}"
    }


KEY = AssetKey(["marts", "fct_kpi_daily"])


def freshness_at(instance: DagsterInstance, now: dt.datetime, defs: Definitions) -> FreshnessState:
    """The asset's freshness as Dagster's freshness daemon evaluates it for the UI."""
    node = defs.resolve_asset_graph().get(KEY)
    with freeze_time(now):
        return asyncio.run(
            CronFreshnessPolicyEvaluator().evaluate_freshness(LoadingContextForTest(instance), node)
        )


def built_at(instance: DagsterInstance, when: dt.datetime) -> None:
    from dagster import AssetMaterialization

    with freeze_time(when):
        instance.report_runless_asset_event(AssetMaterialization(asset_key=KEY))


def test_a_late_day_is_stale_from_the_deadline_on() -> None:
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    policy = daily_deadline("06:30", "Asia/Tokyo")
    defs = Definitions(assets=[AssetSpec(KEY, freshness_policy=policy)])
    assert policy.deadline_cron == "30 9 * * *"  # 06:30 plus DEADLINE_GRACE, in Tokyo
    assert policy.lower_bound_delta == dt.timedelta(hours=6, minutes=30) + DEADLINE_GRACE

    def at(day: int, hour: int, minute: int) -> dt.datetime:
        return dt.datetime(2025, 3, day, hour, minute, tzinfo=tokyo)

    with DagsterInstance.ephemeral() as instance:
        built_at(instance, at(9, 6, 31))  # the schedule built the 8th on the 9th
        assert freshness_at(instance, at(10, 9, 29), defs) == FreshnessState.PASS
        # the 10th's run (building the 9th) has not happened by 09:30: late
        assert freshness_at(instance, at(10, 9, 31), defs) == FreshnessState.FAIL
        built_at(instance, at(10, 10, 5))  # late, but built
        assert freshness_at(instance, at(10, 10, 6), defs) == FreshnessState.PASS
        assert freshness_at(instance, at(11, 9, 29), defs) == FreshnessState.PASS
        # an update late in the evening cannot be the next day's build (its day has not ended)
        built_at(instance, at(11, 23, 50))
        assert freshness_at(instance, at(12, 9, 31), defs) == FreshnessState.FAIL
        built_at(instance, at(12, 0, 5))  # just after midnight: the 11th can be complete
        assert freshness_at(instance, at(12, 9, 31), defs) == FreshnessState.PASS
