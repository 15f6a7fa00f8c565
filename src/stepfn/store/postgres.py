"""The PostgreSQL store: several stepfn servers on one database.

psycopg 3 with its connection pool (the ``postgres`` extra: ``pip install
'stepfn[postgres]'``). Connections are in autocommit mode and every write is an explicit
``BEGIN ... COMMIT``, exactly as on SQLite, so that ``SqlStore`` drives both alike. A
URL's ``schema`` query parameter (``postgresql://host/db?schema=name``) keeps the store in
that schema, created when missing (tests give each store one of its own).

The schema comes from ``migrations/postgres/``; the statements are those of
``queries/common.sql`` and ``queries/postgres.sql``, their ``:name`` and ``?``
parameters turned into psycopg's ``%(name)s`` and ``%s`` once, when the store opens.

Other servers' work is heard of by LISTEN/NOTIFY (``listen``, ``pg_listener``); the
triggers that send the notifications need PostgreSQL 14 or later.
"""

from __future__ import annotations

import contextlib
import re
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stepfn.store.base import (
    Conflict,
    ExecutionRecord,
    InboxMessage,
    Lease,
    StepCommit,
    StoreDamaged,
    StoreError,
)
from stepfn.store.common import from_json
from stepfn.store.pg_batch import answer_arrays, commit_arrays
from stepfn.store.pg_listener import Listener
from stepfn.store.sql import SqlStore
from stepfn.store.sql_core import migrate
from stepfn.store.sql_leases import _Completion
from stepfn.store.sql_rows import record, rows

# A quoted string (left alone), a comment (dropped: psycopg would read placeholders in
# it), a named parameter, a positional one, or a percent sign (doubled: psycopg reads %
# as the start of a placeholder).
_TOKENS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|(?<!:):([A-Za-z_][A-Za-z0-9_]*)|\?|%")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# The statements that take their rows as arrays (pg_batch.py) take their parameters in
# PostgreSQL's binary format: as text, psycopg quotes and escapes every element of an
# array with a regular expression, which cost a server more CPU than all the rest of
# its statements (a run state or an event's details is JSON, full of quotes).
_BINARY_PARAMETERS = ("commit_steps", "complete_tasks", "renew_held_executions", "renew_held_tasks")
# The inbox of each execution that ``step_reads`` reads, as arrays beside its row.
_INBOX_COLUMNS = ("inbox_ids", "inbox_stimuli", "inbox_created")
_NAMED = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s")


def _placeholder(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("'"):
        return text
    if text.startswith("--"):
        return ""
    if match.group(1) is not None:
        return f"%({match.group(1)})s"
    return "%s" if text == "?" else "%%"


def split_url(url: str) -> tuple[str, str | None]:
    """A store URL as a libpq connection URL and the schema it names (or None).

    Raises:
        StoreError: for a schema name that is not a plain lower-case identifier.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), None)
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise StoreError(
            f"the schema of a PostgreSQL URL is a lower-case identifier, not {schema!r}"
        )
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/database`` (libpq's URL), with an
            optional ``schema`` query parameter.
        min_size: connections the pool keeps open.
        max_size: connections the pool opens at most.
        timeout: seconds to wait for the server (and for a free connection).
    """

    dialect: ClassVar[str] = "postgres"
    shared = True
    begin_write: ClassVar[str] = "BEGIN"
    no_limit: ClassVar[int | None] = None

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 10.0
    ) -> None:
        try:
            import psycopg
            import psycopg_pool
        except ImportError as exc:
            raise StoreError(
                "PostgreSQL stores need psycopg: pip install 'stepfn[postgres]'"
            ) from exc
        super().__init__()
        for name in _BINARY_PARAMETERS:
            self._q[name] = _NAMED.sub(r"%(\1)b", self._q[name])
        self._psycopg = psycopg
        conninfo, self.schema = split_url(url)
        self.url = url
        self._conninfo = conninfo
        self._timeout = timeout
        schema = self.schema
        # The backend pids of the pool's sessions: the notifications they send are this
        # server's own, which it need not hear (see listen). Pruned whenever the pool
        # opens a session (it does when one closed): PostgreSQL gives a dead session's pid
        # to later ones, and kept here it would drop another server's notes as ours.
        self._own_pids: set[int] = set()
        own_pids = self._own_pids
        # The lease owner that steps what this store's writes queue (see listen), and
        # the owner each session was told, set on a session before its next use.
        self._owner = ""
        self._told: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._told_lock = threading.Lock()

        def configure(conn: Any) -> None:
            own_pids.add(conn.info.backend_pid)
            # Drops only the pids known before the query and not alive in it (the others'
            # sessions are in pg_stat_activity too): a session configured meanwhile stays.
            known = list(own_pids)
            live = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (known,)
            ).fetchall()
            own_pids.difference_update(set(known) - {pid for (pid,) in live})
            if schema is not None:
                name = psycopg.sql.Identifier(schema)
                conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(name))

        try:
            # One connection first: a server that is not there fails here at once, where
            # the pool would retry until its timeout.
            with psycopg.connect(
                conninfo, autocommit=True, connect_timeout=max(1, round(timeout))
            ) as conn:
                if schema is not None:
                    conn.execute(
                        psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                            psycopg.sql.Identifier(schema)
                        )
                    )
            self._pool = psycopg_pool.ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                kwargs={"autocommit": True},
                configure=configure,
                open=False,
            )
            self._pool.open(wait=True, timeout=timeout)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {_safe(conninfo)}: {exc}") from exc
        try:
            with self._pool.connection() as conn:
                self.applied_migrations = migrate(conn, PostgresStore)
        except psycopg.Error as exc:
            self._pool.close()
            raise (self._store_error(exc) or StoreError(str(exc))) from exc
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    def translate(cls, sql: str) -> str:
        """A query of the files with psycopg's placeholders."""
        return _TOKENS.sub(_placeholder, sql)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        with self._pool.connection() as conn:
            owner = self._owner
            with self._told_lock:
                told = self._told.get(conn, "")
            if told != owner:
                conn.execute(self._q["set_session_owner"], (owner,))
                with self._told_lock:
                    self._told[conn] = owner
            yield conn

    def _statement(self, name: str, values: dict[str, Any]) -> list[Any]:
        """Run one write statement of the query files as a transaction of its own (the
        connections are in autocommit mode): no BEGIN and COMMIT to wait for. Its rows."""
        if self._damage is not None:
            raise StoreDamaged(f"{self._damage}; the store refuses writes")
        with self._read() as conn:
            return list(conn.execute(self._q[name], values).fetchall())

    # The hot path in single statements (queries/postgres.sql, pg_batch.py).

    def commit_steps(self, commits: Sequence[StepCommit]) -> list[str]:
        """``SqlStore.commit_steps`` in one statement (``commit_steps`` of the query
        files), unless a commit changes child executions."""
        values = commit_arrays(commits) if commits else None
        if values is None:
            return super().commit_steps(commits)
        committed = {arn for (arn,) in self._statement("commit_steps", values)}
        return [c.execution_arn for c in commits if c.execution_arn not in committed]

    def _complete_tasks(self, batch: list[_Completion]) -> None:
        """The group commit of task answers (``SqlLeases.complete_task``) in one
        statement; should it fail, the answers go in one at a time, each under a
        savepoint, so that one the database cannot take fails alone."""
        values = answer_arrays(
            [item.token for item in batch],
            [item.stimulus for item in batch],
            [item.now for item in batch],
        )
        try:
            found = self._statement("complete_tasks", values)
        except Exception:
            super()._complete_tasks(batch)
            return
        except BaseException as exc:
            for item in batch:
                item.message_id, item.error, item.done = None, exc, True
            raise
        ids = dict(found)
        for n, item in enumerate(batch):
            message_id = ids.get(n)
            item.message_id = None if message_id is None else int(message_id)
            item.done = True

    def step_reads(
        self, arns: Sequence[str], without_inbox: Collection[str] = ()
    ) -> dict[str, tuple[ExecutionRecord | None, list[InboxMessage]]]:
        """``Store.step_reads`` in one query (``step_reads`` of the query files): the
        rows and their inboxes of the whole batch in one round trip, where reading them
        one execution at a time cost two statements each."""
        wanted = list(dict.fromkeys(arns))
        found: dict[str, tuple[ExecutionRecord | None, list[InboxMessage]]] = dict.fromkeys(
            wanted, (None, [])
        )
        if not wanted:
            return found
        values = {"arns": wanted, "without": [a for a in wanted if a in without_inbox]}
        with self._read() as conn:
            read = rows(conn.execute(self._q["step_reads"], values))
        for row in read:
            ids, stimuli, created = (row.pop(k) for k in _INBOX_COLUMNS)
            execution = self._execution(**record(row, "executions"))
            messages = [
                InboxMessage(int(i), execution.arn, from_json(s), c)
                for i, s, c in zip(ids or (), stimuli or (), created or (), strict=True)
            ]
            found[execution.arn] = (execution, messages)
        return found

    def renew_held(
        self, lease: Lease, arns: Sequence[str] = (), tokens: Sequence[str] = ()
    ) -> None:
        """Move on ``lease.owner``'s leases of these executions and tasks: a statement
        each, which skips the rows other transactions are changing (see the query
        files)."""
        owner, expires = lease.owner, lease.expires
        with self._read() as conn:
            if arns:
                values = {"expires": expires, "arns": list(arns), "owner": owner}
                conn.execute(self._q["renew_held_executions"], values)
            if tokens:
                values = {"expires": expires, "tokens": list(tokens), "owner": owner}
                conn.execute(self._q["renew_held_tasks"], values)

    def _many(self, conn: Any, sql: str, params: Sequence[Any]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)

    def _store_error(self, exc: BaseException) -> StoreError | None:
        errors = self._psycopg.errors
        if isinstance(exc, errors.ForeignKeyViolation):
            return StoreError(f"a write refers to a record that does not exist ({exc})")
        if isinstance(exc, self._psycopg.IntegrityError):
            return Conflict(f"a write collides with a stored record ({exc})")
        if isinstance(exc, self._psycopg.Error):
            return StoreError(f"PostgreSQL: {exc}")
        return None

    def _is_integrity_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.IntegrityError)

    def listen(
        self, on_note: Callable[[str], None], owner: str | None = None
    ) -> Callable[[], None]:
        """Hear other sessions' notifications on this store's channel (see
        ``Store.listen``), on a connection of its own. With ``owner``, this store's
        sessions name it, so that its writes notify only where another owner holds the
        execution (``migrations/postgres/0008_notifications.sql``)."""
        self._owner = owner or ""
        with self._read() as conn:
            (channel,) = conn.execute(self._q["notify_channel"]).fetchone()
        listener = Listener(
            self._psycopg,
            self._conninfo,
            str(channel),
            self._own_pids,
            on_note,
            connect_timeout=max(1, round(self._timeout)),
        )
        # Once this returns, every later commit is heard (unless the server is not
        # there: then polling finds the work until the listener gets through).
        listener.listening.wait(self._timeout)

        def stop() -> None:
            self._owner = ""  # its writes are news to everyone again
            listener.close()

        return stop

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()


def _safe(conninfo: str) -> str:
    """A connection URL without its password, for messages."""
    parts = urlsplit(conninfo)
    if parts.password is None:
        return conninfo
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
