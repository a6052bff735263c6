"""The publish asset: after every blocking check passed, each day of the run gets its snapshot
version (with its report), `kpi_snapshots` records it, and stakeholders receive the report."""

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    DagsterEventType,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from kpi_pipeline.explain.movers import day_explanations, why_moved
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.kpis.maturity import lagged, read_maturity
from kpi_pipeline.kpis.pace import pace_by_kpi, read_pace
from kpi_pipeline.notify.channels import NotificationError, deliver
from kpi_pipeline.notify.messages import report_message
from kpi_pipeline.notify.owner_alerts import alert_owners, previous_snapshot
from kpi_pipeline.notify.settings import NotifySettings
from kpi_pipeline.partitions import days_in
from kpi_pipeline.publish.manifest import (
    file_sha256,
    git_commit,
    kpi_definitions,
    raw_row_counts,
    read_ingest_log,
    source_files,
    window_files,
)
from kpi_pipeline.publish.registry import sync_registry, sync_restatements, warning_labels
from kpi_pipeline.publish.report import (
    ReportContext,
    change_sentences,
    latest_before,
    render_report,
)
from kpi_pipeline.publish.snapshot import (
    PUBLISHED,
    REPORT,
    publish_snapshot,
    remove_leftovers,
    restated_days,
    snapshot_frame,
    status_table,
)
from kpi_pipeline.quality.attribution import FAILING_DAYS, applies_to
from kpi_pipeline.quality.checks import FACTS_KEY
from kpi_pipeline.quality.dbt_failures import describe, failed_dbt_tests
from kpi_pipeline.quality.suites import build_data_docs
from kpi_pipeline.settings import Settings
from kpi_pipeline.transform.project import dbt_project
from kpi_pipeline.warehouse import WarehouseResource, query_polars, warehouse_engine

PUBLISH_GROUP = "publish"


class DeliveryError(RuntimeError):
    """The snapshots are published; sending the report to the stakeholders failed."""


HISTORY_DAYS = 400  # a year back for "same day last year", plus the trend


def run_check_results(context: AssetExecutionContext, con=None) -> list[dict[str, Any]]:
    """Every asset check evaluated in this run (GX suites and dbt tests), for the manifest;
    a dbt test that warned is described from the failing rows dbt kept, read through `con`
    (`quality/dbt_failures.py`)."""
    evaluations = [
        entry.dagster_event.event_specific_data
        for entry in context.instance.all_logs(
            context.run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        )
    ]
    failed_tests = failed_dbt_tests(evaluations, con=con) if con is not None else {}
    results = []
    for evaluation in evaluations:
        days = evaluation.metadata.get(FAILING_DAYS)
        results.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "passed": evaluation.passed,
                "severity": evaluation.severity.value,
                "description": describe(evaluation, failed_tests),
                # a check recorded per day (quality/checks.py per_partition): its day
                "partition": getattr(evaluation, "partition", None),
                # the days a failed check is about; None: every day of the run
                FAILING_DAYS: None if days is None or evaluation.passed else days.value,
            }
        )
    return sorted(results, key=lambda r: (r["asset"], r["check"]))


def read_facts(con, day: dt.date) -> pl.DataFrame:
    return query_polars(con, "select * from marts.fct_kpi_daily where kpi_date = ?", [day])


# each day's target and status: the snapshot reads them, never recomputes them
ATTAINMENT_KEY = AssetKey(["marts", "fct_kpi_attainment"])
# each day's period to date and projection, likewise
PACE_KEY = AssetKey(["marts", "fct_kpi_pace"])


def read_attainment(con, day: dt.date) -> dict[str, tuple[float | None, str]]:
    """Each KPI's target and status on `day`, as fct_kpi_attainment holds them."""
    rows = con.execute(
        "select kpi_id, target, status from marts.fct_kpi_attainment "
        "where period_grain = 'day' and period_start = ?",
        [day],
    ).fetchall()
    return {kpi_id: (target, status) for kpi_id, target, status in rows}


def read_history(con, day: dt.date) -> pl.DataFrame:
    return query_polars(
        con,
        "select kpi_id, kpi_date, value from marts.fct_kpi_daily "
        "where dimension = 'all' and kpi_date between ? and ?",
        [day - dt.timedelta(days=HISTORY_DAYS), day],
    )


def compiled_model_sql(settings: Settings, model: str) -> Path:
    """Where the latest dbt run left a model's compiled SQL (under the deployment's target)."""
    found = sorted(settings.dbt_target_dir.glob(f"compiled/*/models/**/{model}.sql"))
    return found[0] if found else settings.dbt_target_dir / "compiled" / f"{model}.sql"


def build_publish_asset(partitions: PartitionsDefinition, settings: Settings) -> AssetsDefinition:
    @asset(
        name="kpi_snapshot",
        group_name=PUBLISH_GROUP,
        deps=[FACTS_KEY, ATTAINMENT_KEY, PACE_KEY],
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            "The day's KPI snapshot for stakeholders: `<snapshots>/<day>/v<N>/` with "
            "kpis.parquet, kpis.csv, manifest.json and report.html, written aside, audited, "
            "renamed into place; `<day>/latest` points at the newest version. Identical data "
            "publishes nothing; changed data a new version. Runs only when every blocking "
            "check upstream passed; then the report goes to the stakeholders."
        ),
        owners=["team:data-engineering"],
        kinds={"parquet", "csv", "html"},
    )
    def _publish(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        catalogue = load_catalogue(settings.kpi_catalogue_path)
        with warehouse.connection() as con:
            checks = run_check_results(context, con)
        build_data_docs(settings.artefacts_dir, run_name=context.run.run_id)  # the gate's results
        warnings = [c for c in checks if not c["passed"]]
        published_at = dt.datetime.now(dt.UTC).isoformat()
        base_manifest = {
            "run_id": context.run.run_id,
            "published_at": published_at,
            "git_commit": git_commit(),
            "dbt_manifest_sha256": file_sha256(dbt_project.manifest_path),
            "timezone": settings.timezone,
            "reporting_currency": settings.reporting_currency,
            # compared with the next version's by the restatement ledger
            "definitions": kpi_definitions(
                settings.kpi_catalogue_path, compiled_model_sql(settings, "fct_kpi_daily")
            ),
        }
        for leftover in remove_leftovers(settings.snapshot_dir):  # of a killed publish
            context.log.warning("removed %s, left by an interrupted publish", leftover)
        outcomes = []
        frames, reports, labels_of, why_of, late_of, latest_of = {}, {}, {}, {}, {}, {}
        with warehouse.connection() as con:
            run_days = days_in(context.partition_keys)
            restated = restated_days(settings.snapshot_dir, run_days, settings.lookback_days)
            # the extract files up to the last day's window, read once for every day's manifest
            through = max(restated + run_days) + dt.timedelta(days=settings.lookback_days)
            log = read_ingest_log(con, through)
            for day in restated + run_days:
                facts = read_facts(con, day)
                if facts.is_empty():
                    raise RuntimeError(
                        f"no KPI facts for {day}: nothing to publish (was the day's data ingested?)"
                    )
                history = read_history(con, day)
                latest_of[day] = latest_before(history, day)
                attainment = read_attainment(con, day)
                frame = snapshot_frame(
                    facts,
                    catalogue,
                    attainment,
                    pace_by_kpi(read_pace(con, day, lagged(catalogue))),
                )
                # a KPI whose data matures late is shown at its latest mature day
                late = late_of[day] = read_maturity(con, day, catalogue)
                moved = why_moved(
                    day,
                    catalogue,
                    day_explanations(con, catalogue, day),
                    {kpi_id: target for kpi_id, (target, _) in attainment.items()},
                )
                # why a provisional day moved is no finding
                why = why_of[day] = {k: v for k, v in moved.items() if k not in late}
                day_checks = [c for c in checks if c["partition"] in (None, day.isoformat())]
                day_warnings = [w for w in warnings if w in day_checks and applies_to(w, day)]
                manifest = {
                    **base_manifest,
                    "warehouse": warehouse_engine(con),
                    "checks": day_checks,
                    "status": "published_with_warnings" if day_warnings else "published",
                    "warnings": day_warnings,
                    "row_counts": {"kpis": frame.height, "raw": raw_row_counts(log, day)},
                    "sources": {
                        **source_files(log, day),
                        "window_files": window_files(log, day, settings.lookback_days),
                    },
                }

                labels = labels_of[day] = warning_labels(manifest)

                def report(
                    version: int,
                    changes: dict | None,
                    day=day,
                    frame=frame,
                    history=history,
                    labels=labels,
                    why=why,
                    late=late,
                    latest=latest_of[day],
                ) -> dict:
                    ctx = ReportContext(
                        day,
                        version,
                        published_at,
                        context.run.run_id,
                        settings.reporting_currency,
                        labels,
                        None if changes is None else changes.get("since_version"),
                        change_sentences(changes, catalogue, settings.reporting_currency),
                        why,
                    )
                    reports[day] = render_report(ctx, frame, history, catalogue, late, latest)
                    return {REPORT: reports[day]}

                outcome = publish_snapshot(settings.snapshot_dir, day, frame, manifest, report)
                sync_registry(con, settings.snapshot_dir, day)
                restated_rows = sync_restatements(con, settings.snapshot_dir, day)
                if restated_rows:
                    context.log.info("%s: %d KPI rows restated", day, restated_rows)
                context.log.info("%s snapshot %s: %s", outcome.outcome, day, outcome.folder)
                outcomes.append(outcome)
                frames[day] = frame
            notify = NotifySettings.from_env()
            # owners hear of the newest day only (a backfill replays no old alerts); a
            # failed alert is logged and recorded, and does not fail the run
            newest = next(o for o in reversed(outcomes) if o.day == max(run_days))
            alerts = alert_owners(
                con,
                newest.day,
                frames[newest.day],
                previous_snapshot(settings.snapshot_dir, newest.day),
                catalogue,
                notify,
                settings.reporting_currency,
                notify.report_url(newest.day, newest.version),
                context.log,
                maturity=late_of[newest.day],
            )
        new = [o for o in outcomes if o.outcome == PUBLISHED]
        delivered: list[str] = []
        if new and notify.stakeholders.configured:
            last = new[-1]
            message = report_message(
                last.day,
                last.version,
                frames[last.day],
                catalogue,
                reports[last.day],
                notify.report_url(last.day, last.version),
                settings.reporting_currency,
                labels_of[last.day],
                [o.day for o in new[:-1]],
                why_of[last.day],
                late_of[last.day],
                latest_of[last.day],
            )
            # a delivery failure fails the run (engineers are notified); the snapshot stays
            try:
                delivered = deliver(notify.stakeholders, notify.smtp, message)
            except NotificationError as err:
                raise DeliveryError(
                    f"the snapshot of {last.day} is published (v{last.version}), but sending "
                    f"its report failed: {err}"
                ) from err
            context.log.info("report of %s sent: %s", last.day, ", ".join(delivered))
        return MaterializeResult(
            metadata={
                "snapshots": MetadataValue.md(
                    "| day | outcome | version | folder | rows | checksum |\n"
                    "|---|---|---|---|---|---|\n"
                    + "\n".join(
                        f"| {o.day} | {o.outcome} | v{o.version} | {o.folder} | {o.rows} "
                        f"| {o.data_checksum[:12]} |"
                        for o in outcomes
                    )
                ),
                "published": MetadataValue.int(len(new)),
                "unchanged": MetadataValue.int(len(outcomes) - len(new)),
                "warnings": MetadataValue.int(len(warnings)),
                "latest_folder": MetadataValue.path(str(outcomes[-1].folder)),
                "report": MetadataValue.path(str(outcomes[-1].folder / REPORT)),
                "delivered": MetadataValue.text(", ".join(delivered) or "nothing sent"),
                "owner_alerts": MetadataValue.text(
                    ", ".join(f"{a.alert.kpi_id} to {a.alert.owner}: {a.outcome}" for a in alerts)
                    or "none due"
                ),
                "kpis": MetadataValue.md(
                    f"KPIs of {outcomes[-1].day}\n\n"
                    + status_table(frames[outcomes[-1].day], catalogue)
                ),
            }
        )

    return _publish
