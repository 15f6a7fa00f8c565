"""The parameters of PostgreSQL's single-statement writes: rows as arrays, one a column.

A step's commit was a dozen statements between BEGIN and COMMIT (one UPDATE per
execution, then one INSERT per event, inbox message, timer and task), each a round trip
or a pipelined execution of its own, and each costing the server a pass of its executor
and the driver the building of a query. ``queries/postgres.sql``'s ``commit_steps`` and
``complete_tasks`` do the same in one statement, which is its own transaction: the rows
go in as arrays and are unnested there. This module turns records into those arrays.

Floats go in as floats and integers as integers: psycopg refuses a list of mixed types
(a ``created`` of ``1500`` next to one of ``1500.5``).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from stepfn.store import sqlfile
from stepfn.store.base import StepCommit
from stepfn.store.sql_rows import commit_rows

_PARAMETER = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@functools.cache
def parameters(query: str) -> tuple[str, ...]:
    """The names of the ``:name`` parameters of a query of ``postgres.sql``: each array
    is given, empty ones too."""
    return tuple(dict.fromkeys(_PARAMETER.findall(sqlfile.queries("postgres")[query])))


class _Columns(defaultdict[str, list[Any]]):
    """Arrays by parameter name, filled a row at a time: ``add("event_", id=1, ...)``
    appends each cell to the array of its column (``event_id``, ...)."""

    def __init__(self) -> None:
        super().__init__(list)

    def add(self, prefix: str, **cells: Any) -> None:
        """Append one row's ``cells`` to the arrays ``prefix`` + each cell's name."""
        for name, value in cells.items():
            self[prefix + name].append(value)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def commit_arrays(commits: Sequence[StepCommit]) -> dict[str, list[Any]] | None:
    """The parameters of ``commit_steps`` for these commits, or None when the statement
    cannot take them: a commit that changes child executions (their rows and their
    definitions go in through ``SqlStore.commit_steps``), or two commits of one
    execution (one UPDATE changes a row once)."""
    arns = [commit.execution_arn for commit in commits]
    if len(set(arns)) != len(arns) or any(commit.children for commit in commits):
        return None
    v = _Columns()
    for commit in commits:
        arn = commit.execution_arn
        events, inbox, _ = commit_rows(commit)
        v.add(
            "",
            arn=arn,
            expected=commit.expected_next_event_id,
            next=commit.next_event_id,
            run_state=commit.run_state,
            status=commit.status,
            output=commit.output,
            error=commit.error,
            cause=commit.cause,
            stop_date=_float(commit.stop_date),
            redrive=0 if commit.redrive_count is None else 1,
            redrive_count=commit.redrive_count,
            redrive_date=_float(commit.redrive_date),
            owner=commit.lease_owner,
            expected_run_state=commit.expected_run_state,
        )
        for _, id_, previous, timestamp, type_, details in events:
            v.add(
                "event_",
                arn=arn,
                id=id_,
                previous=previous,
                timestamp=float(timestamp),
                type=type_,
                details=details,
            )
        for message_id in commit.consumed_inbox_ids:
            v.add("consumed_", id=message_id, arn=arn)
        for _, stimulus, created in inbox:
            v.add("inbox_", arn=arn, stimulus=stimulus, created=float(created))
        # A timer the step both cancels and sets is set (the last word, as in
        # SqlStore.commit_steps): one statement must not touch a row twice.
        timers: dict[str, float | None] = dict.fromkeys(commit.cancelled_timer_ids)
        for timer in commit.new_timers:
            timers[timer.timer_id] = timer.due
        for timer_id, due in timers.items():
            if due is None:
                v.add("cancelled_", arn=arn, id=timer_id)
            else:
                v.add("timer_", arn=arn, id=timer_id, due=float(due))
        finished = set(commit.finished_task_tokens)
        for task in commit.new_tasks:
            done = task.token in finished  # the UPDATE of finished tasks cannot see it
            v.add(
                "task_",
                token=task.token,
                arn=task.execution_arn,
                resource=task.resource,
                payload=task.payload,
                state_name=task.state_name,
                kind=task.kind,
                status="done" if done else task.status,
                created=float(task.created),
                activity_arn=task.activity_arn,
                worker_name=task.worker_name,
                timeout=_float(task.timeout_seconds),
                heartbeat=_float(task.heartbeat_seconds),
                attempt=task.attempt,
                lease_owner=None if done else task.lease_owner,
                lease_expires=None if done else _float(task.lease_expires),
                step=arn,
            )
        for token in commit.finished_task_tokens:
            v.add("finished_", token=token, arn=arn)
    return {name: v[name] for name in parameters("commit_steps")}


def answer_arrays(
    tokens: Sequence[str], stimuli: Sequence[Any], created: Sequence[float]
) -> dict[str, list[Any]]:
    """The parameters of ``complete_tasks``: each answer numbered by its place, and only
    the first answer of a token (a later one finds its task done, as it would one at a
    time)."""
    v: dict[str, list[Any]] = {"token": [], "stimulus": [], "created": [], "n": []}
    seen: set[str] = set()
    for n, (token, stimulus, when) in enumerate(zip(tokens, stimuli, created, strict=True)):
        if token in seen:
            continue
        seen.add(token)
        v["token"].append(token)
        v["stimulus"].append(stimulus)
        v["created"].append(float(when))
        v["n"].append(n)
    return v
