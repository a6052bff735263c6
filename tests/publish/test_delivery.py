"""Messages really arrive: a local SMTP server (aiosmtpd) and a local webhook endpoint."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from pathlib import Path

import polars as pl
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.notify.channels import Message, NotificationError, deliver
from kpi_pipeline.notify.messages import failure_message, report_message
from kpi_pipeline.notify.settings import Audience, NotifySettings
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.ports import free_port

DAY = dt.date(2025, 3, 3)


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    return {
        "KPI_SMTP_HOST": "127.0.0.1",
        "KPI_SMTP_PORT": str(port),
        "KPI_SMTP_FROM": "kpi@example.invalid",
        **extra,
    }


def snapshot() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kpi_id": ["net_revenue", "nps"],
            "dimension": ["all", "all"],
            "value": [120.0, None],
            "target": [8000.0, 30.0],
            "status": ["off_track", "no_data"],
        }
    )


def test_settings_come_from_the_environment_only() -> None:
    settings = NotifySettings.from_env(
        smtp_env(2525, KPI_SMTP_USER="u", KPI_SMTP_PASSWORD="p", KPI_REPORT_EMAIL_TO="a@x, b@x")
    )
    assert settings.smtp.port == 2525 and settings.smtp.user == "u"
    assert not settings.smtp.starttls  # only port 587 defaults to STARTTLS
    assert settings.stakeholders.emails == ("a@x", "b@x")
    assert not settings.engineers.configured
    assert NotifySettings.from_env({}).smtp is None


def test_the_report_arrives_by_email_with_the_html_attached(mailbox) -> None:
    settings = NotifySettings.from_env(smtp_env(mailbox.port, KPI_REPORT_EMAIL_TO="ceo@x.invalid"))
    html = b"<!DOCTYPE html><html><body><p>report</p></body></html>"
    message = report_message(
        DAY,
        2,
        snapshot(),
        load_catalogue(KPI_CATALOGUE_PATH),
        html,
        None,
        "USD",
        ["raw/hubspot_contacts:gx_raw_hubspot_contacts"],
    )
    used = deliver(settings.stakeholders, settings.smtp, message)
    assert used == ["email to ceo@x.invalid"]
    assert len(mailbox.received) == 1
    sender, recipients, mail = mailbox.received[0]
    assert (sender, recipients) == ("kpi@example.invalid", ["ceo@x.invalid"])
    assert mail["Subject"] == "KPIs of 2025-03-03 (v2) (with warnings)"
    text = mail.get_body(("plain",)).get_content()
    assert "Net revenue: 120.00 USD (target 8,000.00 USD, off track)" in text
    assert "Net Promoter Score: - (target 30.0, no data)" in text
    assert "hubspot_contacts" in text
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["kpis-2025-03-03-v2.html"]
    assert attachments[0].get_content().encode() == html


def test_a_slack_compatible_webhook_receives_json_text(webhook) -> None:
    audience = Audience(emails=(), webhook_url=webhook.url)
    used = deliver(audience, None, Message(subject="KPIs of 2025-03-03 (v1)", text="- a\n- b"))
    assert used == [f"webhook {webhook.url.split('/')[2]}"]
    assert webhook.received == [
        {
            "path": "/services/T000/B000/secret",
            "json": {"text": "*KPIs of 2025-03-03 (v1)*\n- a\n- b"},
        }
    ]


def test_a_failed_delivery_names_the_server_not_the_secret() -> None:
    closed = free_port()
    audience = Audience(
        emails=("a@x.invalid",), webhook_url=f"http://127.0.0.1:{closed}/hooks/SECRET"
    )
    settings = NotifySettings.from_env(smtp_env(closed))
    with pytest.raises(NotificationError) as error:
        deliver(audience, settings.smtp, Message(subject="s", text="t"))
    assert f"127.0.0.1:{closed}" in str(error.value)
    assert "SECRET" not in str(error.value)


def test_email_recipients_without_an_smtp_host_is_an_error() -> None:
    with pytest.raises(NotificationError, match="KPI_SMTP_HOST"):
        deliver(Audience(("a@x.invalid",), None), None, Message(subject="s", text="t"))


def test_the_failure_notice_lists_checks_rows_and_the_report(webhook) -> None:
    summary = {
        "run_id": "r1",
        "job": "daily_kpis",
        "partitions": "2025-03-05",
        "failed_checks": [
            {
                "asset": "raw/nps_responses",
                "check": "gx_raw_nps_responses",
                "description": "expect_column_values_to_be_between(score): 1 failing row(s)",
            }
        ],
        "failed_steps": [],
    }
    message = failure_message(summary, Path("/data/failures/r1/failure.json"))
    deliver(Audience((), webhook.url), None, message)
    text = webhook.received[0]["json"]["text"]
    assert "KPI run failed: 2025-03-05" in text
    assert "raw/nps_responses:gx_raw_nps_responses" in text
    assert "/data/failures/r1/failure.json" in text


def published_report(root: Path) -> tuple[pl.DataFrame, bytes, int]:
    """A real snapshot version with its real report, published under `root` as the publish
    asset does: its frame, the report's bytes as published and its version."""
    from kpi_pipeline.publish.report import ReportContext, render_report
    from kpi_pipeline.publish.snapshot import REPORT, publish_snapshot, snapshot_frame
    from tests.publish.test_report import facts, history
    from tests.status_oracle import day_attainment

    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    frame = snapshot_frame(facts(), catalogue, day_attainment(facts(), catalogue))

    def report(version: int, changes: dict | None) -> dict[str, bytes]:
        ctx = ReportContext(DAY, version, "2025-03-04T06:00:00+00:00", "run-1", "USD", [])
        return {REPORT: render_report(ctx, frame, history(), catalogue)}

    outcome = publish_snapshot(root, DAY, frame, {"run_id": "run-1"}, report)
    return frame, (outcome.folder / REPORT).read_bytes(), outcome.version


def decoded_parts(mail) -> str:
    """Every header and every part's decoded content (base64 or quoted-printable undone)."""
    texts = [f"{name}: {value}" for name, value in mail.items()]
    for part in mail.walk():
        texts += [f"{name}: {value}" for name, value in part.items()]
        if not part.is_multipart():
            content = part.get_content()
            texts.append(content.decode() if isinstance(content, bytes) else content)
    return "\n".join(texts)


@pytest.mark.parametrize("base_url", [None, "https://kpis.example.com/snapshots/"])
def test_the_report_email_is_dated_identified_inline_attached_and_names_no_local_path(
    mailbox, tmp_path: Path, base_url: str | None
) -> None:
    snapshots = tmp_path / "snapshots"
    frame, report_html, version = published_report(snapshots)
    env = smtp_env(
        mailbox.port, KPI_REPORT_EMAIL_TO="ceo@x.invalid", KPI_SMTP_FROM="KPIs <kpi@corp.example>"
    )
    if base_url:
        env["KPI_REPORT_BASE_URL"] = base_url
    settings = NotifySettings.from_env(env)
    message = report_message(
        DAY,
        version,
        frame,
        load_catalogue(KPI_CATALOGUE_PATH),
        report_html,
        settings.report_url(DAY, version),
        "USD",
        [],
    )
    deliver(settings.stakeholders, settings.smtp, message)

    (_, _, mail) = mailbox.received[0]
    # RFC 5322 date in UTC ("-0000": formatdate(localtime=False)), the time it was sent
    assert mail["Date"].endswith(" -0000")
    date = email.utils.parsedate_to_datetime(mail["Date"]).replace(tzinfo=dt.UTC)
    assert abs(dt.datetime.now(dt.UTC) - date) < dt.timedelta(minutes=5)
    assert re.fullmatch(r"<[^<>@\s]+@corp\.example>", mail["Message-ID"])
    # the report inline (the HTML alternative of the text) and attached, as published
    inline = mail.get_body(("html",)).get_content()
    assert '<article class="kpi" data-kpi="net_revenue"' in inline
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["kpis-2025-03-03-v1.html"]
    assert attachments[0].get_content().encode() == report_html
    text = mail.get_body(("plain",)).get_content()
    link = "https://kpis.example.com/snapshots/2025-03-03/v1/report.html"
    if base_url:
        assert f"Report: {link}" in text
        assert f'<a href="{link}">' in inline
    else:
        assert "Report:" not in text and "http" not in text
        assert "<a " not in inline
        assert inline.replace("\r\n", "\n").strip() == report_html.decode().strip()
    # no path of the machine that published it, anywhere: raw or decoded
    raw = mail.as_string()
    everything = raw + decoded_parts(mail)
    for local in (str(snapshots), str(tmp_path), "/tmp", "file://"):
        assert local not in everything, local
    assert "/snapshots/2025-03-03" not in everything.replace(link, "")


def test_the_webhook_text_names_no_local_path(webhook, tmp_path: Path) -> None:
    frame, report_html, version = published_report(tmp_path / "snapshots")
    settings = NotifySettings.from_env({"KPI_REPORT_WEBHOOK_URL": webhook.url})
    message = report_message(
        DAY,
        version,
        frame,
        load_catalogue(KPI_CATALOGUE_PATH),
        report_html,
        settings.report_url(DAY, version),
        "USD",
        [],
    )
    deliver(settings.stakeholders, None, message)
    text = webhook.received[0]["json"]["text"]
    assert "Net revenue: 7,500.00 USD (target 8,000.00 USD, at risk)" in text
    assert str(tmp_path) not in text and "/tmp" not in text and "Report:" not in text


def test_a_kpi_without_a_value_is_given_with_its_latest_one_in_the_message() -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    html = b"<!DOCTYPE html><html><body><p>report</p></body></html>"
    latest = {"nps": (DAY - dt.timedelta(days=2), 45.0)}
    text = report_message(DAY, 1, snapshot(), catalogue, html, None, "USD", [], latest=latest).text
    lines = text.splitlines()
    at = lines.index("- Net Promoter Score: - (target 30.0, no data)")
    assert lines[at + 1] == "  No value on 3 March 2025; the latest: 45.0 on 1 March 2025"
    # nothing known before: said so, never 0
    text = report_message(DAY, 1, snapshot(), catalogue, html, None, "USD", []).text
    assert "  No value on 3 March 2025, nor in the 90 days before" in text.splitlines()
    assert "Net revenue: 120.00 USD" in text  # a KPI with a value gets no such line
    assert text.count("No value on") == 1
