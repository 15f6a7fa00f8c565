"""The embedded store: one SQLite file (or ``:memory:``), the default.

One connection serves the whole process, guarded by a lock: the engine's worker,
scheduler and API threads share it, and SQLite allows one writer at a time anyway, so a
pool would only add waiting. Every write is a ``BEGIN IMMEDIATE`` transaction, which takes
the write lock at its start: a transaction that began as a reader and then tried to
write could fail half-way when another process wrote first.

The schema comes from the numbered files in ``migrations/``, applied on open; the
statements come from ``queries.sql``, by name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from stepfn.store import sqlfile
from stepfn.store.base import (
    ActivityRecord,
    AliasRecord,
    ChildStep,
    Conflict,
    ExecutionRecord,
    InboxMessage,
    LogEventRecord,
    LogGroupRecord,
    LogStreamRecord,
    StateMachineRecord,
    StepCommit,
    Store,
    StoredEvent,
    StoreError,
    TaskRecord,
    TimerRecord,
    VersionRecord,
)
from stepfn.store.common import (
    EXECUTION_FILTERS,
    commit_time,
    from_json,
    from_json_or_none,
    stream_additions,
    timer_fired,
    to_json,
    to_json_or_none,
)

# durability -> PRAGMA synchronous. In WAL mode NORMAL syncs at checkpoints rather than at
# every commit: a committed transaction survives the process crashing or being killed,
# which is what the engine promises; only a power loss or OS crash can take back the last
# commits. FULL syncs every commit and survives those too, at a cost in commits/s.
_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}

# LIMIT -1 is SQLite's "no limit". Every event id is below _PAST_LAST_ID, which stands for
# "after the newest" when a reverse read starts from the end.
_NO_LIMIT = -1
_PAST_LAST_ID = 2**63 - 1

# The conditions of log_events, by argument: fixed text, only the values are parameters.
# Row values compare (timestamp, id) positions as pagination tokens name them.
_LOG_EVENT_FILTERS = {
    "streams": " AND log_stream_name IN (SELECT value FROM json_each(:streams))",
    "stream_prefix": " AND substr(log_stream_name, 1, length(:stream_prefix)) = :stream_prefix",
    "start": " AND timestamp >= :start",
    "end": " AND timestamp < :end",
    "terms": " AND NOT EXISTS (SELECT 1 FROM json_each(:terms) WHERE instr(message, value) = 0)",
    "after": " AND (timestamp, id) > (:after_timestamp, :after_id)",
    "before": " AND (timestamp, id) < (:before_timestamp, :before_id)",
}

_JSON_COLUMNS = {
    "state_machines": (
        "logging_configuration",
        "tracing_configuration",
        "encryption_configuration",
    ),
    "versions": ("logging_configuration", "tracing_configuration"),
    "aliases": ("routing_configuration",),
}


def _error(exc: sqlite3.Error) -> StoreError:
    """The store error for a sqlite3 one: callers outside the store see only ours."""
    if isinstance(exc, sqlite3.IntegrityError):
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_FOREIGNKEY":
            return StoreError(f"a write refers to a record that does not exist ({exc})")
        return Conflict(f"a write collides with a stored record ({exc})")
    return StoreError(f"SQLite: {exc}")


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """A cursor's rows as dictionaries by column name."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _params(record: Any, table: str) -> dict[str, Any]:
    """A record's fields as query parameters, JSON fields as text."""
    params = dict(vars(record))
    for name in _JSON_COLUMNS.get(table, ()):
        params[name] = to_json(params[name])
    return params


def _record(row: dict[str, Any], table: str) -> dict[str, Any]:
    """A row's columns as record fields, JSON text as values."""
    for name in _JSON_COLUMNS.get(table, ()):
        row[name] = from_json(row[name])
    return row


def migrate(connection: sqlite3.Connection) -> list[int]:
    """Bring a database's schema up to date; returns the versions applied now.

    Each migration runs in its own transaction together with its row in
    ``schema_migrations``, so a failure leaves the database at the previous version.
    Whether a migration is still due is checked again inside the transaction: two
    processes opening a new file at once apply each migration once. A database migrated
    by a newer stepfn is refused rather than used with a schema this code does not know.
    """
    known = sqlfile.migrations()
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)"
    )
    done = {version for (version,) in connection.execute("SELECT version FROM schema_migrations")}
    if done and max(done) > len(known):
        raise StoreError(
            f"the database is at schema version {max(done)}, newer than this stepfn knows "
            f"({len(known)}): upgrade stepfn to open it"
        )
    applied: list[int] = []
    for migration in known:
        if migration.version in done:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            again = connection.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if again is None:
                for statement in migration.statements():
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
                applied.append(migration.version)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return applied


class SqliteStore(Store):
    """The store in a SQLite database file (or in memory with ``":memory:"``).

    Args:
        path: the database file, created when missing, or ``":memory:"``.
        durability: ``"normal"`` (survives process crashes; the default) or ``"full"``
            (also survives power loss; slower commits).
        busy_timeout: seconds to wait for another process's write lock before failing.

    ``applied_migrations`` lists the schema versions that opening the database applied
    (empty when it was up to date).
    """

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
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._new_executions: list[_NewExecution] = []
        self._q = sqlfile.queries()
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
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[durability]}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self.applied_migrations = migrate(self._conn)
        except sqlite3.Error as exc:
            self._conn.close()
            raise _error(exc) from exc
        except BaseException:
            self._conn.close()
            raise

    # transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back, with nothing changed, on any error."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _error(exc) from exc
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reading: each statement sees one consistent snapshot."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _error(exc) from exc

    def _one(self, query: str, params: dict[str, Any], table: str) -> dict[str, Any] | None:
        with self._read() as conn:
            rows = _rows(conn.execute(self._q[query], params))
        return _record(rows[0], table) if rows else None

    def _all(self, query: str, params: dict[str, Any], table: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = _rows(conn.execute(self._q[query], params))
        return [_record(row, table) for row in rows]

    def _update(self, query: str, params: dict[str, Any], what: str) -> None:
        with self._write() as conn:
            if conn.execute(self._q[query], params).rowcount == 0:
                key = params.get("arn") or params.get("token") or params.get("name")
                raise StoreError(f"no {what} {key}")

    # state machines, versions, aliases ----------------------------------------------------

    def insert_state_machine(self, record: StateMachineRecord) -> None:
        """Add a state machine; ``Conflict`` when its ARN exists."""
        params = _params(record, "state_machines")
        with self._write() as conn:
            conn.execute(self._q["insert_state_machine"], params)

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine with this (unqualified) ARN."""
        row = self._one("get_state_machine", {"arn": arn}, "state_machines")
        return None if row is None else StateMachineRecord(**row)

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace a stored state machine; ``StoreError`` when there is none."""
        self._update("update_state_machine", _params(record, "state_machines"), "state machine")

    def delete_state_machine(self, arn: str) -> None:
        """Remove a state machine with its versions, aliases and tags (not executions)."""
        params = {"arn": arn}
        with self._write() as conn:
            # Tags first, while the subqueries can still find the versions and aliases.
            for query in (
                "delete_state_machine_tags",
                "delete_state_machine_aliases",
                "delete_state_machine_versions",
                "delete_state_machine",
            ):
                conn.execute(self._q[query], params)

    def list_state_machines(self) -> list[StateMachineRecord]:
        """All state machines, oldest first."""
        rows = self._all("list_state_machines", {}, "state_machines")
        return [StateMachineRecord(**row) for row in rows]

    def insert_version(self, record: VersionRecord) -> None:
        """Add a version; ``Conflict`` when its ARN (or its number) exists."""
        params = _params(record, "versions")
        with self._write() as conn:
            conn.execute(self._q["insert_version"], params)

    def get_version(self, arn: str) -> VersionRecord | None:
        """The version with this ARN."""
        row = self._one("get_version", {"arn": arn}, "versions")
        return None if row is None else VersionRecord(**row)

    def list_versions(self, state_machine_arn: str) -> list[VersionRecord]:
        """A state machine's versions, newest first."""
        rows = self._all("list_versions", {"state_machine_arn": state_machine_arn}, "versions")
        return [VersionRecord(**row) for row in rows]

    def delete_version(self, arn: str) -> None:
        """Remove a version and its tags."""
        with self._write() as conn:
            conn.execute(self._q["delete_tags"], {"resource_arn": arn})
            conn.execute(self._q["delete_version"], {"arn": arn})

    def insert_alias(self, record: AliasRecord) -> None:
        """Add an alias; ``Conflict`` when its ARN exists."""
        params = _params(record, "aliases")
        with self._write() as conn:
            conn.execute(self._q["insert_alias"], params)

    def get_alias(self, arn: str) -> AliasRecord | None:
        """The alias with this ARN."""
        row = self._one("get_alias", {"arn": arn}, "aliases")
        return None if row is None else AliasRecord(**row)

    def update_alias(self, record: AliasRecord) -> None:
        """Replace a stored alias; ``StoreError`` when there is none."""
        self._update("update_alias", _params(record, "aliases"), "alias")

    def delete_alias(self, arn: str) -> None:
        """Remove an alias and its tags."""
        with self._write() as conn:
            conn.execute(self._q["delete_tags"], {"resource_arn": arn})
            conn.execute(self._q["delete_alias"], {"arn": arn})

    def list_aliases(self, state_machine_arn: str) -> list[AliasRecord]:
        """A state machine's aliases, oldest first."""
        rows = self._all("list_aliases", {"state_machine_arn": state_machine_arn}, "aliases")
        return [AliasRecord(**row) for row in rows]

    # activities and tags ------------------------------------------------------------------

    def insert_activity(self, record: ActivityRecord) -> None:
        """Add an activity; ``Conflict`` when its ARN exists."""
        with self._write() as conn:
            conn.execute(self._q["insert_activity"], _params(record, "activities"))

    def get_activity(self, arn: str) -> ActivityRecord | None:
        """The activity with this ARN."""
        row = self._one("get_activity", {"arn": arn}, "activities")
        return None if row is None else ActivityRecord(**row)

    def delete_activity(self, arn: str) -> None:
        """Remove an activity and its tags."""
        with self._write() as conn:
            conn.execute(self._q["delete_tags"], {"resource_arn": arn})
            conn.execute(self._q["delete_activity"], {"arn": arn})

    def list_activities(self) -> list[ActivityRecord]:
        """All activities, oldest first."""
        return [ActivityRecord(**row) for row in self._all("list_activities", {}, "activities")]

    def get_tags(self, resource_arn: str) -> dict[str, str]:
        """A resource's tags, by key."""
        with self._read() as conn:
            rows = conn.execute(self._q["get_tags"], {"resource_arn": resource_arn}).fetchall()
        return dict(rows)

    def set_tags(self, resource_arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags of a resource."""
        params = [{"resource_arn": resource_arn, "key": k, "value": v} for k, v in tags.items()]
        with self._write() as conn:
            conn.executemany(self._q["set_tag"], params)

    def remove_tags(self, resource_arn: str, keys: Iterable[str]) -> None:
        """Remove tags of a resource (missing keys are ignored)."""
        params = [{"resource_arn": resource_arn, "key": key} for key in keys]
        with self._write() as conn:
            conn.executemany(self._q["remove_tag"], params)

    # executions ---------------------------------------------------------------------------

    def create_execution(
        self,
        record: ExecutionRecord,
        events: Sequence[StoredEvent],
        timers: Sequence[TimerRecord] = (),
        inbox: Sequence[dict[str, Any]] = (),
        tasks: Sequence[TaskRecord] = (),
        children: Sequence[ChildStep] = (),
    ) -> None:
        """Add an execution with its first events, timers, tasks and inbox stimuli, and
        the child executions its first step started, in one transaction; ``Conflict``
        when its ARN (or a child's), an event id or a task token exists. The stimuli
        are queued as created at the execution's start date."""
        arn = record.arn
        event_rows = [_event_row(arn, event) for event in events]
        # A new execution's first step starts children; it redrives none.
        new_children, ended, _ = _child_rows(children, event_rows)
        item = _NewExecution(
            _params(record, "executions"),
            event_rows,
            [(arn, timer.timer_id, timer.due) for timer in timers],
            [(arn, to_json(stimulus), record.start_date) for stimulus in inbox],
            [vars(task) for task in tasks],
            new_children,
            ended,
        )
        # Group commit: the item joins the queue; whichever thread then holds the write
        # lock commits every queued item in one transaction. Concurrent StartExecution
        # calls thus share one COMMIT, the larger part of a start's cost.
        with self._queue_lock:
            self._new_executions.append(item)
        with self._lock:
            if not item.done:
                with self._queue_lock:
                    batch, self._new_executions = self._new_executions, []
                self._insert_executions(batch)
        if item.error is not None:
            raise item.error

    def _insert_executions(self, batch: list[_NewExecution]) -> None:
        """Insert queued executions in one transaction, each under a savepoint: one
        that collides fails alone. The caller holds the write lock."""
        q = self._q
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in batch:
                conn.execute("SAVEPOINT new_execution")
                try:
                    conn.execute(q["insert_execution"], item.execution)
                    if item.children:
                        conn.executemany(q["insert_execution"], item.children)
                    if item.ended:
                        conn.executemany(q["end_child_execution"], item.ended)
                    conn.executemany(q["insert_event"], item.events)
                    if item.timers:
                        conn.executemany(q["upsert_timer"], item.timers)
                    if item.inbox:
                        conn.executemany(q["insert_inbox"], item.inbox)
                    if item.tasks:
                        conn.executemany(q["insert_task"], item.tasks)
                except sqlite3.IntegrityError as exc:
                    conn.execute("ROLLBACK TO new_execution")
                    item.error = _error(exc)
                conn.execute("RELEASE new_execution")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = _error(exc) if isinstance(exc, sqlite3.Error) else exc
            for item in batch:
                item.error = item.error or error
        finally:
            for item in batch:
                item.done = True

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution with this ARN."""
        row = self._one("get_execution", {"arn": arn}, "executions")
        return None if row is None else ExecutionRecord(**row)

    def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        version_arn: str | None = None,
        alias_arn: str | None = None,
        map_run_arn: str | None = None,
        *,
        map_run_event_id: int | None = None,
        redriven: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ExecutionRecord]:
        """Executions matching every given filter, newest first (by start date; the
        later written first among equal dates), paged by ``limit``/``offset``."""
        given = dict(
            zip(
                EXECUTION_FILTERS,
                (state_machine_arn, status, version_arn, alias_arn, map_run_arn, map_run_event_id),
                strict=True,
            )
        )
        params: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
        # Column names come from the fixed EXECUTION_FILTERS, never from the caller.
        filters = "".join(f" AND {name} = :{name}" for name in params)
        if redriven is not None:
            filters += " AND redrive_count > 0" if redriven else " AND redrive_count = 0"
        params["limit"] = _NO_LIMIT if limit is None else limit
        params["offset"] = offset
        sql = self._q["list_executions"].replace("{filters}", filters)
        with self._read() as conn:
            rows = _rows(conn.execute(sql, params))
        return [ExecutionRecord(**row) for row in rows]

    def count_map_run_children(
        self, map_run_arn: str, map_run_event_id: int
    ) -> dict[str, tuple[int, int]]:
        """The child executions of one run of a map run, by status: (executions, items)."""
        params = {"map_run_arn": map_run_arn, "map_run_event_id": map_run_event_id}
        with self._read() as conn:
            rows = conn.execute(self._q["count_map_run_children"], params).fetchall()
        return {status: (int(count), int(items)) for status, count, items in rows}

    def update_execution(self, record: ExecutionRecord) -> None:
        """Replace a stored execution's row; ``StoreError`` when there is none."""
        self._update("update_execution", _params(record, "executions"), "execution")

    def commit_steps(self, commits: Sequence[StepCommit]) -> list[str]:
        """Commit steps of (possibly many) executions in one transaction.

        Returns the ARNs of the commits refused because their ``expected_next_event_id``
        no longer matched, or whose execution does not exist (those change nothing); the
        others are committed. ``Conflict`` when an accepted commit repeats an event id or
        a task token, with nothing committed.
        """
        # The engine's hot path. JSON is encoded before taking the lock, so other threads
        # can use the connection meanwhile; inside, one UPDATE per commit checks its
        # optimistic lock, and each kind of row then goes in with one executemany for the
        # whole batch.
        if not commits:
            return []
        prepared = [(commit, _commit_rows(commit)) for commit in commits]
        q = self._q
        refused: list[str] = []
        events: list[tuple[Any, ...]] = []
        consumed: list[tuple[int, str]] = []
        inbox: list[tuple[str, str, float]] = []
        tasks: list[dict[str, Any]] = []
        finished: list[tuple[str]] = []
        children: list[dict[str, Any]] = []
        ended: list[tuple[Any, ...]] = []
        redriven: list[tuple[Any, ...]] = []
        # (execution, timer id) -> due, or None when cancelled: the last word of the batch,
        # so a timer set by one commit and cancelled by a later one ends up cancelled.
        timers: dict[tuple[str, str], float | None] = {}
        with self._write() as conn:
            for commit, (event_rows, inbox_rows, child_rows) in prepared:
                arn = commit.execution_arn
                cursor = conn.execute(
                    q["commit_execution"],
                    {
                        "execution_arn": arn,
                        "expected_next_event_id": commit.expected_next_event_id,
                        "next_event_id": commit.next_event_id,
                        "run_state": commit.run_state,
                        "status": commit.status,
                        "output": commit.output,
                        "error": commit.error,
                        "cause": commit.cause,
                        "stop_date": commit.stop_date,
                        "redrive_count": commit.redrive_count,
                        "redrive_date": commit.redrive_date,
                    },
                )
                if cursor.rowcount != 1:
                    refused.append(arn)
                    continue
                events += event_rows
                inbox += inbox_rows
                consumed += [(message_id, arn) for message_id in commit.consumed_inbox_ids]
                for timer_id in commit.cancelled_timer_ids:
                    timers[(arn, timer_id)] = None
                for timer in commit.new_timers:
                    timers[(arn, timer.timer_id)] = timer.due
                tasks += [vars(task) for task in commit.new_tasks]
                finished += [(token,) for token in commit.finished_task_tokens]
                if child_rows is not None:
                    children += child_rows[0]
                    ended += child_rows[1]
                    redriven += child_rows[2]
            # Child executions before their events, which refer to them.
            if children:
                conn.executemany(q["insert_execution"], children)
            if ended:
                conn.executemany(q["end_child_execution"], ended)
            if redriven:
                conn.executemany(q["redrive_child_execution"], redriven)
            if events:
                conn.executemany(q["insert_event"], events)
            if consumed:
                conn.executemany(q["delete_inbox"], consumed)
            if inbox:
                conn.executemany(q["insert_inbox"], inbox)
            if timers:
                conn.executemany(q["delete_timer"], [k for k, due in timers.items() if due is None])
                conn.executemany(
                    q["upsert_timer"], [(*k, due) for k, due in timers.items() if due is not None]
                )
            if tasks:
                conn.executemany(q["insert_task"], tasks)
            if finished:
                conn.executemany(q["finish_task"], finished)
        return refused

    def get_events(
        self, execution_arn: str, after_id: int = 0, limit: int | None = None, reverse: bool = False
    ) -> list[StoredEvent]:
        """History events in id order (or reverse), starting after ``after_id`` (in
        reverse: before it, when it is not 0)."""
        params: dict[str, Any] = {
            "execution_arn": execution_arn,
            "limit": _NO_LIMIT if limit is None else limit,
        }
        if reverse:
            params["before_id"] = after_id or _PAST_LAST_ID
        else:
            params["after_id"] = after_id
        query = self._q["events_reverse" if reverse else "events_forward"]
        with self._read() as conn:
            rows = conn.execute(query, params).fetchall()
        return [
            StoredEvent(id_, previous, timestamp, type_, from_json_or_none(details))
            for id_, previous, timestamp, type_, details in rows
        ]

    def count_events(self, execution_arn: str) -> int:
        """How many history events an execution has."""
        with self._read() as conn:
            (count,) = conn.execute(
                self._q["count_events"], {"execution_arn": execution_arn}
            ).fetchone()
        return int(count)

    # inbox, timers, tasks -----------------------------------------------------------------

    def add_inbox(self, execution_arn: str, stimulus: dict[str, Any], now: float) -> int:
        """Queue a stimulus for an execution; returns its message id. ``StoreError`` when
        the execution does not exist."""
        row = (execution_arn, to_json(stimulus), now)
        with self._write() as conn:
            message_id = conn.execute(self._q["insert_inbox"], row).lastrowid
        assert message_id is not None  # an INSERT into a rowid table always sets it
        return message_id

    def inbox(self, execution_arn: str) -> list[InboxMessage]:
        """An execution's waiting stimuli, oldest first."""
        with self._read() as conn:
            rows = conn.execute(self._q["list_inbox"], {"execution_arn": execution_arn}).fetchall()
        return [
            InboxMessage(message_id, arn, from_json(stimulus), created)
            for message_id, arn, stimulus, created in rows
        ]

    def executions_with_inbox(self, limit: int = 1000) -> list[str]:
        """ARNs of executions that have waiting stimuli, oldest message first."""
        with self._read() as conn:
            rows = conn.execute(self._q["executions_with_inbox"], {"limit": limit}).fetchall()
        return [arn for (arn,) in rows]

    def fire_due_timers(self, now: float, limit: int = 1000) -> list[str]:
        """Move timers due at ``now`` into their executions' inboxes as
        ``{"type": "TimerFired", "timer_id": ...}`` (created at their due time: that is
        when they happened, which orders them before later answers in the inbox),
        earliest due first, in one transaction; returns the ARNs that got one."""
        q = self._q
        with self._write() as conn:
            due = conn.execute(q["due_timers"], {"now": now, "limit": limit}).fetchall()
            if due:
                conn.executemany(
                    q["insert_inbox"],
                    [(arn, to_json(timer_fired(tid)), when) for arn, tid, when in due],
                )
                conn.executemany(q["delete_timer"], [(arn, timer_id) for arn, timer_id, _ in due])
        return list(dict.fromkeys(arn for arn, _, _ in due))

    def next_timer_due(self) -> float | None:
        """The earliest due time of any timer."""
        with self._read() as conn:
            (due,) = conn.execute(self._q["next_timer_due"]).fetchone()
        return None if due is None else float(due)

    def get_task(self, token: str) -> TaskRecord | None:
        """The task with this token."""
        row = self._one("get_task", {"token": token}, "tasks")
        return None if row is None else TaskRecord(**row)

    def tasks_with_status(self, status: str, kind: str | None = None) -> list[TaskRecord]:
        """Tasks in a status (and of a kind), oldest first."""
        rows = self._all("tasks_with_status", {"status": status, "kind": kind}, "tasks")
        return [TaskRecord(**row) for row in rows]

    def mark_task(self, token: str, status: str, worker_name: str | None = None) -> None:
        """Move a task to a status (and, when given, to a worker); ``StoreError`` when
        there is no such task."""
        self._update(
            "mark_task", {"token": token, "status": status, "worker_name": worker_name}, "task"
        )

    def claim_activity_task(self, activity_arn: str, worker_name: str | None) -> TaskRecord | None:
        """Atomically take the oldest ``scheduled`` task of an activity (now
        ``dispatched``), or None."""
        params = {"activity_arn": activity_arn, "worker_name": worker_name}
        with self._write() as conn:
            # All rows fetched before COMMIT: a RETURNING statement still stepping would
            # keep the transaction from committing.
            rows = _rows(conn.execute(self._q["claim_activity_task"], params))
        return TaskRecord(**rows[0]) if rows else None

    # log groups, streams and events -------------------------------------------------------

    def create_log_group(self, record: LogGroupRecord) -> None:
        """Add a log group; ``Conflict`` when its name exists."""
        params = {k: v for k, v in vars(record).items() if k != "stored_bytes"}
        with self._write() as conn:
            conn.execute(self._q["insert_log_group"], params)

    def get_log_group(self, name: str) -> LogGroupRecord | None:
        """The log group with this name (its stored bytes summed)."""
        row = self._one("get_log_group", {"name": name}, "log_groups")
        return None if row is None else LogGroupRecord(**row)

    def update_log_group(self, record: LogGroupRecord) -> None:
        """Replace a log group's settings; ``StoreError`` when there is none."""
        params = {
            k: v for k, v in vars(record).items() if k not in ("stored_bytes", "creation_time")
        }
        self._update("update_log_group", params, "log group")

    def list_log_groups(self, prefix: str | None = None) -> list[LogGroupRecord]:
        """Log groups whose name starts with ``prefix`` (all when None), by name."""
        rows = self._all("list_log_groups", {"prefix": prefix}, "log_groups")
        return [LogGroupRecord(**row) for row in rows]

    def delete_log_group(self, name: str) -> None:
        """Remove a log group with its streams and events (nothing when missing)."""
        params = {"name": name}
        with self._write() as conn:
            for query in (
                "delete_log_group_events",
                "delete_log_group_streams",
                "delete_log_group",
            ):
                conn.execute(self._q[query], params)

    def create_log_stream(self, record: LogStreamRecord) -> None:
        """Add an empty log stream; ``Conflict`` when it exists, ``StoreError`` when its
        log group does not."""
        with self._write() as conn:
            conn.execute(self._q["insert_log_stream"], vars(record))

    def list_log_streams(
        self, log_group_name: str, prefix: str | None = None
    ) -> list[LogStreamRecord]:
        """A log group's streams whose name starts with ``prefix``, by name."""
        params = {"log_group_name": log_group_name, "prefix": prefix}
        return [
            LogStreamRecord(**row) for row in self._all("list_log_streams", params, "log_streams")
        ]

    def delete_log_stream(self, log_group_name: str, name: str) -> None:
        """Remove a log stream with its events (nothing when missing)."""
        params = {"log_group_name": log_group_name, "name": name}
        with self._write() as conn:
            conn.execute(self._q["delete_log_stream_events"], params)
            conn.execute(self._q["delete_log_stream"], params)

    def append_log_events(self, events: Sequence[LogEventRecord]) -> None:
        """Store log events in the order given, in one transaction; missing log groups
        and streams are created (at the event's ingestion time)."""
        if not events:
            return
        groups: dict[str, int] = {}
        for event in events:
            groups.setdefault(event.log_group_name, event.ingestion_time)
        rows = [
            (e.log_group_name, e.log_stream_name, e.timestamp, e.ingestion_time, e.message)
            for e in events
        ]
        streams = stream_additions(events)
        q = self._q
        with self._write() as conn:
            conn.executemany(q["ensure_log_group"], list(groups.items()))
            conn.executemany(q["add_to_log_stream"], streams)
            conn.executemany(q["insert_log_event"], rows)

    def log_events(
        self,
        log_group_name: str,
        *,
        streams: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        terms: Sequence[str] = (),
        after: tuple[int, int] | None = None,
        before: tuple[int, int] | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[LogEventRecord]:
        """A log group's events in (timestamp, id) order, or the reverse (see ``Store``)."""
        params: dict[str, Any] = {
            "log_group_name": log_group_name,
            "limit": _NO_LIMIT if limit is None else limit,
        }
        used: list[str] = []
        if streams is not None:
            params["streams"] = to_json(list(streams))
            used.append("streams")
        if stream_prefix is not None:
            params["stream_prefix"] = stream_prefix
            used.append("stream_prefix")
        if start is not None:
            params["start"] = start
            used.append("start")
        if end is not None:
            params["end"] = end
            used.append("end")
        if terms:
            params["terms"] = to_json(list(terms))
            used.append("terms")
        if after is not None:
            params["after_timestamp"], params["after_id"] = after
            used.append("after")
        if before is not None:
            params["before_timestamp"], params["before_id"] = before
            used.append("before")
        filters = "".join(_LOG_EVENT_FILTERS[name] for name in used)
        query = self._q["log_events_reverse" if reverse else "log_events_forward"]
        with self._read() as conn:
            rows = conn.execute(query.replace("{filters}", filters), params).fetchall()
        return [
            LogEventRecord(group, stream, timestamp, message, ingestion, id_)
            for id_, group, stream, timestamp, message, ingestion in rows
        ]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()


@dataclass(slots=True)
class _NewExecution:
    """An execution waiting for the group commit, as rows; ``done`` once it was
    written or failed (``error``)."""

    execution: dict[str, Any]
    events: list[tuple[Any, ...]]
    timers: list[tuple[str, str, float]]
    inbox: list[tuple[str, str, float]]
    tasks: list[dict[str, Any]]
    children: list[dict[str, Any]]
    ended: list[tuple[Any, ...]]
    done: bool = False
    error: BaseException | None = None


def _event_row(execution_arn: str, event: StoredEvent) -> tuple[Any, ...]:
    return (
        execution_arn,
        event.id,
        event.previous_event_id,
        event.timestamp,
        event.type,
        to_json_or_none(event.details),
    )


# (new rows, ends, redrives)
_ChildRows = tuple[list[dict[str, Any]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _commit_rows(
    commit: StepCommit,
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, float]], _ChildRows | None]:
    """A commit's event and inbox rows, JSON encoded, and the rows of the child
    executions it changed (None when it changed none: most commits)."""
    arn = commit.execution_arn
    created = commit_time(commit)
    events = [_event_row(arn, event) for event in commit.events]
    children = _child_rows(commit.children, events) if commit.children else None
    return events, [(arn, to_json(stimulus), created) for stimulus in commit.new_inbox], children


def _child_rows(children: Sequence[ChildStep], events: list[tuple[Any, ...]]) -> _ChildRows:
    """The rows of child executions a step changed: those it started (to insert), the
    ends of those started before and the redrives of those it redrove (to update).
    Their events join ``events``."""
    new: list[dict[str, Any]] = []
    ended: list[tuple[Any, ...]] = []
    redriven: list[tuple[Any, ...]] = []
    for child in children:
        events += [_event_row(child.arn, event) for event in child.events]
        if child.new is not None:
            new.append(_params(child.new, "executions"))
        elif child.redrive_count is not None:
            redriven.append(
                (
                    child.status,
                    child.output,
                    child.error,
                    child.cause,
                    child.stop_date,
                    child.next_event_id,
                    child.redrive_count,
                    child.redrive_date,
                    child.arn,
                )
            )
        elif child.status != "RUNNING":
            ended.append(
                (
                    child.status,
                    child.output,
                    child.error,
                    child.cause,
                    child.stop_date,
                    child.next_event_id,
                    child.arn,
                )
            )
    return new, ended, redriven
