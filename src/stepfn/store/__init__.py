"""The store: everything the service keeps, behind one interface (see ``base``).

``open_store`` picks the implementation from a URL, so configuration (the CLI's
``--store``, a server setting) is one string.
"""

from __future__ import annotations

from pathlib import Path

from stepfn.store.base import (
    ActivityRecord,
    AliasRecord,
    ChildStep,
    Conflict,
    ExecutionQuery,
    ExecutionRecord,
    ExecutionSummary,
    InboxMessage,
    Lease,
    LogQuery,
    NewStart,
    StateMachineRecord,
    StepCommit,
    Store,
    StoreDamaged,
    StoredEvent,
    StoreError,
    TaskRecord,
    TimerRecord,
    TimerRound,
    VersionRecord,
)
from stepfn.store.memory import MemoryStore
from stepfn.store.sqlite import SqliteStore

__all__ = [
    "ActivityRecord",
    "AliasRecord",
    "ChildStep",
    "Conflict",
    "ExecutionQuery",
    "ExecutionRecord",
    "ExecutionSummary",
    "InboxMessage",
    "Lease",
    "LogQuery",
    "MemoryStore",
    "NewStart",
    "SqliteStore",
    "StateMachineRecord",
    "StepCommit",
    "Store",
    "StoreDamaged",
    "StoreError",
    "StoredEvent",
    "TaskRecord",
    "TimerRecord",
    "TimerRound",
    "VersionRecord",
    "open_store",
]

_SQLITE_PREFIX = "sqlite://"


def open_store(url: str) -> Store:
    """Open the store a URL names.

    - ``memory://``: a ``MemoryStore``, SQLite in memory (nothing is kept after the
      store is closed);
    - ``:memory:``, ``sqlite://`` or ``sqlite:///:memory:``: a SQLite database in memory;
    - ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a plain file
      path: a SQLite database file, created when missing;
    - ``postgresql://...`` (or ``postgres://``): a ``PostgresStore`` (needs the
      ``postgres`` extra); ``?schema=name`` keeps it in a schema of its own.

    Raises:
        StoreError: for a URL scheme stepfn has no store for, or a file it cannot open.
    """
    if url == "memory://":
        return MemoryStore()
    if url.startswith(_SQLITE_PREFIX):
        rest = url[len(_SQLITE_PREFIX) :]
        if rest in ("", "/", "/:memory:"):
            return SqliteStore(":memory:")
        if not rest.startswith("/"):
            raise StoreError(f"a SQLite URL has three slashes before its path: {url!r}")
        return SqliteStore(rest[1:])
    if url.startswith("sqlite:"):
        raise StoreError(f"a SQLite URL is sqlite:///path (three slashes), not {url!r}")
    scheme, sep, _ = url.partition("://")
    if sep:
        if scheme in ("postgresql", "postgres"):
            from stepfn.store.postgres import PostgresStore

            return PostgresStore(url)
        raise StoreError(
            f"no store for {scheme!r} URLs: use a file path, sqlite:///path, memory:// "
            "or postgresql://..."
        )
    if url == ":memory:":
        return SqliteStore(":memory:")
    if not url:
        raise StoreError("an empty store URL: use a file path, sqlite:///path or memory://")
    return SqliteStore(Path(url).expanduser())
