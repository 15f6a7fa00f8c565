"""Sending the application's email: over SMTP when a server is configured, else to a Maildir.

With ``SMTP_HOST`` unset the message is delivered to ``<data dir>/maildir`` (Python's
``mailbox.Maildir``), so the system works out of the box and a person can read what was
sent with any mail reader. A server that refuses or drops the connection raises
``MailServerUnavailable``, which the state machine retries with backoff.
"""

from __future__ import annotations

import mailbox
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from orders_app.config import Settings
from orders_app.errors import MailServerUnavailable

SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Delivery:
    """Where a message went: its Message-ID and ``smtp://host:port`` or ``maildir:PATH``."""

    message_id: str
    via: str


def compose(config: Settings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from the application's sender, with a fresh Message-ID."""
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=config.mail_from.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send(config: Settings, message: EmailMessage) -> Delivery:
    """Deliver ``message`` by SMTP or to the Maildir, as the settings say."""
    message_id = str(message["Message-ID"])
    if config.smtp_host is None:
        box = mailbox.Maildir(config.maildir, create=True)
        try:
            box.add(message)
        finally:
            box.close()
        return Delivery(message_id, f"maildir:{config.maildir}")
    where = f"{config.smtp_host}:{config.smtp_port}"
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        # 4xx is "try again later" (greylisting, a full queue); 5xx is a refusal for good.
        if 400 <= exc.smtp_code < 500:
            raise MailServerUnavailable(
                f"The mail server {where} deferred the message: {exc.smtp_code} "
                f"{exc.smtp_error.decode(errors='replace')}"
            ) from None
        raise
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        # SMTPException is an OSError too: the ones left here are lost connections,
        # refusals, timeouts and resets, which all mean the server is away.
        if isinstance(exc, smtplib.SMTPException) and not isinstance(
            exc, smtplib.SMTPServerDisconnected
        ):
            raise
        reason = exc.strerror if exc.strerror else str(exc)
        raise MailServerUnavailable(f"The mail server {where} is unavailable: {reason}") from None
    return Delivery(message_id, f"smtp://{where}")
