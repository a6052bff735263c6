"""`kpi pull` against the fake HubSpot API, and the pull assets in the Dagster definitions:
their own group and job, upstream of ingest, outside the daily job."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.exit_codes import ExitCode
from tests.pull.fake_apis import HUBSPOT_TOKEN, FakeHubSpot

DAY = dt.date(2025, 6, 2)


@pytest.fixture
def hubspot(httpserver: HTTPServer, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHubSpot:
    api = FakeHubSpot(httpserver)
    start = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
    for i in range(3):
        api.add_contact(str(10 + i), start + dt.timedelta(hours=i + 1), email=f"p{i}@example.com")
    monkeypatch.setenv("HUBSPOT_API_BASE_URL", api.base_url)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", HUBSPOT_TOKEN)
    return api


def test_kpi_pull_lands_the_day_and_says_what_it_fetched(
    hubspot: FakeHubSpot, cli_env: Path
) -> None:
    result = CliRunner().invoke(app, ["pull", "hubspot", "--date", str(DAY)])
    assert result.exit_code == ExitCode.OK, result.output
    assert "hubspot 2025-06-02: 3 contacts, 0 deals changed from 2025-06-02T00:00:00Z" in (
        " ".join(result.output.split())
    )
    folder = cli_env / "landing" / "hubspot" / "dt=2025-06-02"
    assert len((folder / "contacts.jsonl").read_text().splitlines()) == 3
    cursors = json.loads((cli_env / "pull_cursors.json").read_text())
    assert cursors["hubspot"]["through"] == "2025-06-03T00:00:00+00:00"
    assert HUBSPOT_TOKEN not in result.output


def test_a_refused_token_is_one_plain_error_and_exit_code_2(
    hubspot: FakeHubSpot, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-revoked-token")
    result = CliRunner().invoke(app, ["pull", "hubspot", "--date", str(DAY)])
    assert result.exit_code == ExitCode.ERROR
    said = " ".join(result.output.split())
    assert "error: the HubSpot token was refused: check HUBSPOT_ACCESS_TOKEN" in said
    assert "Traceback" not in result.output and "pat-na1-revoked-token" not in result.output
    assert not (cli_env / "pull_cursors.json").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["pull", "ga4"], "cannot pull 'ga4'"),
        (["pull", "hubspot", "--date", "2999-01-01"], "2999-01-01 has not ended yet"),
        (["pull", "hubspot", "--date", "yesterday"], "--date 'yesterday' is not a date"),
    ],
)
def test_bad_input_is_said_plainly(hubspot: FakeHubSpot, args: list[str], said: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.ERROR
    assert said in " ".join(result.output.split()) and "Traceback" not in result.output


def test_pull_assets_have_their_own_group_job_and_schedule(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import AssetKey

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.settings import Settings

    monkeypatch.setenv("KPI_PULL", "hubspot")
    defs = build_definitions(Settings.from_env())
    graph = defs.resolve_asset_graph()
    pulled = AssetKey(["pull", "hubspot"])
    assert graph.get(pulled).group_name == "pull"
    assert pulled in graph.get(AssetKey(["raw", "hubspot_contacts"])).parent_keys
    assert AssetKey(["pull", "salesforce"]) not in graph.get_all_asset_keys()
    assert set(defs.resolve_job_def("crm_pull").asset_layer.selected_asset_keys) == {pulled}
    assert pulled not in defs.resolve_job_def("daily_kpis").asset_layer.selected_asset_keys
    schedule = defs.resolve_schedule_def("crm_pull_schedule")
    assert schedule.cron_schedule == "0 5 * * *"


def test_pulled_sources_are_declared_and_checked() -> None:
    from kpi_pipeline.deployment import DeploymentError, load_deployment

    none = Path("/nonexistent/deployment.yml")
    assert load_deployment(none, {"KPI_PULL": "salesforce,hubspot"}).pulled == {
        "hubspot",
        "salesforce",
    }
    assert load_deployment(none, {}).pulled == frozenset()
    with pytest.raises(DeploymentError, match="cannot pull 'ga4'"):
        load_deployment(none, {"KPI_PULL": "ga4"})
    with pytest.raises(DeploymentError, match="hubspot is pulled but not a source"):
        load_deployment(none, {"KPI_SOURCES": "ga4,salesforce", "KPI_PULL": "hubspot"})


def test_a_failed_pull_fails_its_asset_with_the_sentence_and_no_token(
    hubspot: FakeHubSpot, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.settings import Settings

    monkeypatch.setenv("KPI_PULL", "hubspot")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-revoked-token")
    defs = build_definitions(Settings.from_env())
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("crm_pull").execute_in_process(
            instance=instance, partition_key=str(DAY), raise_on_error=False
        )
        failures = [e for e in result.all_events if e.is_step_failure]
        logged = " ".join(
            str(r.dagster_event or r.user_message) for r in instance.all_logs(result.run_id)
        )
    assert not result.success and len(failures) == 1
    said = failures[0].step_failure_data.error.message
    assert "the HubSpot token was refused: check HUBSPOT_ACCESS_TOKEN" in said
    assert "pat-na1-revoked-token" not in logged and "pat-na1-revoked-token" not in said
    assert not (cli_env / "pull_cursors.json").exists()
