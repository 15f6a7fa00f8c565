"""Records to rows and rows to records, for the SQL stores (``sql.SqlStore``).

Kept apart from the transactions so that JSON is encoded and rows are built before a
store takes its connection: the expensive part of a commit happens outside its lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stepfn.store.base import ChildStep, StepCommit, StoredEvent
from stepfn.store.common import commit_time, from_json, to_json, to_json_or_none

# The columns holding JSON documents, by table: records carry them as values.
JSON_COLUMNS = {
    "state_machines": (
        "logging_configuration",
        "tracing_configuration",
        "encryption_configuration",
    ),
    "versions": ("logging_configuration", "tracing_configuration"),
    "aliases": ("routing_configuration",),
    "iam_roles": ("tags",),
    "iam_policies": ("tags",),
}


def rows(cursor: Any) -> list[dict[str, Any]]:
    """A DB-API cursor's rows as dictionaries by column name."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def params(record: Any, table: str) -> dict[str, Any]:
    """A record's fields as query parameters, JSON fields as text."""
    values = dict(vars(record))
    for name in JSON_COLUMNS.get(table, ()):
        values[name] = to_json(values[name])
    return values


def record(row: dict[str, Any], table: str) -> dict[str, Any]:
    """A row's columns as record fields, JSON text as values."""
    for name in JSON_COLUMNS.get(table, ()):
        row[name] = from_json(row[name])
    return row


@dataclass(slots=True)
class NewExecution:
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


def event_row(execution_arn: str, event: StoredEvent) -> tuple[Any, ...]:
    """The row of a history event."""
    return (
        execution_arn,
        event.id,
        event.previous_event_id,
        event.timestamp,
        event.type,
        to_json_or_none(event.details),
    )


# (new rows, ends, redrives)
ChildRows = tuple[list[dict[str, Any]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def commit_rows(
    commit: StepCommit,
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, float]], ChildRows | None]:
    """A commit's event and inbox rows, JSON encoded, and the rows of the child
    executions it changed (None when it changed none: most commits)."""
    arn = commit.execution_arn
    created = commit_time(commit)
    events = [event_row(arn, event) for event in commit.events]
    children = child_rows(commit.children, events) if commit.children else None
    return events, [(arn, to_json(stimulus), created) for stimulus in commit.new_inbox], children


def child_rows(children: Sequence[ChildStep], events: list[tuple[Any, ...]]) -> ChildRows:
    """The rows of child executions a step changed: those it started (to insert), the
    ends of those started before and the redrives of those it redrove (to update).
    Their events join ``events``."""
    new: list[dict[str, Any]] = []
    ended: list[tuple[Any, ...]] = []
    redriven: list[tuple[Any, ...]] = []
    for child in children:
        events += [event_row(child.arn, event) for event in child.events]
        if child.new is not None:
            new.append(params(child.new, "executions"))
        else:
            # The same columns, in the order the update queries take them.
            outcome = (
                child.status,
                child.output,
                child.error,
                child.cause,
                child.stop_date,
                child.next_event_id,
            )
            if child.redrive_count is not None:
                redriven.append((*outcome, child.redrive_count, child.redrive_date, child.arn))
            elif child.status != "RUNNING":
                ended.append((*outcome, child.arn))
    return new, ended, redriven
