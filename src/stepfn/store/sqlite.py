"""The embedded store: one SQLite file (or ``:memory:``), the default.

One connection serves the whole process, guarded by a lock: the engine's worker,
scheduler and API threads share it, and SQLite allows one writer at a time anyway, so a
pool would only add waiting. Every write is a ``BEGIN IMMEDIATE`` transaction, which takes
the write lock at its start: a transaction that began as a reader and then tried to
write could fail half-way when another process wrote first.

The schema comes from the numbered files in ``migrations/sqlite/``, applied on open; the
statements from ``queries/common.sql`` and ``queries/sqlite.sql``, by name.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import ClassVar

from stepfn.store.base import Conflict, StoreError
from stepfn.store.sql import SqlStore
from stepfn.store.sql_core import migrate as migrate_dialect

# durability -> PRAGMA synchronous. In WAL mode NORMAL syncs at checkpoints rather than at
# every commit: a committed transaction survives the process crashing or being killed,
# which is what the engine promises; only a power loss or OS crash can take back the last
# commits. FULL syncs every commit and survives those too, at a cost in commits/s.
_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}


# Every SQLite database file starts with these 16 bytes.
_HEADER = b"SQLite format 3\x00"
# PRAGMA quick_check reads every page: on opening, only files up to this size are checked
# whole (a fraction of a second); larger ones get the header and schema checks alone.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024
# What SQLite says of a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB.
_DAMAGE_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_DAMAGE_MESSAGES = ("malformed", "file is not a database")


def damage_of(exc: BaseException) -> str | None:
    """SQLite's words when an error says the database file is damaged, else None."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    name = getattr(exc, "sqlite_errorname", "")
    text = str(exc)
    if any(name.startswith(code) for code in _DAMAGE_ERRORS) or any(
        words in text for words in _DAMAGE_MESSAGES
    ):
        return text
    return None


def _error(exc: sqlite3.Error) -> StoreError:
    """The store error for a sqlite3 one: callers outside the store see only ours."""
    if isinstance(exc, sqlite3.IntegrityError):
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_FOREIGNKEY":
            return StoreError(f"a write refers to a record that does not exist ({exc})")
        return Conflict(f"a write collides with a stored record ({exc})")
    return StoreError(f"SQLite: {exc}")


def migrate(connection: sqlite3.Connection) -> list[int]:
    """Bring a SQLite database's schema up to date; returns the versions applied now
    (see ``sql_core.migrate``). The connection must be in autocommit mode."""
    return migrate_dialect(connection, SqliteStore)


class SqliteStore(SqlStore):
    """The store in a SQLite database file (or in memory with ``":memory:"``).

    Args:
        path: the database file, created when missing, or ``":memory:"``.
        durability: ``"normal"`` (survives process crashes; the default) or ``"full"``
            (also survives power loss; slower commits).
        busy_timeout: seconds to wait for another process's write lock before failing.

    ``applied_migrations`` lists the schema versions that opening the database applied
    (empty when it was up to date).
    """

    dialect: ClassVar[str] = "sqlite"
    begin_write: ClassVar[str] = "BEGIN IMMEDIATE"
    # LIMIT -1 is SQLite's "no limit".
    no_limit: ClassVar[int | None] = -1

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        durability: str = "normal",
        busy_timeout: float = 5.0,
    ) -> None:
        if durability not in _SYNCHRONOUS:
            choices = ", ".join(sorted(_SYNCHRONOUS))
            raise ValueError(f"durability must be one of {choices}, not {durability!r}")
        super().__init__()
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        try:
            # isolation_level=None: sqlite3 opens no transactions of its own; this class
            # begins and ends every one itself.
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite database {self.path}: {exc}") from exc
        try:
            self._check_on_open()
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[durability]}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self.applied_migrations = migrate(self._conn)
        except sqlite3.Error as exc:
            self._conn.close()
            raise (self._store_error(exc) or _error(exc)) from exc
        except BaseException:
            self._conn.close()
            raise

    def _connection(self) -> _Held:
        # A plain object rather than a generator: every statement of the store takes
        # this, a dozen times per execution.
        return _Held(self._lock, self._conn)

    def _check_on_open(self) -> None:
        """Refuse a damaged file before using it: its header, its schema, and (for a
        file of moderate size) every page with ``PRAGMA quick_check``."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            return
        try:
            with open(self.path, "rb") as file:
                header = file.read(len(_HEADER))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"cannot read the SQLite database {self.path}: {exc}") from exc
        if header and header != _HEADER:
            raise self._damaged(f"{self.path} is not a SQLite database (its header is wrong)")
        if not header:
            return
        # Reading the schema parses every table's definition; quick_check then reads the
        # pages (bounded by the file's size), which is where garbage in the middle shows.
        self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if os.path.getsize(self.path) <= QUICK_CHECK_MAX_BYTES:
            found = [row[0] for row in self._conn.execute("PRAGMA quick_check(5)")]
            if found != ["ok"]:
                raise self._damaged(
                    f"the SQLite database {self.path} is damaged: {'; '.join(found)}"
                )

    def _store_error(self, exc: BaseException) -> StoreError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        damage = damage_of(exc)
        if damage is not None:
            return self._damaged(f"the SQLite database {self.path} is damaged: {damage}")
        return _error(exc)

    def _is_integrity_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()


class _Held:
    """``with`` the store's one connection, under its lock."""

    __slots__ = ("conn", "lock")

    def __init__(self, lock: threading.Lock, conn: sqlite3.Connection) -> None:
        self.lock = lock
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        return self.conn

    def __exit__(self, *_: object) -> None:
        self.lock.release()
