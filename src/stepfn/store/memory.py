"""A store in dictionaries: for unit tests, and for Express executions, which AWS does not
keep either.

It follows the SQLite store's rules exactly, down to the errors and the ordering of ties,
so that one test suite runs on both. Dictionary fields (configurations, event details,
stimuli) are kept as JSON text, as in the database: a caller that mutates a record after
writing it, or a value it read, cannot change what is stored, and a value that is not
JSON fails here as it would there.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

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
    commit_time,
    from_json,
    from_json_or_none,
    stream_additions,
    timer_fired,
    to_json,
    to_json_or_none,
)

# A stored event: id, previous id, timestamp, type, details as JSON text.
_EventRow = tuple[int, int, float, str, str | None]
# A child execution a step changed, with its new events encoded.
_ChildRows = list[tuple[ChildStep, list["_EventRow"]]]


@dataclass
class _History:
    """One execution's events, kept sorted by id with the ids alongside for bisecting."""

    ids: list[int] = field(default_factory=list)
    rows: list[_EventRow] = field(default_factory=list)

    def has(self, event_id: int) -> bool:
        index = bisect.bisect_left(self.ids, event_id)
        return index < len(self.ids) and self.ids[index] == event_id

    def add(self, row: _EventRow) -> None:
        # Events nearly always arrive in id order: append, and bisect only when not.
        if not self.ids or row[0] > self.ids[-1]:
            self.ids.append(row[0])
            self.rows.append(row)
            return
        index = bisect.bisect_left(self.ids, row[0])
        self.ids.insert(index, row[0])
        self.rows.insert(index, row)


@dataclass
class _LogEvents:
    """One log group's events, kept sorted by (timestamp, id) with the keys alongside."""

    keys: list[tuple[int, int]] = field(default_factory=list)
    events: list[LogEventRecord] = field(default_factory=list)

    def add(self, event: LogEventRecord) -> None:
        key = (event.timestamp, event.id)
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.events.append(event)
            return
        index = bisect.bisect_left(self.keys, key)
        self.keys.insert(index, key)
        self.events.insert(index, event)

    def remove_stream(self, name: str) -> None:
        kept = [
            (k, e) for k, e in zip(self.keys, self.events, strict=True) if e.log_stream_name != name
        ]
        self.keys = [k for k, _ in kept]
        self.events = [e for _, e in kept]


def _event_row(event: StoredEvent) -> _EventRow:
    return (
        event.id,
        event.previous_event_id,
        event.timestamp,
        event.type,
        to_json_or_none(event.details),
    )


def _stored_event(row: _EventRow) -> StoredEvent:
    return StoredEvent(row[0], row[1], row[2], row[3], from_json_or_none(row[4]))


def _encode_children(children: Sequence[ChildStep]) -> _ChildRows:
    return [(child, [_event_row(event) for event in child.events]) for child in children]


def _json_copy(value: Any) -> Any:
    """A deep copy through JSON text, so only what the database could keep survives."""
    return from_json(to_json(value))


class MemoryStore(Store):
    """The store in this process's memory; nothing survives ``close``.

    Thread-safe: one lock guards every method, so each is one transaction, as in SQL.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state_machines: dict[str, StateMachineRecord] = {}
        self._versions: dict[str, VersionRecord] = {}
        self._aliases: dict[str, AliasRecord] = {}
        self._activities: dict[str, ActivityRecord] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._events: dict[str, _History] = {}
        # Per execution, message id -> (stimulus JSON, created); ids only grow, so each
        # dictionary's insertion order is id order.
        self._inbox: dict[str, dict[int, tuple[str, float]]] = {}
        self._inbox_ids = itertools.count(1)
        self._timers: dict[tuple[str, str], float] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._log_groups: dict[str, LogGroupRecord] = {}
        self._log_streams: dict[str, dict[str, LogStreamRecord]] = {}  # by group, by name
        self._log_events: dict[str, _LogEvents] = {}  # by group
        self._log_event_ids = itertools.count(1)

    # state machines, versions, aliases ----------------------------------------------------

    def insert_state_machine(self, record: StateMachineRecord) -> None:
        """Add a state machine; ``Conflict`` when its ARN exists."""
        stored = self._copy_state_machine(record)
        with self._lock:
            if record.arn in self._state_machines:
                raise Conflict(f"state machine {record.arn} exists")
            self._state_machines[record.arn] = stored

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine with this (unqualified) ARN."""
        with self._lock:
            record = self._state_machines.get(arn)
            return None if record is None else self._copy_state_machine(record)

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace a stored state machine; ``StoreError`` when there is none."""
        stored = self._copy_state_machine(record)
        with self._lock:
            if record.arn not in self._state_machines:
                raise StoreError(f"no state machine {record.arn}")
            self._state_machines[record.arn] = stored

    def delete_state_machine(self, arn: str) -> None:
        """Remove a state machine with its versions, aliases and tags (not executions)."""
        with self._lock:
            owned = [key for key, v in self._versions.items() if v.state_machine_arn == arn]
            owned += [key for key, a in self._aliases.items() if a.state_machine_arn == arn]
            for key in owned:
                self._versions.pop(key, None)
                self._aliases.pop(key, None)
                self._tags.pop(key, None)
            self._tags.pop(arn, None)
            self._state_machines.pop(arn, None)

    def list_state_machines(self) -> list[StateMachineRecord]:
        """All state machines, oldest first."""
        with self._lock:
            records = sorted(self._state_machines.values(), key=lambda r: r.creation_date)
            return [self._copy_state_machine(record) for record in records]

    def insert_version(self, record: VersionRecord) -> None:
        """Add a version; ``Conflict`` when its ARN (or its number) exists."""
        stored = self._copy_version(record)
        with self._lock:
            if record.arn in self._versions or any(
                v.state_machine_arn == record.state_machine_arn and v.version == record.version
                for v in self._versions.values()
            ):
                raise Conflict(f"version {record.arn} exists")
            if record.state_machine_arn not in self._state_machines:
                raise StoreError(f"no state machine {record.state_machine_arn}")
            self._versions[record.arn] = stored

    def get_version(self, arn: str) -> VersionRecord | None:
        """The version with this ARN."""
        with self._lock:
            record = self._versions.get(arn)
            return None if record is None else self._copy_version(record)

    def list_versions(self, state_machine_arn: str) -> list[VersionRecord]:
        """A state machine's versions, newest first."""
        with self._lock:
            records = [
                v for v in self._versions.values() if v.state_machine_arn == state_machine_arn
            ]
            records.sort(key=lambda r: r.version, reverse=True)
            return [self._copy_version(record) for record in records]

    def delete_version(self, arn: str) -> None:
        """Remove a version and its tags."""
        with self._lock:
            self._versions.pop(arn, None)
            self._tags.pop(arn, None)

    def insert_alias(self, record: AliasRecord) -> None:
        """Add an alias; ``Conflict`` when its ARN exists."""
        stored = self._copy_alias(record)
        with self._lock:
            if record.arn in self._aliases:
                raise Conflict(f"alias {record.arn} exists")
            if record.state_machine_arn not in self._state_machines:
                raise StoreError(f"no state machine {record.state_machine_arn}")
            self._aliases[record.arn] = stored

    def get_alias(self, arn: str) -> AliasRecord | None:
        """The alias with this ARN."""
        with self._lock:
            record = self._aliases.get(arn)
            return None if record is None else self._copy_alias(record)

    def update_alias(self, record: AliasRecord) -> None:
        """Replace a stored alias; ``StoreError`` when there is none."""
        stored = self._copy_alias(record)
        with self._lock:
            if record.arn not in self._aliases:
                raise StoreError(f"no alias {record.arn}")
            if record.state_machine_arn not in self._state_machines:
                raise StoreError(f"no state machine {record.state_machine_arn}")
            self._aliases[record.arn] = stored

    def delete_alias(self, arn: str) -> None:
        """Remove an alias and its tags."""
        with self._lock:
            self._aliases.pop(arn, None)
            self._tags.pop(arn, None)

    def list_aliases(self, state_machine_arn: str) -> list[AliasRecord]:
        """A state machine's aliases, oldest first."""
        with self._lock:
            records = [
                a for a in self._aliases.values() if a.state_machine_arn == state_machine_arn
            ]
            records.sort(key=lambda r: r.creation_date)
            return [self._copy_alias(record) for record in records]

    # activities and tags ------------------------------------------------------------------

    def insert_activity(self, record: ActivityRecord) -> None:
        """Add an activity; ``Conflict`` when its ARN exists."""
        with self._lock:
            if record.arn in self._activities:
                raise Conflict(f"activity {record.arn} exists")
            self._activities[record.arn] = replace(record)

    def get_activity(self, arn: str) -> ActivityRecord | None:
        """The activity with this ARN."""
        with self._lock:
            record = self._activities.get(arn)
            return None if record is None else replace(record)

    def delete_activity(self, arn: str) -> None:
        """Remove an activity and its tags."""
        with self._lock:
            self._activities.pop(arn, None)
            self._tags.pop(arn, None)

    def list_activities(self) -> list[ActivityRecord]:
        """All activities, oldest first."""
        with self._lock:
            records = sorted(self._activities.values(), key=lambda r: r.creation_date)
            return [replace(record) for record in records]

    def get_tags(self, resource_arn: str) -> dict[str, str]:
        """A resource's tags, by key."""
        with self._lock:
            return dict(sorted(self._tags.get(resource_arn, {}).items()))

    def set_tags(self, resource_arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags of a resource."""
        with self._lock:
            if tags:
                self._tags.setdefault(resource_arn, {}).update(tags)

    def remove_tags(self, resource_arn: str, keys: Iterable[str]) -> None:
        """Remove tags of a resource (missing keys are ignored)."""
        with self._lock:
            tags = self._tags.get(resource_arn)
            if tags is None:
                return
            for key in keys:
                tags.pop(key, None)
            if not tags:
                del self._tags[resource_arn]

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
        when its ARN (or a child's), an event id or a task token exists. The stimuli are
        queued as created at the execution's start date."""
        rows = [_event_row(event) for event in events]
        stimuli = [to_json(stimulus) for stimulus in inbox]
        child_rows = _encode_children(children)
        if len({row[0] for row in rows}) != len(rows):
            raise Conflict(f"execution {record.arn}: an event id is repeated")
        with self._lock:
            if record.arn in self._executions:
                raise Conflict(f"execution {record.arn} exists")
            tokens = [task.token for task in tasks]
            if len(set(tokens)) != len(tokens) or any(t in self._tasks for t in tokens):
                raise Conflict(f"execution {record.arn}: a task token exists")
            self._check_children(child_rows, {record.arn})
            self._executions[record.arn] = replace(record)
            self._apply_children(child_rows)
            for task in tasks:
                self._tasks[task.token] = replace(task)
            history = self._events[record.arn] = _History()
            for row in sorted(rows):
                history.add(row)
            for timer in timers:
                self._timers[(record.arn, timer.timer_id)] = timer.due
            for stimulus in stimuli:
                self._queue(record.arn, stimulus, record.start_date)

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution with this ARN."""
        with self._lock:
            record = self._executions.get(arn)
            return None if record is None else replace(record)

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
        wanted = {
            name: value
            for name, value in (
                ("state_machine_arn", state_machine_arn),
                ("status", status),
                ("version_arn", version_arn),
                ("alias_arn", alias_arn),
                ("map_run_arn", map_run_arn),
                ("map_run_event_id", map_run_event_id),
            )
            if value is not None
        }
        with self._lock:
            # Reversed first: the sort is stable, so equal dates keep newest-written first.
            records = [
                record
                for record in reversed(self._executions.values())
                if all(getattr(record, name) == value for name, value in wanted.items())
                and (redriven is None or (record.redrive_count > 0) == redriven)
            ]
            records.sort(key=lambda r: r.start_date, reverse=True)
            end = None if limit is None else offset + limit
            return [replace(record) for record in records[offset:end]]

    def count_map_run_children(
        self, map_run_arn: str, map_run_event_id: int
    ) -> dict[str, tuple[int, int]]:
        """The child executions of one run of a map run, by status: (executions, items)."""
        counts: dict[str, tuple[int, int]] = {}
        with self._lock:
            for record in self._executions.values():
                if (
                    record.map_run_arn == map_run_arn
                    and record.map_run_event_id == map_run_event_id
                ):
                    executions, items = counts.get(record.status, (0, 0))
                    counts[record.status] = (executions + 1, items + (record.item_count or 0))
        return counts

    def update_execution(self, record: ExecutionRecord) -> None:
        """Replace a stored execution's row; ``StoreError`` when there is none."""
        with self._lock:
            if record.arn not in self._executions:
                raise StoreError(f"no execution {record.arn}")
            self._executions[record.arn] = replace(record)

    def commit_steps(self, commits: Sequence[StepCommit]) -> list[str]:
        """Commit steps of (possibly many) executions in one transaction.

        Returns the ARNs of the commits refused because their ``expected_next_event_id``
        no longer matched, or whose execution does not exist (those change nothing); the
        others are committed. ``Conflict`` when an accepted commit repeats an event id or
        a task token, with nothing committed.
        """
        # Encoded before taking the lock (and before changing anything, so that a value
        # that is not JSON leaves the store as it was).
        encoded = [
            (
                commit,
                [_event_row(event) for event in commit.events],
                [to_json(stimulus) for stimulus in commit.new_inbox],
            )
            for commit in commits
        ]
        children = {id(commit): _encode_children(commit.children) for commit in commits}
        with self._lock:
            refused: list[str] = []
            accepted: list[tuple[StepCommit, list[_EventRow], list[str]]] = []
            next_ids: dict[str, int] = {}
            for item in encoded:
                arn = item[0].execution_arn
                execution = self._executions.get(arn)
                current = next_ids.get(arn, execution.next_event_id if execution else None)
                if current != item[0].expected_next_event_id:
                    refused.append(arn)
                    continue
                next_ids[arn] = item[0].next_event_id
                accepted.append(item)
            # Every check before the first change: all or nothing.
            self._check_new_keys(accepted)
            new_children: set[str] = set()
            for commit, _, _ in accepted:
                self._check_children(children[id(commit)], new_children)
            for commit, rows, stimuli in accepted:
                self._apply(commit, rows, stimuli)
                self._apply_children(children[id(commit)])
            return refused

    def _check_children(self, children: _ChildRows, new: set[str]) -> None:
        """``Conflict`` when child executions would repeat an ARN or an event id; ``new``:
        the ARNs added so far by the same transaction (it gets these)."""
        for child, rows in children:
            if child.new is not None:
                if child.arn in self._executions or child.arn in new:
                    raise Conflict(f"execution {child.arn} exists")
                new.add(child.arn)
            elif child.arn not in self._executions:
                raise StoreError(f"no execution {child.arn}")
            history = self._events.get(child.arn)
            ids = [row[0] for row in rows]
            if len(set(ids)) != len(ids) or (history is not None and any(map(history.has, ids))):
                raise Conflict(f"execution {child.arn}: an event id exists")

    def _apply_children(self, children: _ChildRows) -> None:
        for child, rows in children:
            if child.new is not None:
                self._executions[child.arn] = replace(child.new)
            elif child.status != "RUNNING" or child.redrive_count is not None:
                # An end, or a redrive (running again, or already ended again): either
                # way the step's word on its status and result is the last.
                record = self._executions[child.arn]
                record.status, record.stop_date = child.status, child.stop_date
                record.output, record.error, record.cause = child.output, child.error, child.cause
                record.next_event_id = child.next_event_id
                if child.redrive_count is not None:
                    record.redrive_count = child.redrive_count
                    record.redrive_date = child.redrive_date
            history = self._events.setdefault(child.arn, _History())
            for row in rows:
                history.add(row)

    def _check_new_keys(
        self, accepted: Sequence[tuple[StepCommit, list[_EventRow], list[str]]]
    ) -> None:
        """``Conflict`` when the commits would repeat an event id or a task token."""
        seen_events: set[tuple[str, int]] = set()
        seen_tokens: set[str] = set()
        for commit, event_rows, _ in accepted:
            history = self._events.get(commit.execution_arn)
            for row in event_rows:
                key = (commit.execution_arn, row[0])
                if key in seen_events or (history is not None and history.has(row[0])):
                    raise Conflict(f"execution {commit.execution_arn}: event {row[0]} exists")
                seen_events.add(key)
            for task in commit.new_tasks:
                if task.token in seen_tokens or task.token in self._tasks:
                    raise Conflict(f"task {task.token} exists")
                seen_tokens.add(task.token)

    def _apply(self, commit: StepCommit, rows: list[_EventRow], stimuli: list[str]) -> None:
        arn = commit.execution_arn
        execution = self._executions[arn]
        execution.next_event_id = commit.next_event_id
        execution.run_state = commit.run_state
        execution.status = commit.status
        if commit.redrive_count is not None:
            execution.redrive_count = commit.redrive_count
            execution.redrive_date = commit.redrive_date
            execution.output = execution.error = execution.cause = None
            execution.stop_date = None
        # A step that does not finish the execution leaves its result alone.
        if commit.output is not None:
            execution.output = commit.output
        if commit.error is not None:
            execution.error = commit.error
        if commit.cause is not None:
            execution.cause = commit.cause
        if commit.stop_date is not None:
            execution.stop_date = commit.stop_date
        history = self._events.setdefault(arn, _History())
        for row in rows:
            history.add(row)
        queued = self._inbox.get(arn)
        if queued is not None:
            for message_id in commit.consumed_inbox_ids:
                queued.pop(message_id, None)
        created = commit_time(commit)
        for stimulus in stimuli:
            self._queue(arn, stimulus, created)
        for timer_id in commit.cancelled_timer_ids:
            self._timers.pop((arn, timer_id), None)
        for timer in commit.new_timers:
            self._timers[(arn, timer.timer_id)] = timer.due
        for task in commit.new_tasks:
            self._tasks[task.token] = replace(task)
        for token in commit.finished_task_tokens:
            finished = self._tasks.get(token)
            if finished is not None:
                finished.status = "done"

    def get_events(
        self, execution_arn: str, after_id: int = 0, limit: int | None = None, reverse: bool = False
    ) -> list[StoredEvent]:
        """History events in id order (or reverse), starting after ``after_id`` (in
        reverse: before it, when it is not 0)."""
        with self._lock:
            history = self._events.get(execution_arn)
            if history is None or limit == 0:
                return []
            if reverse:
                end = bisect.bisect_left(history.ids, after_id) if after_id else len(history.ids)
                start = 0 if limit is None else max(0, end - limit)
                rows = history.rows[start:end][::-1]
            else:
                start = bisect.bisect_right(history.ids, after_id)
                end = len(history.ids) if limit is None else start + limit
                rows = history.rows[start:end]
            return [_stored_event(row) for row in rows]

    def count_events(self, execution_arn: str) -> int:
        """How many history events an execution has."""
        with self._lock:
            history = self._events.get(execution_arn)
            return 0 if history is None else len(history.ids)

    # inbox, timers, tasks -----------------------------------------------------------------

    def add_inbox(self, execution_arn: str, stimulus: dict[str, Any], now: float) -> int:
        """Queue a stimulus for an execution; returns its message id. ``StoreError`` when
        the execution does not exist."""
        text = to_json(stimulus)
        with self._lock:
            if execution_arn not in self._executions:
                raise StoreError(f"no execution {execution_arn}")
            return self._queue(execution_arn, text, now)

    def _queue(self, execution_arn: str, stimulus: str, created: float) -> int:
        message_id = next(self._inbox_ids)
        self._inbox.setdefault(execution_arn, {})[message_id] = (stimulus, created)
        return message_id

    def inbox(self, execution_arn: str) -> list[InboxMessage]:
        """An execution's waiting stimuli, oldest first."""
        with self._lock:
            queued = self._inbox.get(execution_arn, {})
            return [
                InboxMessage(message_id, execution_arn, from_json(text), created)
                for message_id, (text, created) in queued.items()
            ]

    def executions_with_inbox(self, limit: int = 1000) -> list[str]:
        """ARNs of executions that have waiting stimuli, oldest message first."""
        with self._lock:
            firsts = [(next(iter(queued)), arn) for arn, queued in self._inbox.items() if queued]
            return [arn for _, arn in heapq.nsmallest(limit, firsts)]

    def fire_due_timers(self, now: float, limit: int = 1000) -> list[str]:
        """Move timers due at ``now`` into their executions' inboxes as
        ``{"type": "TimerFired", "timer_id": ...}`` (created at their due time: that is
        when they happened, which orders them before later answers in the inbox),
        earliest due first, in one transaction; returns the ARNs that got one."""
        with self._lock:
            due = heapq.nsmallest(
                limit, ((d, arn, tid) for (arn, tid), d in self._timers.items() if d <= now)
            )
            for when, arn, timer_id in due:
                del self._timers[(arn, timer_id)]
                self._queue(arn, to_json(timer_fired(timer_id)), when)
            return list(dict.fromkeys(arn for _, arn, _ in due))

    def next_timer_due(self) -> float | None:
        """The earliest due time of any timer."""
        with self._lock:
            return min(self._timers.values(), default=None)

    def get_task(self, token: str) -> TaskRecord | None:
        """The task with this token."""
        with self._lock:
            task = self._tasks.get(token)
            return None if task is None else replace(task)

    def tasks_with_status(self, status: str, kind: str | None = None) -> list[TaskRecord]:
        """Tasks in a status (and of a kind), oldest first."""
        with self._lock:
            tasks = [
                task
                for task in self._tasks.values()
                if task.status == status and (kind is None or task.kind == kind)
            ]
            tasks.sort(key=lambda t: t.created)
            return [replace(task) for task in tasks]

    def mark_task(self, token: str, status: str, worker_name: str | None = None) -> None:
        """Move a task to a status (and, when given, to a worker); ``StoreError`` when
        there is no such task."""
        with self._lock:
            task = self._tasks.get(token)
            if task is None:
                raise StoreError(f"no task {token}")
            task.status = status
            if worker_name is not None:
                task.worker_name = worker_name

    def claim_activity_task(self, activity_arn: str, worker_name: str | None) -> TaskRecord | None:
        """Atomically take the oldest ``scheduled`` task of an activity (now
        ``dispatched``), or None."""
        with self._lock:
            waiting = [
                task
                for task in self._tasks.values()
                if task.activity_arn == activity_arn and task.status == "scheduled"
            ]
            if not waiting:
                return None
            task = min(waiting, key=lambda t: t.created)
            task.status = "dispatched"
            task.worker_name = worker_name
            return replace(task)

    # log groups, streams and events -------------------------------------------------------

    def create_log_group(self, record: LogGroupRecord) -> None:
        """Add a log group; ``Conflict`` when its name exists."""
        with self._lock:
            if record.name in self._log_groups:
                raise Conflict(f"log group {record.name} exists")
            self._log_groups[record.name] = replace(record, stored_bytes=0)

    def get_log_group(self, name: str) -> LogGroupRecord | None:
        """The log group with this name (its stored bytes summed)."""
        with self._lock:
            record = self._log_groups.get(name)
            return None if record is None else self._copy_log_group(record)

    def update_log_group(self, record: LogGroupRecord) -> None:
        """Replace a log group's settings; ``StoreError`` when there is none."""
        with self._lock:
            stored = self._log_groups.get(record.name)
            if stored is None:
                raise StoreError(f"no log group {record.name}")
            stored.retention_in_days = record.retention_in_days
            stored.kms_key_id = record.kms_key_id
            stored.log_group_class = record.log_group_class

    def list_log_groups(self, prefix: str | None = None) -> list[LogGroupRecord]:
        """Log groups whose name starts with ``prefix`` (all when None), by name."""
        with self._lock:
            return [
                self._copy_log_group(record)
                for name, record in sorted(self._log_groups.items())
                if prefix is None or name.startswith(prefix)
            ]

    def delete_log_group(self, name: str) -> None:
        """Remove a log group with its streams and events (nothing when missing)."""
        with self._lock:
            self._log_groups.pop(name, None)
            self._log_streams.pop(name, None)
            self._log_events.pop(name, None)

    def create_log_stream(self, record: LogStreamRecord) -> None:
        """Add an empty log stream; ``Conflict`` when it exists, ``StoreError`` when its
        log group does not."""
        with self._lock:
            if record.log_group_name not in self._log_groups:
                raise StoreError(f"no log group {record.log_group_name}")
            streams = self._log_streams.setdefault(record.log_group_name, {})
            if record.name in streams:
                raise Conflict(f"log stream {record.name} exists")
            streams[record.name] = replace(record)

    def list_log_streams(
        self, log_group_name: str, prefix: str | None = None
    ) -> list[LogStreamRecord]:
        """A log group's streams whose name starts with ``prefix``, by name."""
        with self._lock:
            streams = self._log_streams.get(log_group_name, {})
            return [
                replace(record)
                for name, record in sorted(streams.items())
                if prefix is None or name.startswith(prefix)
            ]

    def delete_log_stream(self, log_group_name: str, name: str) -> None:
        """Remove a log stream with its events (nothing when missing)."""
        with self._lock:
            streams = self._log_streams.get(log_group_name, {})
            if streams.pop(name, None) is not None and log_group_name in self._log_events:
                self._log_events[log_group_name].remove_stream(name)

    def append_log_events(self, events: Sequence[LogEventRecord]) -> None:
        """Store log events in the order given, in one transaction; missing log groups
        and streams are created (at the event's ingestion time)."""
        additions = stream_additions(events)
        with self._lock:
            for event in events:
                if event.log_group_name not in self._log_groups:
                    self._log_groups[event.log_group_name] = LogGroupRecord(
                        event.log_group_name, event.ingestion_time
                    )
            for added in additions:
                streams = self._log_streams.setdefault(added["log_group_name"], {})
                stream = streams.get(added["name"])
                if stream is None:
                    stream = streams[added["name"]] = LogStreamRecord(
                        added["log_group_name"], added["name"], added["ingestion_time"]
                    )
                first, last = added["first_event_timestamp"], added["last_event_timestamp"]
                ingested = added["ingestion_time"]
                if stream.first_event_timestamp is not None:
                    first = min(first, stream.first_event_timestamp)
                if stream.last_event_timestamp is not None:
                    last = max(last, stream.last_event_timestamp)
                if stream.last_ingestion_time is not None:
                    ingested = max(ingested, stream.last_ingestion_time)
                stream.first_event_timestamp = first
                stream.last_event_timestamp = last
                stream.last_ingestion_time = ingested
                stream.stored_bytes += added["stored_bytes"]
            for event in events:
                stored = replace(event, id=next(self._log_event_ids))
                self._log_events.setdefault(event.log_group_name, _LogEvents()).add(stored)

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
        wanted = None if streams is None else set(streams)
        with self._lock:
            stored = self._log_events.get(log_group_name)
            if stored is None or limit == 0:
                return []
            # The position bounds and the time range narrow the sorted list by bisection.
            low = 0
            high = len(stored.keys)
            if after is not None:
                low = max(low, bisect.bisect_right(stored.keys, after))
            if start is not None:
                low = max(low, bisect.bisect_left(stored.keys, (start, -1)))
            if before is not None:
                high = min(high, bisect.bisect_left(stored.keys, before))
            if end is not None:
                high = min(high, bisect.bisect_left(stored.keys, (end, -1)))
            candidates = stored.events[low:high]
            if reverse:
                candidates = candidates[::-1]
            found: list[LogEventRecord] = []
            for event in candidates:
                if wanted is not None and event.log_stream_name not in wanted:
                    continue
                if stream_prefix is not None and not event.log_stream_name.startswith(
                    stream_prefix
                ):
                    continue
                if any(term not in event.message for term in terms):
                    continue
                found.append(replace(event))
                if limit is not None and len(found) >= limit:
                    break
            return found

    def close(self) -> None:
        """Nothing to release; the data goes with the object."""

    # copies -------------------------------------------------------------------------------

    @staticmethod
    def _copy_state_machine(record: StateMachineRecord) -> StateMachineRecord:
        return replace(
            record,
            logging_configuration=_json_copy(record.logging_configuration),
            tracing_configuration=_json_copy(record.tracing_configuration),
            encryption_configuration=_json_copy(record.encryption_configuration),
        )

    @staticmethod
    def _copy_version(record: VersionRecord) -> VersionRecord:
        return replace(
            record,
            logging_configuration=_json_copy(record.logging_configuration),
            tracing_configuration=_json_copy(record.tracing_configuration),
        )

    @staticmethod
    def _copy_alias(record: AliasRecord) -> AliasRecord:
        return replace(record, routing_configuration=_json_copy(record.routing_configuration))

    def _copy_log_group(self, record: LogGroupRecord) -> LogGroupRecord:
        # Called with the lock held.
        streams = self._log_streams.get(record.name, {})
        return replace(record, stored_bytes=sum(s.stored_bytes for s in streams.values()))
