"""Child executions: a distributed Map's items, run as executions of their own.

On AWS a distributed Map whose ``ExecutionType`` is STANDARD starts each item (or batch)
as a child execution: the parent's history shows only ``MapRun*`` events, each child has
a history of its own (ids from 1, ``ExecutionStarted`` with the item as its input, the
item processor's states, then ``ExecutionSucceeded``, ``ExecutionFailed`` or
``ExecutionAborted``) and sees itself in its context object.

Here a child is a thread of its parent's run state like any Map iteration (one run state,
one step, one commit for the parent and its children), whose thread records
``execution``: its ARN. Its events go to ``Interpreter.child_events`` under that ARN,
numbered by its ``ChildExecution`` entry in the run state, which lives as long as the
child runs; a ``StartChildExecution`` command tells the driver that it started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepfn.arns import ArnBuilder
from stepfn.definition.model import MapState
from stepfn.interp.commands import StartChildExecution
from stepfn.interp.context import ExecutionInfo, child_execution_info
from stepfn.interp.events import Event
from stepfn.interp.runstate import SILENT, ChildExecution, FanOut, RedriveOf, Thread

if TYPE_CHECKING:
    from stepfn.interp.machine import Interpreter
    from stepfn.interp.step_context import StepContext


def start(
    interp: StepContext,
    parent: Thread,
    child: Thread,
    state: MapState,
    fan: FanOut,
    index: int,
    input: Any,
) -> None:
    """Make ``child``, the new thread of item ``index`` of ``parent``'s distributed Map,
    the root of a child execution with ``input``, named as AWS names it:
    ``execution:<state machine>/<label>:<name>``, a new name (a UUID) for every start."""
    info = interp.info_of(parent)
    label = state.label or state.name
    name = interp.ids.uuid()
    batch = fan.items[index]
    # A batch is one child execution of several items; DescribeMapRun counts both.
    items = batch.get("Items") if state.item_batcher and isinstance(batch, dict) else None
    arn = ArnBuilder(info.region, info.account).execution(
        f"{info.state_machine_name}/{label}", name
    )
    interp.run.children[arn] = ChildExecution(arn, name, child.id, input, interp.now, label)
    child.execution = arn
    child.last_event_id = 0
    interp.command(
        StartChildExecution(
            arn=arn,
            name=name,
            state_machine_arn=f"{info.state_machine_arn}/{label}",
            map_run_arn=fan.map_run,
            map_run_event_id=fan.map_run_event_id,
            item_count=len(items) if isinstance(items, list) else 1,
            machine_key=child.machine_key,
            index=index,
        )
    )
    interp.emit(child, "ExecutionStarted", {"input": input, "roleArn": info.role_arn})


def redrive(
    interp: StepContext, child: Thread, state: MapState, redriven: RedriveOf, input: Any
) -> None:
    """Make ``child`` the root of ``redriven``, an unsuccessful child execution of a
    redriven map run, which runs again: the same ARN, its history going on from its
    last event with ``ExecutionRedriven``, its redrive count one more.

    AWS goes on from the state where the child stopped; a child keeps no run state of
    its own here (its threads are dropped when it ends), so it runs its item processor
    again from the start, on the same input."""
    arn = redriven.arn
    name = arn.rsplit(":", 1)[-1]
    count = redriven.redrive_count + 1
    interp.run.children[arn] = ChildExecution(
        arn,
        name,
        child.id,
        input,
        redriven.start_time,
        state.label or state.name,
        redriven.next_event_id,
        count,
    )
    child.execution = arn
    child.last_event_id = redriven.next_event_id - 1
    interp.emit(child, "ExecutionRedriven", {"redriveCount": count})


def emit(interp: Interpreter, thread: Thread, type_: str, details: dict[str, Any] | None) -> Event:
    """Append an event to the history of the child execution ``thread`` runs in; a silent
    thread's event goes nowhere."""
    child = interp.run.children.get(thread.execution)
    if child is None:  # silent, or the child has ended and its history is closed
        return Event(0, thread.last_event_id, interp.now, type_, details, thread.id)
    event = Event(
        child.next_event_id,
        thread.last_event_id,
        interp.now,
        type_,
        details,
        thread.id,
        child.arn,
    )
    child.next_event_id += 1
    thread.last_event_id = event.id
    interp.child_events.append(event)
    return event


def is_root(interp: Interpreter, thread: Thread, parent: Thread | None = None) -> bool:
    """Whether ``thread`` is the root thread of a child execution (``parent``: its parent
    thread, when the caller has it)."""
    if not thread.execution or thread.silent or thread.parent is None:
        return False
    if parent is None:
        parent = interp.run.threads.get(thread.parent)
    return parent is None or parent.execution != thread.execution


def end(interp: Interpreter, thread: Thread, type_: str, details: dict[str, Any] | None) -> None:
    """Close the history of the child execution whose root thread is ``thread`` with its
    last event (``ExecutionSucceeded``, ``ExecutionFailed`` or ``ExecutionAborted``)."""
    emit(interp, thread, type_, details)
    interp.run.children.pop(thread.execution, None)
    interp.child_infos.pop(thread.execution, None)


def info_of(interp: Interpreter, thread: Thread) -> ExecutionInfo:
    """What the child execution ``thread`` belongs to knows of itself (its context
    object), built from its parent's once per interpreter. A silent thread sees the
    execution's own."""
    arn = thread.execution
    if arn == SILENT:
        return interp.info
    info = interp.child_infos.get(arn)
    if info is None:
        run = interp.run
        child = run.children[arn]
        root = run.threads[child.thread]
        assert root.parent is not None  # a child execution's root has a parent thread
        info = interp.child_infos[arn] = child_execution_info(
            interp.info_of(run.threads[root.parent]),
            child.label,
            arn,
            child.name,
            child.input,
            child.start_time,
            child.redrive_count,
        )
    return info
