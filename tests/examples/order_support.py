"""Test helpers for the Order Processing System: its functions (from ``run_local``), a real
SMTP server (aiosmtpd), and reads of its database."""

from __future__ import annotations

import socket
import sqlite3
import sys
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[2] / "examples" / "order_processing"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from run_local import (  # noqa: E402
    NodeFunctionError,
    all_functions,
    call,
    ensure_node_modules,
    node_as_python,
)

__all__ = ["NodeFunctionError", "all_functions", "call", "ensure_node_modules", "node_as_python"]


def free_port() -> int:
    """A TCP port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """What a test SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)  # the client's address, per message

    def to(self, address: str) -> list[Message]:
        """The messages whose envelope named ``address``."""
        return [
            m for m, rcpts in zip(self.messages, self.recipients, strict=True) if address in rcpts
        ]


class _Collect:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.inbox.messages.append(message_from_bytes(envelope.original_content))
        self.inbox.recipients.append(list(envelope.rcpt_tos))
        self.inbox.peers.append(session.peer)
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free port, with a name of its own to check."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = free_port()
        self.name = f"orders-test-{uuid.uuid4().hex[:8]}.invalid"
        self.controller = Controller(
            _Collect(self.inbox), hostname="127.0.0.1", port=self.port, server_hostname=self.name
        )

    def start(self) -> None:
        """Start it and check that the server answering the port is this one."""
        import smtplib

        self.controller.start()
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            code, banner = smtp.ehlo()
        if code != 250 or self.name not in banner.decode():
            self.controller.stop()
            raise RuntimeError(f"another server answers port {self.port}: {banner!r}")

    def stop(self) -> None:
        """Stop it (its port is refused from then on); again, nothing more."""
        if self.controller.loop.is_running():
            self.controller.stop()


def query(data_dir: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    """Rows from the app's database, read on a connection of the test's own."""
    conn = sqlite3.connect(data_dir / "orders.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
