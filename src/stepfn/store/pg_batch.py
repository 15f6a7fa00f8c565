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
    v: defaultdict[str, list[Any]] = defaultdict(list)
    for commit in commits:
        arn = commit.execution_arn
        events, inbox, _ = commit_rows(commit)
        v["arn"].append(arn)
        v["expected"].append(commit.expected_next_event_id)
        v["next"].append(commit.next_event_id)
        v["run_state"].append(commit.run_state)
        v["status"].append(commit.status)
        v["output"].append(commit.output)
        v["error"].append(commit.error)
        v["cause"].append(commit.cause)
        v["stop_date"].append(_float(commit.stop_date))
        v["redrive"].append(0 if commit.redrive_count is None else 1)
        v["redrive_count"].append(commit.redrive_count)
        v["redrive_date"].append(_float(commit.redrive_date))
        v["owner"].append(commit.lease_owner)
        v["expected_run_state"].append(commit.expected_run_state)
        for _, id_, previous, timestamp, type_, details in events:
            v["event_arn"].append(arn)
            v["event_id"].append(id_)
            v["event_previous"].append(previous)
            v["event_timestamp"].append(float(timestamp))
            v["event_type"].append(type_)
            v["event_details"].append(details)
        for message_id in commit.consumed_inbox_ids:
            v["consumed_id"].append(message_id)
            v["consumed_arn"].append(arn)
        for _, stimulus, created in inbox:
            v["inbox_arn"].append(arn)
            v["inbox_stimulus"].append(stimulus)
            v["inbox_created"].append(float(created))
        # A timer the step both cancels and sets is set (the last word, as in
        # SqlStore.commit_steps): one statement must not touch a row twice.
        timers: dict[str, float | None] = dict.fromkeys(commit.cancelled_timer_ids)
        for timer in commit.new_timers:
            timers[timer.timer_id] = timer.due
        for timer_id, due in timers.items():
            if due is None:
                v["cancelled_arn"].append(arn)
                v["cancelled_id"].append(timer_id)
            else:
                v["timer_arn"].append(arn)
                v["timer_id"].append(timer_id)
                v["timer_due"].append(float(due))
        finished = set(commit.finished_task_tokens)
        for task in commit.new_tasks:
            done = task.token in finished  # the UPDATE of finished tasks cannot see it
            v["task_token"].append(task.token)
            v["task_arn"].append(task.execution_arn)
            v["task_resource"].append(task.resource)
            v["task_payload"].append(task.payload)
            v["task_state_name"].append(task.state_name)
            v["task_kind"].append(task.kind)
            v["task_status"].append("done" if done else task.status)
            v["task_created"].append(float(task.created))
            v["task_activity_arn"].append(task.activity_arn)
            v["task_worker_name"].append(task.worker_name)
            v["task_timeout"].append(_float(task.timeout_seconds))
            v["task_heartbeat"].append(_float(task.heartbeat_seconds))
            v["task_attempt"].append(task.attempt)
            v["task_lease_owner"].append(None if done else task.lease_owner)
            v["task_lease_expires"].append(None if done else _float(task.lease_expires))
            v["task_step"].append(arn)
        for token in commit.finished_task_tokens:
            v["finished_token"].append(token)
            v["finished_arn"].append(arn)
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
