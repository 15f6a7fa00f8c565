"""What a step's commands ask for, as one plan: the one way commands become effects.

The interpreter's ``step`` returns commands (``interp.commands``): start or cancel a
timer, invoke or cancel a task, start a child execution. Three drivers carry them out,
each its own way: the durable worker (``worker.py``) writes timer and task rows in the
step's transaction and dispatches the tasks after the commit; the local driver of
``stepfn.run`` (``local.py``) keeps timers in a heap and invokes tasks in-process;
TestState (``teststate/``) answers the one task with its mock and ends a Wait at once.
``plan`` reads the commands of one step (or of several applied in a row) once, the
same way for all three, into ``Effects``; each driver applies that.

What the plan settles, so that no driver decides it again:

* a timer started and cancelled within the planned commands never needs to exist: it
  is in neither ``timers`` nor ``cancelled_timers`` (a Wait cut short by a Stop in the
  same step, a task that answered within its step and its timeout timer);
* ``commands`` keeps the order the interpreter gave (less those timers), for a driver
  whose queue is ordered by arrival (two effects due at one instant happen in that
  order);
* the children started, by ARN (a step's child events name them).

``task_request`` is the adapter's view of an ``InvokeTask``; ``ending`` reads how a
child execution ended from its last event: both shared by the drivers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stepfn.interp.commands import (
    CancelTask,
    CancelTimer,
    Command,
    InvokeTask,
    StartChildExecution,
    StartTimer,
)
from stepfn.interp.context import ExecutionInfo
from stepfn.interp.events import EXECUTION_ENDS, Event
from stepfn.tasks.base import TaskRequest


@dataclass
class Effects:
    """The effects of a step's commands, each kind in the order it was asked for."""

    commands: list[Command] = field(default_factory=list)
    timers: list[StartTimer] = field(default_factory=list)
    cancelled_timers: list[str] = field(default_factory=list)  # timers of earlier steps
    tasks: list[InvokeTask] = field(default_factory=list)
    cancelled_tasks: list[str] = field(default_factory=list)
    children: dict[str, StartChildExecution] = field(default_factory=dict)


def plan(commands: Iterable[Command]) -> Effects:
    """The effects of ``commands`` (one step's, or several steps' in a row)."""
    ordered = list(commands)
    cancelled = {c.timer_id for c in ordered if isinstance(c, CancelTimer)}
    moot: set[str] = set()  # started and cancelled here: nothing to keep or cancel
    if cancelled:
        moot = cancelled & {c.timer_id for c in ordered if isinstance(c, StartTimer)}
    effects = Effects()
    for command in ordered:
        if isinstance(command, StartTimer):
            if command.timer_id in moot:
                continue
            effects.timers.append(command)
        elif isinstance(command, CancelTimer):
            if command.timer_id in moot:
                continue
            effects.cancelled_timers.append(command.timer_id)
        elif isinstance(command, InvokeTask):
            effects.tasks.append(command)
        elif isinstance(command, CancelTask):
            effects.cancelled_tasks.append(command.token)
        elif isinstance(command, StartChildExecution):
            effects.children[command.arn] = command
        effects.commands.append(command)
    return effects


def task_request(
    command: InvokeTask, info: ExecutionInfo, attempt: int | None = None
) -> TaskRequest:
    """The adapter's request for an ``InvokeTask`` of the execution ``info`` describes
    (``attempt``: when the driver counts attempts otherwise, as TestState does)."""
    return TaskRequest(
        token=command.token,
        resource=command.resource,
        payload=command.payload,
        state_name=command.state_name,
        execution=info,
        timeout_seconds=command.timeout_seconds,
        heartbeat_seconds=command.heartbeat_seconds,
        attempt=command.attempt if attempt is None else attempt,
        role_arn=command.role_arn,
    )


@dataclass(frozen=True)
class Ending:
    """How a child execution ended, read from its last event."""

    status: str
    stopped: float
    output: Any
    error: str | None
    cause: str | None


def ending(event: Event, details: dict[str, Any] | None = None) -> Ending | None:
    """The end ``event`` records (``ExecutionSucceeded``, ``ExecutionFailed``...), or
    None for any other event. ``details``: the event's details as the caller renders
    them (the worker keeps payloads as stored text), else the event's own."""
    status = EXECUTION_ENDS.get(event.type)
    if status is None:
        return None
    shown = (event.details if details is None else details) or {}
    return Ending(
        status, event.timestamp, shown.get("output"), shown.get("error"), shown.get("cause")
    )
