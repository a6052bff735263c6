"""KPI owners hear once that a KPI turned off track: the decision (pure), the wording, the
record in `publish.kpi_alerts`, and real delivery through a local SMTP server."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.notify.alerts import (
    PROJECTED_OFF_TRACK,
    TURNED_OFF_TRACK,
    Alert,
    KpiStatus,
    alert_kind,
    decide_alerts,
)
from kpi_pipeline.notify.messages import alert_sentence
from kpi_pipeline.notify.owner_alerts import (
    ALERTS_TABLE,
    FAILED,
    NO_CONTACT,
    SENT,
    alert_owners,
    previous_snapshot,
)
from kpi_pipeline.notify.settings import NotifySettings, owner_contacts
from kpi_pipeline.publish.snapshot import KPIS_PARQUET, move_latest
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.ports import free_port

DAY = dt.date(2026, 3, 3)
BEFORE = DAY - dt.timedelta(days=1)
AFTER = DAY + dt.timedelta(days=1)
OWNERS = {"net_revenue": "finance", "session_conversion_rate": "growth-team"}
LOG = logging.getLogger("tests.owner_alerts")


def statuses(**by_kpi: str) -> dict[str, KpiStatus]:
    return {k: KpiStatus(k, 6100.0, 8000.0, s) for k, s in by_kpi.items()}


def decide(today: dict, previous: dict, sent=(), contacts=("finance", "growth-team")):
    return decide_alerts(DAY, today, BEFORE, previous, OWNERS, set(contacts), set(sent))


# --- the decision -----------------------------------------------------------------------


def test_a_kpi_that_turns_off_track_alerts_its_owner() -> None:
    decision = decide(statuses(net_revenue="off_track"), statuses(net_revenue="on_track"))
    assert [(a.kpi_id, a.owner, a.kind) for a in decision.due] == [
        ("net_revenue", "finance", TURNED_OFF_TRACK)
    ]
    assert decision.no_contact == []
    # at risk, no data, or no published day before: it still turned off track
    assert decide(statuses(net_revenue="off_track"), statuses(net_revenue="at_risk")).due
    assert decide(statuses(net_revenue="off_track"), statuses(net_revenue="no_data")).due
    assert decide(statuses(net_revenue="off_track"), {}).due


def test_a_kpi_that_stays_off_track_or_is_not_off_track_alerts_nobody() -> None:
    assert decide(statuses(net_revenue="off_track"), statuses(net_revenue="off_track")).due == []
    for status in ("on_track", "at_risk", "no_data", "no_target"):
        decision = decide(statuses(net_revenue=status), statuses(net_revenue="on_track"))
        assert decision.due == decision.no_contact == []


def test_an_alert_already_sent_for_the_day_is_not_sent_again() -> None:
    today = statuses(net_revenue="off_track", session_conversion_rate="off_track")
    decision = decide(today, {}, sent={("net_revenue", TURNED_OFF_TRACK)})
    assert [a.kpi_id for a in decision.due] == ["session_conversion_rate"]


def test_an_owner_without_a_contact_gets_nothing_and_it_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    decision = decide(statuses(net_revenue="off_track"), {}, contacts=("growth-team",))
    assert decision.due == []
    assert [a.owner for a in decision.no_contact] == ["finance"]

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        results = run_alerts(
            con,
            DAY,
            frame(net_revenue="off_track"),
            None,
            {"KPI_OWNER_CONTACTS": "growth-team=growth@example.invalid"},
        )
    assert [(r.alert.kpi_id, r.outcome) for r in results] == [("net_revenue", NO_CONTACT)]
    assert "owner 'finance' has no contact in KPI_OWNER_CONTACTS" in caplog.text
    assert recorded(con) == [(DAY, "net_revenue", TURNED_OFF_TRACK, "finance", NO_CONTACT)]


def test_the_projection_hook_alerts_only_when_given_a_projected_off_track() -> None:
    assert alert_kind("on_track", "on_track") is None
    assert alert_kind("on_track", "on_track", projected_status=None) is None
    assert alert_kind("at_risk", "on_track", projected_status="off_track") == PROJECTED_OFF_TRACK
    assert alert_kind("at_risk", "on_track", "off_track", "off_track") is None
    assert alert_kind("off_track", "on_track", projected_status="off_track") == TURNED_OFF_TRACK


def test_the_alert_says_it_in_plain_words() -> None:
    kpi = load_catalogue(KPI_CATALOGUE_PATH)["net_revenue"]

    def sentence(previous_day: dt.date | None, previous_status: str | None) -> str:
        alert = Alert(
            DAY, kpi.id, "finance", TURNED_OFF_TRACK, 6100.0, 8000.0, "off_track",
            previous_day, previous_status,
        )  # fmt: skip
        return alert_sentence(alert, kpi, "USD")

    assert sentence(BEFORE, "on_track") == (
        "Net revenue is off track on 2026-03-03: 6,100.00 USD against a target of "
        "8,000.00 USD (on track the day before)."
    )
    assert sentence(dt.date(2026, 2, 27), "at_risk").endswith("(at risk on 2026-02-27).")
    assert sentence(None, None).endswith("(the first day published).")


def test_owner_contacts_from_the_environment() -> None:
    secret = "https://hooks.example.com/services/T0/B0/SECRET"
    owners, problems = owner_contacts(
        f"growth-team=growth@example.com, finance={secret},finance=cfo@example.com,"
        "sales-team=nobody, =x@example.com"
    )
    assert owners["growth-team"].emails == ("growth@example.com",)
    assert owners["finance"].emails == ("cfo@example.com",)
    assert owners["finance"].webhook_url == secret
    assert "sales-team" not in owners
    assert len(problems) == 2 and "'sales-team'" in problems[0]
    assert "SECRET" not in " ".join(problems)
    assert NotifySettings.from_env({}).owners == {}


# --- delivery and the record --------------------------------------------------------------


def frame(**by_kpi: str) -> pl.DataFrame:
    values = {"off_track": 6100.0, "on_track": 8200.0, "at_risk": 7500.0}
    return pl.DataFrame(
        {
            "kpi_id": list(by_kpi),
            "dimension": ["all"] * len(by_kpi),
            "value": [values.get(s, 6100.0) for s in by_kpi.values()],
            "target": [8000.0] * len(by_kpi),
            "status": list(by_kpi.values()),
        }
    )


def run_alerts(con, day, today, previous, env, base_url: str | None = None):
    notify = NotifySettings.from_env(
        {**env, **({"KPI_REPORT_BASE_URL": base_url} if base_url else {})}
    )
    return alert_owners(
        con,
        day,
        today,
        previous,
        load_catalogue(KPI_CATALOGUE_PATH),
        notify,
        "USD",
        notify.report_url(day, 1),
        LOG,
    )


def recorded(con) -> list[tuple]:
    return con.execute(
        f"select day, kpi_id, kind, owner, outcome from {ALERTS_TABLE} order by day, kpi_id"
    ).fetchall()


def smtp_env(port: int) -> dict[str, str]:
    return {
        "KPI_SMTP_HOST": "127.0.0.1",
        "KPI_SMTP_PORT": str(port),
        "KPI_SMTP_FROM": "kpi@example.invalid",
        "KPI_OWNER_CONTACTS": "finance=cfo@example.invalid,growth-team=growth@example.invalid",
    }


def test_the_owner_is_alerted_once_on_the_day_and_not_again(mailbox, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    env = smtp_env(mailbox.port)
    day_before = (BEFORE, frame(net_revenue="on_track", session_conversion_rate="off_track"))
    today = frame(net_revenue="off_track", session_conversion_rate="off_track")

    results = run_alerts(con, DAY, today, day_before, env, "https://kpis.example.com/s")
    # net revenue turned off track; the conversion rate was already off track the day before
    assert [(r.alert.kpi_id, r.outcome) for r in results] == [("net_revenue", SENT)]
    assert len(mailbox.received) == 1
    _, recipients, mail = mailbox.received[0]
    assert recipients == ["cfo@example.invalid"]
    assert mail["Subject"] == "Net revenue is off track on 2026-03-03"
    assert mail["Date"] and mail["Message-ID"].endswith("@example.invalid>")
    text = mail.get_body(("plain",)).get_content()
    assert (
        "Net revenue is off track on 2026-03-03: 6,100.00 USD against a target of "
        "8,000.00 USD (on track the day before)." in text
    )
    assert "Report: https://kpis.example.com/s/2026-03-03/v1/report.html" in text
    assert str(tmp_path) not in mail.as_string()

    # a rerun of the day, and a new version of it (other numbers, still off track): nothing
    assert run_alerts(con, DAY, today, day_before, env) == []
    restated = today.with_columns(pl.col("value") * 0.9)
    assert run_alerts(con, DAY, restated, day_before, env) == []
    # the next day, still off track: nothing
    assert run_alerts(con, AFTER, restated, (DAY, restated), env) == []
    assert len(mailbox.received) == 1
    assert recorded(con) == [(DAY, "net_revenue", TURNED_OFF_TRACK, "finance", SENT)]


def test_a_failed_alert_is_logged_recorded_and_sent_by_the_next_run_of_the_day(
    mailbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    today = frame(net_revenue="off_track")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        failed = run_alerts(con, DAY, today, None, smtp_env(free_port()))  # nobody listens
    assert [r.outcome for r in failed] == [FAILED]  # and no exception: the run goes on
    assert "alert to finance about 2026-03-03 not sent" in caplog.text
    assert recorded(con) == [(DAY, "net_revenue", TURNED_OFF_TRACK, "finance", FAILED)]

    sent = run_alerts(con, DAY, today, None, smtp_env(mailbox.port))
    assert [r.outcome for r in sent] == [SENT] and len(mailbox.received) == 1
    assert recorded(con) == [(DAY, "net_revenue", TURNED_OFF_TRACK, "finance", SENT)]
    assert run_alerts(con, DAY, today, None, smtp_env(mailbox.port)) == []


def test_an_owner_with_a_webhook_gets_one_message_for_all_its_kpis(webhook, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    env = {"KPI_OWNER_CONTACTS": f"growth-team={webhook.url}"}
    today = frame(session_conversion_rate="off_track", user_conversion_rate="off_track")
    results = run_alerts(con, DAY, today, None, env)
    assert [r.outcome for r in results] == [SENT, SENT]
    assert len(webhook.received) == 1
    text = webhook.received[0]["json"]["text"]
    assert "2 KPIs of growth-team are off track on 2026-03-03" in text
    assert "Session conversion rate is off track" in text
    assert "User conversion rate is off track" in text
    assert "(the first day published)" in text


def test_the_previous_published_day_is_the_latest_version_of_the_last_day_before(
    tmp_path: Path,
) -> None:
    root = tmp_path / "snapshots"
    for day, versions in ((dt.date(2026, 2, 27), 1), (dt.date(2026, 3, 1), 2), (DAY, 1)):
        for version in range(1, versions + 1):
            folder = root / day.isoformat() / f"v{version}"
            folder.mkdir(parents=True)
            frame(net_revenue="on_track" if version == 1 else "at_risk").write_parquet(
                folder / KPIS_PARQUET
            )
        move_latest(root / day.isoformat(), versions)
    (root / "2026-03-02").mkdir()  # a day never published (no `latest`)
    previous_day, previous = previous_snapshot(root, DAY)
    assert previous_day == dt.date(2026, 3, 1)
    assert previous["status"].to_list() == ["at_risk"]
    assert previous_snapshot(root, dt.date(2026, 2, 27)) is None
    assert previous_snapshot(tmp_path / "nothing", DAY) is None


def test_the_alert_record_works_on_postgresql(postgres_url: str) -> None:
    from kpi_pipeline.warehouse import connect
    from tests.conftest import fresh_database

    with fresh_database(postgres_url) as url, connect(url) as con:
        env = {"KPI_OWNER_CONTACTS": ""}  # nobody to send to: decided, recorded, not sent
        today = frame(net_revenue="off_track")
        assert [r.outcome for r in run_alerts(con, DAY, today, None, env)] == [NO_CONTACT]
        assert [r.outcome for r in run_alerts(con, DAY, today, None, env)] == [NO_CONTACT]
        assert recorded(con) == [(DAY, "net_revenue", TURNED_OFF_TRACK, "finance", NO_CONTACT)]


@pytest.mark.e2e
def test_the_publish_asset_alerts_owners_once_and_mails_no_local_path(
    deployment, mailbox, monkeypatch
) -> None:
    from tests.test_hand_worked_kpis import DAY1, DAY2, write_day1, write_day2

    monkeypatch.setenv("KPI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KPI_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("KPI_SMTP_FROM", "kpi@example.invalid")
    monkeypatch.setenv("KPI_REPORT_EMAIL_TO", "stakeholders@example.invalid")
    monkeypatch.setenv("KPI_OWNER_CONTACTS", "finance=cfo@example.invalid")

    def to(address: str) -> list:
        return [mail for _, rcpt, mail in mailbox.received if rcpt == [address]]

    write_day1(deployment.landing)
    assert deployment.run(DAY1).success
    # the first day published: finance's two KPIs off track, in one message
    [alert] = to("cfo@example.invalid")
    assert alert["Subject"] == f"2 KPIs of finance are off track on {DAY1}"
    assert alert.get_body(("plain",)).get_content().splitlines()[:2] == [
        f"Average order value is off track on {DAY1}: 60.00 USD against a target of "
        "70.00 USD (the first day published).",
        f"Net revenue is off track on {DAY1}: 120.00 USD against a target of "
        "8,000.00 USD (the first day published).",
    ]
    [report] = to("stakeholders@example.invalid")
    assert report["Date"] and report["Message-ID"].endswith("@example.invalid>")
    for mail in (alert, report):
        raw = mail.as_string()
        assert str(deployment.root) not in raw and "/tmp" not in raw and "file://" not in raw
        for part in mail.walk():
            if not part.is_multipart():
                content = part.get_content()
                content = content.decode() if isinstance(content, bytes) else content
                assert str(deployment.root) not in content and "file://" not in content

    assert deployment.run(DAY1).success  # the rerun: nobody hears of it again
    write_day2(deployment.landing)
    assert deployment.run(DAY2).success  # still off track the next day: no alert
    assert len(to("cfo@example.invalid")) == 1
    with duckdb.connect(str(deployment.warehouse), read_only=True) as con:
        alerts = recorded(con)
    # other owners have no contact: their alerts are recorded as such, once each
    assert [a for a in alerts if a[3] == "finance"] == [
        (DAY1, kpi_id, TURNED_OFF_TRACK, "finance", SENT)
        for kpi_id in ("average_order_value", "net_revenue")
    ]
    assert {a[4] for a in alerts if a[3] != "finance"} == {NO_CONTACT}


def test_a_period_newly_projected_off_track_alerts_its_owner_once() -> None:
    """Projections come from the snapshots (fct_kpi_pace): a KPI on track today whose
    period is projected off track, and was not the day before, alerts; the next day, still
    projected off track, does not."""
    from kpi_pipeline.notify.alerts import decide_alerts

    def status(value: float, state: str) -> KpiStatus:
        return KpiStatus("net_revenue", value, 8000.0, state)

    today = {"net_revenue": status(8100.0, "on_track")}
    first = decide_alerts(
        DAY, today, DAY - dt.timedelta(days=1), {"net_revenue": status(8200.0, "on_track")},
        {"net_revenue": "finance"}, {"finance"}, set(),
        {"net_revenue": "off_track"}, {"net_revenue": "at_risk"},
    )  # fmt: skip
    assert [(a.kpi_id, a.kind) for a in first.due] == [("net_revenue", PROJECTED_OFF_TRACK)]
    again = decide_alerts(
        DAY, today, DAY - dt.timedelta(days=1), {"net_revenue": status(8200.0, "on_track")},
        {"net_revenue": "finance"}, {"finance"}, set(),
        {"net_revenue": "off_track"}, {"net_revenue": "off_track"},
    )  # fmt: skip
    assert again.due == [] and again.no_contact == []
