"""Where notifications go: read from the environment only (credentials never live in files)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


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


WEBHOOK_SCHEMES = ("https://", "http://")


def owner_contacts(text: str | None) -> tuple[dict[str, Audience], tuple[str, ...]]:
    """`KPI_OWNER_CONTACTS`: comma-separated `owner=contact` entries, a contact being an email
    address or a Slack-compatible webhook URL; an owner may be named in several entries (one
    webhook each). Returns the audience of each owner and what could not be read (named by
    owner and position, never by value: a webhook's path is its secret)."""
    emails: dict[str, list[str]] = {}
    webhooks: dict[str, str] = {}
    problems: list[str] = []
    for position, entry in enumerate((text or "").split(","), start=1):
        if not entry.strip():
            continue
        owner, _, contact = (part.strip() for part in entry.partition("="))
        if not owner or not contact:
            problems.append(
                f"KPI_OWNER_CONTACTS entry {position} is not owner=contact "
                "(e.g. growth-team=growth@example.com)"
            )
        elif contact.lower().startswith(WEBHOOK_SCHEMES):
            if owner in webhooks:
                problems.append(
                    f"KPI_OWNER_CONTACTS entry {position}: owner {owner!r} already has a "
                    "webhook; only the first is used"
                )
            else:
                webhooks[owner] = contact
        elif "@" in contact:
            emails.setdefault(owner, []).append(contact)
        else:
            problems.append(
                f"KPI_OWNER_CONTACTS entry {position}: the contact of owner {owner!r} is "
                "neither an email address nor an http(s) webhook URL"
            )
    audiences = {
        owner: Audience(tuple(emails.get(owner, ())), webhooks.get(owner))
        for owner in sorted(set(emails) | set(webhooks))
    }
    return audiences, tuple(problems)


@dataclass(frozen=True)
class NotifySettings:
    smtp: SmtpSettings | None
    stakeholders: Audience
    engineers: Audience
    # where published reports are served: a link `<base>/<day>/v<N>/report.html` in messages
    report_base_url: str | None = None
    # KPI owners (the catalogue's `owner`) -> where their off-track alerts go
    owners: Mapping[str, Audience] = field(default_factory=dict)
    owner_problems: tuple[str, ...] = ()

    def report_url(self, day: dt.date, version: int) -> str | None:
        """The published report's address, or None when no base URL is configured (a local
        path would mean nothing to a recipient)."""
        if not self.report_base_url:
            return None
        return f"{self.report_base_url.rstrip('/')}/{day.isoformat()}/v{version}/report.html"

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
        owners, owner_problems = owner_contacts(env.get("KPI_OWNER_CONTACTS"))
        return cls(
            smtp=smtp,
            stakeholders=Audience(
                _addresses(env.get("KPI_REPORT_EMAIL_TO")), env.get("KPI_REPORT_WEBHOOK_URL")
            ),
            engineers=Audience(
                _addresses(env.get("KPI_ALERT_EMAIL_TO")), env.get("KPI_ALERT_WEBHOOK_URL")
            ),
            report_base_url=env.get("KPI_REPORT_BASE_URL", "").strip() or None,
            owners=owners,
            owner_problems=owner_problems,
        )
