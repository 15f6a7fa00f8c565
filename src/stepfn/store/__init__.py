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
    ExecutionRecord,
    InboxMessage,
    StateMachineRecord,
    StepCommit,
    Store,
    StoreDamaged,
    StoredEvent,
    StoreError,
    TaskRecord,
    TimerRecord,
    VersionRecord,
)
from stepfn.store.memory import MemoryStore
from stepfn.store.sqlite import SqliteStore

__all__ = [
    "ActivityRecord",
    "AliasRecord",
    "ChildStep",
    "Conflict",
    "ExecutionRecord",
    "InboxMessage",
    "MemoryStore",
    "SqliteStore",
    "StateMachineRecord",
    "StepCommit",
    "Store",
    "StoreDamaged",
    "StoreError",
    "StoredEvent",
    "TaskRecord",
    "TimerRecord",
    "VersionRecord",
    "open_store",
]

_SQLITE_PREFIX = "sqlite://"


def open_store(url: str) -> Store:
    """Open the store a URL names.

    - ``memory://``: a ``MemoryStore`` (nothing is kept after the process ends);
    - ``:memory:``, ``sqlite://`` or ``sqlite:///:memory:``: a SQLite database in memory;
    - ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a plain file
      path: a SQLite database file, created when missing;
    - ``postgresql://...``: not yet; ``StoreError`` says so.

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
            raise StoreError(
                "PostgreSQL stores arrive in a later release of stepfn; "
                "use a SQLite file (a path, or sqlite:///path) for now"
            )
        raise StoreError(
            f"no store for {scheme!r} URLs: use a file path, sqlite:///path or memory://"
        )
    if url == ":memory:":
        return SqliteStore(":memory:")
    if not url:
        raise StoreError("an empty store URL: use a file path, sqlite:///path or memory://")
    return SqliteStore(Path(url).expanduser())
