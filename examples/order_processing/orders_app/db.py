"""The orders database: one SQLite file in WAL mode, shared by every function process.

Several processes write at once (a Node function reserving stock while a Python one prints
a label), so every connection waits on a lock for up to ``BUSY_TIMEOUT_MS`` and every
write is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken up front, so two
writers never deadlock upgrading read locks.
"""

from __future__ import annotations

import datetime
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orders_app.config import settings
from orders_app.errors import DatabaseBusy

BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS = "NORMAL"
SCHEMA = Path(__file__).with_name("schema.sql")

_connections: dict[tuple[int, Path], sqlite3.Connection] = {}
_lock = threading.Lock()


def connect(path: Path | None = None) -> sqlite3.Connection:
    """The connection to the database (created with its schema and seed when missing).

    One connection per thread and file is kept, as a warm Lambda process keeps its own.
    """
    db_path = path or settings().db_path
    key = (threading.get_ident(), db_path)
    with _lock:
        conn = _connections.get(key)
    if conn is not None and db_path.exists():
        return conn
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    with busy_as_error():
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit is no
        # longer an fsync (about 4 ms here, most of a function's time) and the database
        # stays consistent after any crash; only a power loss may undo the last commits.
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA.read_text(encoding="utf-8"))
    with _lock:
        _connections[key] = conn
    return conn


@contextmanager
def busy_as_error() -> Iterator[None]:
    """Turn SQLite's 'database is locked' into ``DatabaseBusy``, which the machine retries."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseBusy(f"The orders database is busy: {exc}") from None
        raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, holding the write lock from its start."""
    with busy_as_error():
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds, as the Node functions write it."""
    stamp = datetime.datetime.now(datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def close_all() -> None:
    """Close every kept connection (tests call it between databases)."""
    with _lock:
        kept = list(_connections.values())
        _connections.clear()
    for conn in kept:
        conn.close()
