"""Fixtures for the Order Processing System: a fresh data directory, a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from order_support import SmtpServer, ensure_node_modules


@pytest.fixture(scope="session")
def node_modules() -> None:
    """The Node functions' dependencies (better-sqlite3), installed once with ``npm ci``."""
    ensure_node_modules()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data directory for the app (database, Maildir, error log); no SMTP server."""
    from orders_app import db

    directory = tmp_path / "orders-data"
    monkeypatch.setenv("ORDERS_DATA_DIR", str(directory))
    for name in ("ORDERS_DB", "SMTP_HOST", "SMTP_PORT", "SUPPORT_EMAIL", "ORDERS_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    db.connect()  # the schema and the catalogue's seed, as the first function would make them
    yield directory
    db.close_all()


@pytest.fixture
def smtp(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server the app is configured to send through."""
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(server.port))
    try:
        yield server
    finally:
        server.stop()
