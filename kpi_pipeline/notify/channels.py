"""Send a message: email over SMTP (smtplib) or a Slack-compatible webhook (JSON `text`)."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from kpi_pipeline.notify.settings import Audience, SmtpSettings


class NotificationError(RuntimeError):
    """A message could not be delivered; the text names the channel, never a secret."""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str | None = None
    attachments: dict[str, bytes] = field(default_factory=dict)  # file name -> content


def sender_domain(sender: str) -> str:
    """The domain of the sender's address (`kpi@example.com` -> `example.com`): the
    Message-ID's right-hand side, so it never names this machine."""
    domain = parseaddr(sender)[1].rpartition("@")[2].strip()
    return domain or "localhost"


def email_message(smtp: SmtpSettings, to: tuple[str, ...], message: Message) -> EmailMessage:
    """The email of `message`: the text, the HTML as its alternative (shown inline), the
    attachments; `Date` (UTC) and a `Message-ID` on the sender's domain, which mail servers
    and clients expect."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender_domain(smtp.sender))
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    for name, content in message.attachments.items():
        if name.endswith(".html"):  # the file's bytes, said to be UTF-8 ("·", "↑" shown right)
            mail.add_attachment(
                content,
                maintype="text",
                subtype="html",
                filename=name,
                params={"charset": "utf-8"},
            )
        else:
            mail.add_attachment(
                content, maintype="application", subtype="octet-stream", filename=name
            )
    return mail


def send_email(smtp: SmtpSettings, to: tuple[str, ...], message: Message) -> None:
    mail = email_message(smtp, to, message)
    try:
        if smtp.ssl:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as err:
        raise NotificationError(
            f"email to {', '.join(to)} via {smtp.host}:{smtp.port} failed: {err} "
            "(check KPI_SMTP_HOST, KPI_SMTP_PORT, KPI_SMTP_USER, KPI_SMTP_PASSWORD)"
        ) from err


def post_webhook(url: str, message: Message, timeout: float = 20) -> None:
    """Slack-compatible incoming webhook: POST {"text": ...} as JSON."""
    body = json.dumps({"text": f"*{message.subject}*\n{message.text}"}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    host = urllib.parse.urlsplit(url).netloc  # the path of a Slack webhook is its secret
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status >= 300:
                raise NotificationError(f"webhook at {host} answered HTTP {response.status}")
    except (OSError, urllib.error.URLError) as err:
        raise NotificationError(f"webhook at {host} failed: {err}") from err


def deliver(audience: Audience, smtp: SmtpSettings | None, message: Message) -> list[str]:
    """Send to every configured channel of the audience; returns what was used. Raises
    NotificationError after trying every channel if any failed."""
    used, errors = [], []
    if audience.emails:
        if smtp is None:
            errors.append("email recipients are set but KPI_SMTP_HOST is not")
        else:
            try:
                send_email(smtp, audience.emails, message)
                used.append(f"email to {', '.join(audience.emails)}")
            except NotificationError as err:
                errors.append(str(err))
    if audience.webhook_url:
        try:
            post_webhook(audience.webhook_url, message, smtp.timeout if smtp else 20)
            used.append(f"webhook {urllib.parse.urlsplit(audience.webhook_url).netloc}")
        except NotificationError as err:
            errors.append(str(err))
    if errors:
        raise NotificationError("; ".join(errors))
    return used
