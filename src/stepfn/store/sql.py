"""The SQL store: the ``Store`` interface written once for SQLite and PostgreSQL.

The queries are those of ``queries/common.sql`` and the dialect's file, by name; a
dialect (``sqlite.SqliteStore``, ``postgres.PostgresStore``) provides connections and
maps its driver's errors (see ``sql_core``). Every method is one transaction.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from stepfn.store.base import (
    ActivityRecord,
    AliasRecord,
    ExecutionQuery,
    ExecutionRecord,
    ExecutionSummary,
    InboxMessage,
    NewStart,
    StateMachineRecord,
    StepCommit,
    StoredEvent,
    StoreError,
    TaskRecord,
    VersionRecord,
)
from stepfn.store.common import (
    EXECUTION_FILTERS,
    from_json,
    from_json_or_none,
    task_started,
    timer_fired,
    to_json,
)
from stepfn.store.sql_functions import SqlFunctions
from stepfn.store.sql_iam import SqlIam
from stepfn.store.sql_leases import SqlLeases
from stepfn.store.sql_rows import (
    NewExecution,
    child_rows,
    commit_rows,
    event_row,
    params,
    rows,
)

# Every event id is below this, which stands for "after the newest" when a reverse read
# starts from the end.
_PAST_LAST_ID = 2**63 - 1


# The statuses count_executions counts, in the order of its query's columns.
EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


class SqlStore(SqlLeases, SqlFunctions, SqlIam):
    """The store in a SQL database; a dialect subclass connects it."""

    def __init__(self) -> None:
        super().__init__()
        # The group commit of new executions (see create_execution).
        self._queue_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._new_executions: list[NewExecution] = []
        # Definitions by text and by id (their rows never change): an execution refers
        # to its definition's row, and every step reads its text from here.
        self._definition_by_text: dict[str, int] = {}
        self._definition_by_id: dict[int, str] = {}

    # definitions --------------------------------------------------------------------------

    def _definition_ids(self, conn: Any, rows_: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
        """Give each execution row (its ``definition`` text) the ``definition_id`` of that
        text's row, added when missing, in the caller's transaction. Returns the
        (text, id) pairs to remember once that transaction has committed."""
        q = self._q
        learned: list[tuple[str, int]] = []
        found: dict[str, int] = {}
        for row in rows_:
            text = row["definition"]
            known = self._definition_by_text.get(text)
            if known is None:
                known = found.get(text)
            if known is None:
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                values = {"digest": digest, "definition": text}
                conn.execute(q["put_definition"], values)
                (known,) = conn.execute(q["definition_id"], {"digest": digest}).fetchone()
                known = found[text] = int(known)
                learned.append((text, known))
            row["definition_id"] = known
        return learned

    def _remember(self, learned: list[tuple[str, int]]) -> None:
        if not learned:
            return
        if len(self._definition_by_text) + len(learned) > 1024:
            self._definition_by_text.clear()
            self._definition_by_id.clear()
        for text, id_ in learned:
            self._definition_by_text[text] = id_
            self._definition_by_id[id_] = text

    def _definition(self, id_: int | None) -> str:
        """The text of a stored definition."""
        if id_ is None:
            return ""
        text = self._definition_by_id.get(id_)
        if text is None:
            with self._read() as conn:
                found = conn.execute(self._q["get_definition"], {"id": id_}).fetchone()
            text = "" if found is None else str(found[0])
            if found is not None:
                self._remember([(text, int(id_))])
        return text

    # state machines, versions, aliases ----------------------------------------------------

    def insert_state_machine(self, record: StateMachineRecord) -> None:
        """Add a state machine; ``Conflict`` when its ARN exists."""
        self._insert("insert_state_machine", record, "state_machines")

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine with this (unqualified) ARN."""
        return self._one("get_state_machine", {"arn": arn}, "state_machines", StateMachineRecord)

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace a stored state machine; ``StoreError`` when there is none."""
        self._update("update_state_machine", params(record, "state_machines"), "state machine")

    def delete_state_machine(self, arn: str) -> None:
        """Remove a state machine with its versions, aliases and tags (not executions)."""
        with self._write() as conn:
            # Tags first, while the subqueries can still find the versions and aliases.
            for query in (
                "delete_state_machine_tags",
                "delete_state_machine_aliases",
                "delete_state_machine_versions",
                "delete_state_machine",
            ):
                conn.execute(self._q[query], {"arn": arn})

    def list_state_machines(self) -> list[StateMachineRecord]:
        """All state machines, oldest first."""
        return self._all("list_state_machines", {}, "state_machines", StateMachineRecord)

    def insert_version(self, record: VersionRecord) -> None:
        """Add a version; ``Conflict`` when its ARN (or its number) exists."""
        self._insert("insert_version", record, "versions")

    def get_version(self, arn: str) -> VersionRecord | None:
        """The version with this ARN."""
        return self._one("get_version", {"arn": arn}, "versions", VersionRecord)

    def list_versions(self, state_machine_arn: str) -> list[VersionRecord]:
        """A state machine's versions, newest first."""
        values = {"state_machine_arn": state_machine_arn}
        return self._all("list_versions", values, "versions", VersionRecord)

    def delete_version(self, arn: str) -> None:
        """Remove a version and its tags."""
        self._delete_tagged("delete_version", arn)

    def insert_alias(self, record: AliasRecord) -> None:
        """Add an alias; ``Conflict`` when its ARN exists."""
        self._insert("insert_alias", record, "aliases")

    def get_alias(self, arn: str) -> AliasRecord | None:
        """The alias with this ARN."""
        return self._one("get_alias", {"arn": arn}, "aliases", AliasRecord)

    def update_alias(self, record: AliasRecord) -> None:
        """Replace a stored alias; ``StoreError`` when there is none."""
        self._update("update_alias", params(record, "aliases"), "alias")

    def delete_alias(self, arn: str) -> None:
        """Remove an alias and its tags."""
        self._delete_tagged("delete_alias", arn)

    def _delete_tagged(self, query: str, arn: str) -> None:
        # A resource and its tags go in one transaction: no tags outlive what they tag.
        with self._write() as conn:
            conn.execute(self._q["delete_tags"], {"resource_arn": arn})
            conn.execute(self._q[query], {"arn": arn})

    def list_aliases(self, state_machine_arn: str) -> list[AliasRecord]:
        """A state machine's aliases, oldest first."""
        values = {"state_machine_arn": state_machine_arn}
        return self._all("list_aliases", values, "aliases", AliasRecord)

    # activities and tags ------------------------------------------------------------------

    def insert_activity(self, record: ActivityRecord) -> None:
        """Add an activity; ``Conflict`` when its ARN exists."""
        self._insert("insert_activity", record, "activities")

    def get_activity(self, arn: str) -> ActivityRecord | None:
        """The activity with this ARN."""
        return self._one("get_activity", {"arn": arn}, "activities", ActivityRecord)

    def delete_activity(self, arn: str) -> None:
        """Remove an activity and its tags."""
        with self._write() as conn:
            conn.execute(self._q["delete_tags"], {"resource_arn": arn})
            conn.execute(self._q["delete_activity"], {"arn": arn})

    def list_activities(self) -> list[ActivityRecord]:
        """All activities, oldest first."""
        return self._all("list_activities", {}, "activities", ActivityRecord)

    def get_tags(self, resource_arn: str) -> dict[str, str]:
        """A resource's tags, by key."""
        with self._read() as conn:
            found = conn.execute(self._q["get_tags"], {"resource_arn": resource_arn}).fetchall()
        return dict(found)

    def set_tags(self, resource_arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags of a resource."""
        rows_ = [{"resource_arn": resource_arn, "key": k, "value": v} for k, v in tags.items()]
        if not rows_:
            return
        with self._write() as conn:
            self._many(conn, self._q["set_tag"], rows_)

    def remove_tags(self, resource_arn: str, keys: Iterable[str]) -> None:
        """Remove tags of a resource (missing keys are ignored)."""
        rows_ = [{"resource_arn": resource_arn, "key": key} for key in keys]
        if not rows_:
            return
        with self._write() as conn:
            self._many(conn, self._q["remove_tag"], rows_)

    # executions ---------------------------------------------------------------------------

    def create_executions(self, starts: Sequence[NewStart]) -> list[BaseException | None]:
        """Add executions in one group commit (one transaction for them and whatever
        else is queued): each one's error, or None. The stimuli are queued as created
        at the execution's start date."""
        items = [self._new_execution(start) for start in starts]
        self._group_commit(items)
        return [item.error for item in items]

    @staticmethod
    def _new_execution(start: NewStart) -> NewExecution:
        record = start.record
        arn = record.arn
        event_rows = [event_row(arn, event) for event in start.events]
        new_children: list[dict[str, Any]] = []
        ended: list[tuple[Any, ...]] = []
        if start.children:
            # A new execution's first step starts children; it redrives none.
            new_children, ended, _ = child_rows(start.children, event_rows)
        # (Empty lists need no comprehension: most starts have no inbox, many no task.)
        return NewExecution(
            params(record, "executions"),
            event_rows,
            [(arn, timer.timer_id, timer.due) for timer in start.timers] if start.timers else [],
            [(arn, to_json(s), record.start_date) for s in start.inbox] if start.inbox else [],
            [vars(task) for task in start.tasks] if start.tasks else [],
            new_children,
            ended,
        )

    def _group_commit(self, items: list[NewExecution]) -> None:
        """Group commit: the items join the queue; whichever thread then holds the group
        lock commits every queued item in one transaction. Concurrent StartExecution
        calls thus share one COMMIT, the larger part of a start's cost. Returns once
        every item is done (written, or failed with its ``error``)."""
        if not items:
            return
        with self._queue_lock:
            self._new_executions.extend(items)
        with self._group_lock:
            if not items[-1].done:  # queued together: all are taken in one batch
                with self._queue_lock:
                    batch, self._new_executions = self._new_executions, []
                self._insert_executions(batch)

    def _insert_executions(self, batch: list[NewExecution]) -> None:
        """Insert queued executions in one transaction, each under a savepoint: one
        that collides fails alone. A batch of one (most starts, when calls do not
        overlap) needs none: its collision rolls the whole transaction back, which
        holds nothing else, and two statements fewer is a tenth of its cost."""
        q = self._q
        learned: list[tuple[str, int]] = []
        alone = len(batch) == 1
        try:
            with self._write() as conn:
                learned = self._definition_ids(
                    conn, [row for item in batch for row in (item.execution, *item.children)]
                )
                for item in batch:
                    if not alone:
                        conn.execute("SAVEPOINT new_execution")
                    try:
                        conn.execute(q["insert_execution"], item.execution)
                        if item.children:
                            self._many(conn, q["insert_execution"], item.children)
                        if item.ended:
                            self._many(conn, q["end_child_execution"], item.ended)
                        if item.events:
                            self._many(conn, q["insert_event"], item.events)
                        if item.timers:
                            self._many(conn, q["upsert_timer"], item.timers)
                        if item.inbox:
                            self._many(conn, q["insert_inbox"], item.inbox)
                        if item.tasks:
                            self._many(conn, q["insert_task"], item.tasks)
                    except Exception as exc:
                        if alone or not self._is_integrity_error(exc):
                            raise  # alone: the transaction's rollback is the savepoint's
                        conn.execute("ROLLBACK TO SAVEPOINT new_execution")
                        item.error = self._store_error(exc)
                    if not alone:
                        conn.execute("RELEASE SAVEPOINT new_execution")
            self._remember(learned)
        except BaseException as exc:
            for item in batch:
                item.error = item.error or exc
        finally:
            for item in batch:
                item.done = True

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution with this ARN."""
        return self._one("get_execution", {"arn": arn}, "executions", self._execution)

    def _execution(self, definition_id: int | None, **row: Any) -> ExecutionRecord:
        # An execution row names its definition's row (see _definition_ids).
        return ExecutionRecord(definition=self._definition(definition_id), **row)

    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        """The executions ``query`` asks for, newest first (by start date; the later
        written first among equal dates)."""
        # Listings leave the definitions out: ``definition`` is empty.
        found = self._list_execution_rows("list_executions", query)
        return [ExecutionRecord(definition="", **row) for row in found]

    def list_execution_summaries(self, query: ExecutionQuery) -> list[ExecutionSummary]:
        """``list_executions`` without the large columns, which a listing does not show."""
        found = self._list_execution_rows("list_execution_summaries", query)
        return [ExecutionSummary(**row) for row in found]

    def _list_execution_rows(self, name: str, query: ExecutionQuery) -> list[dict[str, Any]]:
        """The rows of the listing query ``name`` for ``query``."""
        given = {column: getattr(query, column) for column in EXECUTION_FILTERS}
        values: dict[str, Any] = {k: value for k, value in given.items() if value is not None}
        # Column names come from the fixed EXECUTION_FILTERS, never from the caller.
        where = "".join(f" AND {column} = :{column}" for column in values)
        if query.redriven is not None:
            where += " AND redrive_count > 0" if query.redriven else " AND redrive_count = 0"
        values["limit"] = self.no_limit if query.limit is None else query.limit
        values["offset"] = query.offset
        with self._read() as conn:
            return rows(conn.execute(self._filled(name, where), values))

    def count_executions(self, state_machine_arn: str) -> dict[str, int]:
        """How many executions of a state machine there are, by status."""
        with self._read() as conn:
            found = conn.execute(
                self._q["count_executions"], {"state_machine_arn": state_machine_arn}
            ).fetchone()
        return {status: int(n) for status, n in zip(EXECUTION_STATUSES, found, strict=True) if n}

    def count_map_run_children(
        self, map_run_arn: str, map_run_event_id: int
    ) -> dict[str, tuple[int, int]]:
        """The child executions of one run of a map run, by status: (executions, items)."""
        values = {"map_run_arn": map_run_arn, "map_run_event_id": map_run_event_id}
        with self._read() as conn:
            found = conn.execute(self._q["count_map_run_children"], values).fetchall()
        return {status: (int(count), int(items)) for status, count, items in found}

    def update_execution(self, record: ExecutionRecord) -> None:
        """Replace a stored execution's row; ``StoreError`` when there is none."""
        values = params(record, "executions")
        with self._write() as conn:
            learned = self._definition_ids(conn, [values])
            if conn.execute(self._q["update_execution"], values).rowcount == 0:
                raise StoreError(f"no execution {record.arn}")
        self._remember(learned)

    def commit_steps(self, commits: Sequence[StepCommit]) -> list[str]:
        """Commit steps of (possibly many) executions in one transaction.

        Returns the ARNs of the commits refused because their ``expected_next_event_id``
        (or ``expected_run_state``) no longer matched, or whose execution does not exist
        (those change nothing); the others are committed. ``Conflict`` when an accepted
        commit repeats an event id or a task token, with nothing committed.
        """
        # The engine's hot path. JSON is encoded before taking a connection; inside, one
        # UPDATE per commit checks its optimistic lock, and each kind of row then goes in
        # with one executemany for the whole batch.
        if not commits:
            return []
        prepared = [(commit, commit_rows(commit)) for commit in commits]
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
            for commit, (event_rows, inbox_rows, changed) in prepared:
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
                        "redrive": 0 if commit.redrive_count is None else 1,
                        "redrive_count": commit.redrive_count,
                        "redrive_date": commit.redrive_date,
                        "expected_run_state": commit.expected_run_state,
                        "lease_owner": commit.lease_owner,
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
                if changed is not None:
                    children += changed[0]
                    ended += changed[1]
                    redriven += changed[2]
            learned = self._definition_ids(conn, children) if children else []
            # Child executions before their events, which refer to them.
            for query, batch in (
                ("insert_execution", children),
                ("end_child_execution", ended),
                ("redrive_child_execution", redriven),
                ("insert_event", events),
                ("delete_inbox", consumed),
                ("insert_inbox", inbox),
                ("delete_timer", [k for k, due in timers.items() if due is None]),
                ("upsert_timer", [(*k, due) for k, due in timers.items() if due is not None]),
                ("insert_task", tasks),
                ("finish_task", finished),
            ):
                if batch:
                    self._many(conn, q[query], batch)
        if children:
            self._remember(learned)
        return refused

    def get_events(
        self, execution_arn: str, after_id: int = 0, limit: int | None = None, reverse: bool = False
    ) -> list[StoredEvent]:
        """History events in id order (or reverse), starting after ``after_id`` (in
        reverse: before it, when it is not 0)."""
        values: dict[str, Any] = {
            "execution_arn": execution_arn,
            "limit": self.no_limit if limit is None else limit,
        }
        if reverse:
            values["before_id"] = after_id or _PAST_LAST_ID
        else:
            values["after_id"] = after_id
        query = self._q["events_reverse" if reverse else "events_forward"]
        with self._read() as conn:
            found = conn.execute(query, values).fetchall()
        return [
            StoredEvent(id_, previous, timestamp, type_, from_json_or_none(details))
            for id_, previous, timestamp, type_, details in found
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
        values = {"execution_arn": execution_arn, "stimulus": to_json(stimulus), "created": now}
        with self._write() as conn:
            # Fetched before COMMIT: a RETURNING statement still stepping would keep
            # SQLite's transaction from committing.
            (message_id,) = conn.execute(self._q["add_inbox"], values).fetchone()
        return int(message_id)

    def inbox(self, execution_arn: str) -> list[InboxMessage]:
        """An execution's waiting stimuli, oldest first."""
        with self._read() as conn:
            found = conn.execute(self._q["list_inbox"], {"execution_arn": execution_arn})
            found = found.fetchall()
        return [
            InboxMessage(message_id, arn, from_json(stimulus), created)
            for message_id, arn, stimulus, created in found
        ]

    def executions_with_inbox(self, limit: int = 1000) -> list[str]:
        """ARNs of executions that have waiting stimuli, oldest message first."""
        with self._read() as conn:
            found = conn.execute(self._q["executions_with_inbox"], {"limit": limit}).fetchall()
        return [arn for (arn,) in found]

    def fire_due_timers(self, now: float, limit: int = 1000) -> list[str]:
        """Move timers due at ``now`` into their executions' inboxes as
        ``{"type": "TimerFired", "timer_id": ...}`` (created at their due time: that is
        when they happened, which orders them before later answers in the inbox),
        earliest due first, in one transaction; returns the ARNs that got one.

        The timers are taken by one ``DELETE ... RETURNING``: a timer fires once even
        with several servers firing on one database."""
        q = self._q
        # Most calls find nothing due (the scheduler looks after every batch of steps):
        # a read answers that without taking the write lock or writing a transaction.
        earliest = self.next_timer_due()
        if earliest is None or earliest > now:
            return []
        with self._write() as conn:
            due = conn.execute(q["fire_timers"], {"now": now, "limit": limit}).fetchall()
            # RETURNING gives no order: the inbox gets them earliest due first.
            due.sort(key=lambda row: (row[2], row[0], row[1]))
            if due:
                self._many(
                    conn,
                    q["insert_inbox"],
                    [(arn, to_json(timer_fired(tid)), when) for arn, tid, when in due],
                )
        return list(dict.fromkeys(arn for arn, _, _ in due))

    def next_timer_due(self) -> float | None:
        """The earliest due time of any timer."""
        with self._read() as conn:
            (due,) = conn.execute(self._q["next_timer_due"]).fetchone()
        return None if due is None else float(due)

    def get_task(self, token: str) -> TaskRecord | None:
        """The task with this token."""
        return self._one("get_task", {"token": token}, "tasks", TaskRecord)

    def tasks_with_status(self, status: str, kind: str | None = None) -> list[TaskRecord]:
        """Tasks in a status (and of a kind), oldest first."""
        return self._all("tasks_with_status", {"status": status, "kind": kind}, "tasks", TaskRecord)

    def mark_task(self, token: str, status: str, worker_name: str | None = None) -> None:
        """Move a task to a status (and, when given, to a worker); ``StoreError`` when
        there is no such task."""
        self._update(
            "mark_task", {"token": token, "status": status, "worker_name": worker_name}, "task"
        )

    def claim_activity_task(
        self, activity_arn: str, worker_name: str | None, now: float
    ) -> TaskRecord | None:
        """Atomically take the oldest ``scheduled`` task of an activity (now
        ``dispatched``) and queue its ``TaskStarted`` for its execution, or None."""
        values = {"activity_arn": activity_arn, "worker_name": worker_name}
        with self._write() as conn:
            # All rows fetched before COMMIT (see add_inbox).
            found = rows(conn.execute(self._q["claim_activity_task"], values))
            if found:
                started = {
                    "execution_arn": found[0]["execution_arn"],
                    "stimulus": to_json(task_started(found[0]["token"], worker_name)),
                    "created": now,
                }
                conn.execute(self._q["add_inbox"], started).fetchone()
        return TaskRecord(**found[0]) if found else None
