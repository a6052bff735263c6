"""Where notifications go: read from the environment only (credentials never live in files)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _addresses(text: str | None) -> tuple[str, ...]:
    return tuple(a.strip() for a in (text or "").split(",") if a.strip())


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool
    ssl: bool
    timeout: float


@dataclass(frozen=True)
class Audience:
    """One group of recipients: email addresses and/or a Slack-compatible webhook."""

    emails: tuple[str, ...]
    webhook_url: str | None

    @property
    def configured(self) -> bool:
        return bool(self.emails or self.webhook_url)


@dataclass(frozen=True)
class NotifySettings:
    smtp: SmtpSettings | None
    stakeholders: Audience
    engineers: Audience

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> NotifySettings:
        env = os.environ if environ is None else environ
        host = env.get("KPI_SMTP_HOST")
        port = int(env.get("KPI_SMTP_PORT", "587"))
        smtp = (
            SmtpSettings(
                host=host,
                port=port,
                user=env.get("KPI_SMTP_USER") or None,
                password=env.get("KPI_SMTP_PASSWORD") or None,
                sender=env.get("KPI_SMTP_FROM", "kpi-pipeline@localhost"),
                starttls=env.get("KPI_SMTP_STARTTLS", "true" if port == 587 else "false")
                .lower()
                .startswith(("1", "t", "y")),
                ssl=env.get("KPI_SMTP_SSL", "true" if port == 465 else "false")
                .lower()
                .startswith(("1", "t", "y")),
                timeout=float(env.get("KPI_NOTIFY_TIMEOUT", "20")),
            )
            if host
            else None
        )
        return cls(
            smtp=smtp,
            stakeholders=Audience(
                _addresses(env.get("KPI_REPORT_EMAIL_TO")), env.get("KPI_REPORT_WEBHOOK_URL")
            ),
            engineers=Audience(
                _addresses(env.get("KPI_ALERT_EMAIL_TO")), env.get("KPI_ALERT_WEBHOOK_URL")
            ),
        )
