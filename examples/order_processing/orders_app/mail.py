"""Sending the application's email: over SMTP when a server is configured, else to a Maildir.

With ``SMTP_HOST`` unset the message is delivered to ``<data dir>/maildir`` (Python's
``mailbox.Maildir``), so the system works out of the box and a person can read what was
sent with any mail reader. A server that refuses or drops the connection raises
``MailServerUnavailable``, which the state machine retries with backoff.
"""

from __future__ import annotations

import contextlib
import copy
import mailbox
import smtplib
import threading
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.utils import formatdate, make_msgid

from orders_app.config import Settings
from orders_app.errors import MailServerUnavailable

SMTP_TIMEOUT_SECONDS = 10
MAX_LINE = 998  # characters in a line of a message, at most (RFC 5322)


@dataclass(frozen=True)
class Delivery:
    """Where a message went: its Message-ID and ``smtp://host:port`` or ``maildir:PATH``."""

    message_id: str
    via: str


# UTF-8 bodies as EmailMessage declares them: 7bit when the text is ASCII in lines SMTP
# carries as they are (a charset without a body encoding), else quoted-printable.
_UTF8_7BIT = copy.copy(Charset("utf-8"))
_UTF8_7BIT.body_encoding = None
_UTF8_QP = copy.copy(Charset("utf-8"))
_UTF8_QP.body_encoding = QP


def compose(config: Settings, to: str, subject: str, body: str) -> Message:
    """A plain-text message from the application's sender, with a fresh Message-ID.

    The usual message (ASCII addresses, a subject on one line) is built with the email
    package's compat32 API: the same headers and body as ``EmailMessage`` writes, for a
    tenth of its cost (``EmailMessage`` parses every header it is given through its
    header registry, most of a confirmation's CPU time). Anything else (an address that
    needs SMTPUTF8, a line break in a header, which ``EmailMessage`` refuses) goes
    through ``EmailMessage`` as before."""
    if not (_plain(config.mail_from) and _plain(to) and _plain(subject, ascii_only=False)):
        return _compose_email_message(config, to, subject, body)
    message = Message()
    message["From"] = config.mail_from
    message["To"] = to
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=config.mail_from.rpartition("@")[2] or None)
    message["MIME-Version"] = "1.0"
    seven_bit = body.isascii() and max(map(len, body.splitlines() or [""])) <= MAX_LINE
    message.set_payload(body, _UTF8_7BIT if seven_bit else _UTF8_QP)
    return message


def _plain(value: str, *, ascii_only: bool = True) -> bool:
    """Whether a header value is on one line (and ASCII, when asked)."""
    return "\r" not in value and "\n" not in value and (value.isascii() or not ascii_only)


def _compose_email_message(config: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=config.mail_from.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send(config: Settings, message: Message) -> Delivery:
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
        _deliver(config.smtp_host, config.smtp_port, message)
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


# One SMTP connection per thread and server, kept open between invocations as a warm
# Lambda process keeps its clients: a message then costs MAIL, RCPT and DATA, not also
# a connect, EHLO and QUIT (half of its round trips).
_kept = threading.local()


def _deliver(host: str, port: int, message: Message) -> None:
    """Send over the kept connection to ``host:port``; a kept connection the server has
    closed meanwhile is replaced once (a new connection's failure is the caller's)."""
    connections: dict[tuple[str, int], smtplib.SMTP] = _kept.__dict__.setdefault("smtp", {})
    key = (host, port)
    smtp = connections.pop(key, None)
    if smtp is not None:
        try:
            smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            _close(smtp)
            if isinstance(exc, smtplib.SMTPResponseException):
                raise  # the server answered: the connection was fine
        else:
            connections[key] = smtp
            return
    smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        smtp.send_message(message)
    except BaseException:
        _close(smtp)
        raise
    connections[key] = smtp


def _close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
