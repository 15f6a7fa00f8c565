"""What every SQL store shares below its methods: transactions, named queries, migrations.

A dialect (``SqliteStore``, ``PostgresStore``) says how to get a connection, how its
driver spells parameters and which of its errors mean what; everything above that (the
queries of ``queries/common.sql`` and the store's methods) is written once, in
``sql.SqlStore``.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from stepfn.store import sqlfile
from stepfn.store.base import Store, StoreDamaged, StoreError
from stepfn.store.sql_rows import params as row_params
from stepfn.store.sql_rows import record, rows

R = TypeVar("R")


class SqlCore(Store):
    """The transactions and query helpers of a SQL store, for a dialect to complete."""

    #: The dialect's name: the queries and migrations it reads (``sqlfile.DIALECTS``).
    dialect: ClassVar[str]
    #: The statement that opens a write transaction.
    begin_write: ClassVar[str] = "BEGIN"
    #: The LIMIT that means "no limit".
    no_limit: ClassVar[int | None] = None

    def __init__(self) -> None:
        self._q = {name: self.translate(sql) for name, sql in sqlfile.queries(self.dialect).items()}
        self._filled = functools.lru_cache(maxsize=512)(self._fill)
        # Why the store is unusable, once it found itself damaged.
        self._damage: str | None = None

    def health(self) -> str | None:
        """None while the store is usable; otherwise why it is not."""
        return self._damage

    def _damaged(self, reason: str) -> StoreDamaged:
        """Mark the store unusable (writes are refused from now on); the error to raise."""
        if self._damage is None:
            self._damage = reason
        return StoreDamaged(reason)

    # what a dialect provides --------------------------------------------------------------

    @abc.abstractmethod
    def _connection(self) -> contextlib.AbstractContextManager[Any]:
        """A DB-API connection for one transaction (or one read), outside any
        transaction, held by the caller alone until the context ends."""

    @abc.abstractmethod
    def _store_error(self, exc: BaseException) -> StoreError | None:
        """The store error for a driver's error, None for anything else."""

    @abc.abstractmethod
    def _is_integrity_error(self, exc: BaseException) -> bool:
        """Whether an error is a constraint violation (a row that collides)."""

    @classmethod
    def translate(cls, sql: str) -> str:
        """A query of the files (``:name`` and ``?`` parameters) as the driver takes it."""
        return sql

    def _many(self, conn: Any, sql: str, params: Sequence[Any]) -> None:
        """Run one statement for each of many parameter rows."""
        conn.executemany(sql, params)

    # transactions ---------------------------------------------------------------------------

    def _write(self) -> contextlib.AbstractContextManager[Any]:
        """One write transaction; rolled back, with nothing changed, on any error.

        Refused once the store found itself damaged: writing into a malformed file
        spreads the damage."""
        if self._damage is not None:
            raise StoreDamaged(f"{self._damage}; the store refuses writes")
        # A plain object rather than a generator, as ``_read``: every step writes.
        return _Writing(self)

    def _read(self) -> contextlib.AbstractContextManager[Any]:
        """A connection for reading: each statement sees one consistent snapshot."""
        # A plain object rather than a generator: most of the store's calls are reads.
        return _Reading(self)

    @staticmethod
    def _rollback(conn: Any) -> None:
        """End a failed transaction, if the failure left one open."""
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")

    def _fill(self, name: str, filters: str) -> str:
        """A query whose ``{filters}`` placeholder takes fixed conditions, translated."""
        raw = sqlfile.queries(self.dialect)[name]
        return self.translate(raw.replace("{filters}", filters))

    def _fragment(self, name: str) -> str:
        """A condition fragment of the query files (untranslated, for ``_fill``)."""
        return sqlfile.fragment(sqlfile.queries(self.dialect)[name])

    def _one(
        self, query: str, params: dict[str, Any], table: str, make: Callable[..., R]
    ) -> R | None:
        """The record of the row a query reads (``make`` of its fields), or None."""
        with self._read() as conn:
            found = rows(conn.execute(self._q[query], params))
        return make(**record(found[0], table)) if found else None

    def _all(
        self, query: str, params: dict[str, Any], table: str, make: Callable[..., R]
    ) -> list[R]:
        """The records of the rows a query reads, in its order."""
        with self._read() as conn:
            found = rows(conn.execute(self._q[query], params))
        return [make(**record(row, table)) for row in found]

    def _insert(self, query: str, row: Any, table: str) -> None:
        with self._write() as conn:
            conn.execute(self._q[query], row_params(row, table))

    def _update(self, query: str, params: dict[str, Any], what: str) -> None:
        with self._write() as conn:
            if conn.execute(self._q[query], params).rowcount == 0:
                key = params.get("arn") or params.get("token") or params.get("name")
                raise StoreError(f"no {what} {key}")


def migrate(conn: Any, dialect: type[SqlCore]) -> list[int]:
    """Bring a database's schema up to date; returns the versions applied now.

    ``conn`` is a connection outside any transaction (autocommit), ``dialect`` the store
    class whose migrations and statements apply. Each migration runs in its own
    transaction together with its row in ``schema_migrations``, so a failure leaves the
    database at the previous version. Whether a migration is still due is checked again
    inside the transaction, under the dialect's migration lock: two processes opening a
    new database at once apply each migration once. A database migrated by a newer
    stepfn is refused rather than used with a schema this code does not know.
    """
    known = sqlfile.migrations(dialect.dialect)
    q = {name: dialect.translate(sql) for name, sql in sqlfile.queries(dialect.dialect).items()}

    def transaction(body: Callable[[], None]) -> None:
        conn.execute(dialect.begin_write)
        try:
            conn.execute(q["migration_lock"]).fetchall()
            body()
            conn.execute("COMMIT")
        except BaseException:
            dialect._rollback(conn)
            raise

    transaction(lambda: conn.execute(q["create_schema_migrations"]))
    done = {version for (version,) in conn.execute(q["applied_migrations"])}
    if done and max(done) > len(known):
        raise StoreError(
            f"the database is at schema version {max(done)}, newer than this stepfn knows "
            f"({len(known)}): upgrade stepfn to open it"
        )
    applied: list[int] = []
    for migration in known:
        if migration.version in done:
            continue

        def apply(migration: sqlfile.Migration = migration) -> None:
            again = conn.execute(q["migration_applied"], (migration.version,)).fetchone()
            if again is not None:
                return
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(q["record_migration"], (migration.version, migration.name, time.time()))
            applied.append(migration.version)

        transaction(apply)
    return applied


class _Writing:
    """``SqlCore._write``: a connection in a transaction, committed at the end of the
    ``with`` block, rolled back on any error (the driver's as a store error)."""

    __slots__ = ("conn", "held", "store")

    def __init__(self, store: SqlCore) -> None:
        self.store = store
        self.held = store._connection()

    def __enter__(self) -> Any:
        conn = self.conn = self.held.__enter__()
        try:
            conn.execute(self.store.begin_write)
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return conn

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            try:
                self.conn.execute("COMMIT")
            except BaseException as failed:
                exc = failed
            else:
                self.held.__exit__(None, None, None)
                return
        try:
            self.store._rollback(self.conn)
        finally:
            # The connection is told of the failure (a pool checks what it gets back).
            self.held.__exit__(type(exc), exc, exc.__traceback__)
        error = self.store._store_error(exc)
        if error is not None:
            raise error from exc
        if kind is None:
            raise exc  # the COMMIT's own error: nothing else will raise it


class _Reading:
    """``SqlCore._read``: a connection, and the driver's errors as store errors."""

    __slots__ = ("held", "store")

    def __init__(self, store: SqlCore) -> None:
        self.store = store
        self.held = store._connection()

    def __enter__(self) -> Any:
        return self.held.__enter__()

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool | None:
        if exc is None:
            self.held.__exit__(None, None, None)
            return None
        suppressed = self.held.__exit__(kind, exc, tb)
        if suppressed:
            return True
        error = self.store._store_error(exc)
        if error is not None:
            raise error from exc
        return None
