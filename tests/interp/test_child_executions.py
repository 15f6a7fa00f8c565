"""A distributed Map's items as child executions: their histories, names, context and ends.

The parent's history is as AWS records it (``MapRun*`` events only); each item of a
STANDARD map run is the root of a history of its own, numbered from 1, that comes out in
``StepResult.child_events`` with a ``StartChildExecution`` command announcing it.
"""

from __future__ import annotations

from typing import Any

import stepfn
from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp.context import execution_info
from stepfn.interp.events import Event
from stepfn.interp.machine import (
    CancelTask,
    Interpreter,
    InvokeTask,
    RunState,
    Start,
    StartChildExecution,
    StepResult,
    Stop,
    TaskFailed,
    TaskSucceeded,
)
from stepfn.interp.runstate import run_state_from_json, run_state_to_json

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"
PREFIX = "arn:aws:states:us-east-1:123456789012"


def distributed(
    processor: dict[str, Any], execution_type: str = "STANDARD", **fields: Any
) -> dict[str, Any]:
    """A machine of one distributed Map (labelled ``items``) over its input."""
    state = {
        "Type": "Map",
        "Label": "items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": "Item",
            "States": {"Item": processor},
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "M", "States": {"M": state}}


TASK = {"Type": "Task", "Resource": LAMBDA, "End": True}


def interpreter(definition: dict[str, Any], input: Any, seed: int = 1) -> Interpreter:
    info = execution_info("parent", input, 1000.0, state_machine_name="sm")
    return Interpreter(build(definition), info, IdSource(seed))


def starts(result: StepResult) -> list[StartChildExecution]:
    return [c for c in result.commands if isinstance(c, StartChildExecution)]


def invokes(result: StepResult) -> list[InvokeTask]:
    return [c for c in result.commands if isinstance(c, InvokeTask)]


def histories(events: list[Event]) -> dict[str, list[Event]]:
    """Child events by execution, in the order they came."""
    found: dict[str, list[Event]] = {}
    for event in events:
        found.setdefault(event.execution, []).append(event)
    return found


def test_each_item_is_a_child_execution_with_its_own_history() -> None:
    interp = interpreter(distributed({"Type": "Pass", "End": True}), ["a", "b"])
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    assert [e.type for e in result.events] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert all(e.execution == "" for e in result.events)
    assert run.output == ["a", "b"]
    first, second = starts(result)
    map_run_started = result.events[3]
    for command in (first, second):
        assert command.arn == f"{PREFIX}:execution:sm/items:{command.name}"
        assert command.state_machine_arn == f"{PREFIX}:stateMachine:sm/items"
        assert command.map_run_arn == f"{PREFIX}:mapRun:sm/items:parent"
        assert command.map_run_event_id == map_run_started.id
        assert command.item_count == 1
    assert first.name != second.name
    by_child = histories(result.child_events)
    assert list(by_child) == [first.arn, second.arn]
    for command, item in ((first, "a"), (second, "b")):
        events = by_child[command.arn]
        assert [e.type for e in events] == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
        assert [(e.id, e.previous_event_id) for e in events] == [(1, 0), (2, 1), (3, 2), (4, 3)]
        assert events[0].details == {
            "input": item,
            "roleArn": "arn:aws:iam::123456789012:role/stepfn-execution-role",
        }
        assert events[-1].details == {"output": item}
    assert run.children == {}  # ended children leave nothing in the run state


def test_child_names_come_from_the_id_source() -> None:
    definition = distributed({"Type": "Pass", "End": True})

    def names(seed: int) -> list[str]:
        result = interpreter(definition, [1, 2, 3], seed).step(RunState(), Start(), 1000.0)
        return [c.name for c in starts(result)]

    assert names(5) == names(5)
    assert names(5) != names(6)


def test_a_child_sees_itself_in_the_context_object() -> None:
    definition = distributed(
        {
            "Type": "Pass",
            "Parameters": {
                "id.$": "$$.Execution.Id",
                "name.$": "$$.Execution.Name",
                "input.$": "$$.Execution.Input",
                "machine.$": "$$.StateMachine.Id",
                "machineName.$": "$$.StateMachine.Name",
            },
            "End": True,
        }
    )
    interp = interpreter(definition, [{"n": 1}])
    run = RunState()
    (command,) = starts(interp.step(run, Start(), 1000.0))
    assert run.output == [
        {
            "id": command.arn,
            "name": command.name,
            "input": {"n": 1},
            "machine": f"{PREFIX}:stateMachine:sm/items",
            "machineName": "sm/items",
        }
    ]


def test_a_failed_item_fails_its_child_and_aborts_the_running_ones() -> None:
    interp = interpreter(distributed(TASK), [1, 2, 3])
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    children = [c.arn for c in starts(result)]
    tokens = [c.token for c in invokes(result)]
    assert len(children) == len(tokens) == 3
    failed = interp.step(run, TaskFailed(tokens[0], "Boom", "it broke"), 1001.0)
    assert [e.type for e in failed.events] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    by_child = histories(failed.child_events)
    assert [e.type for e in by_child[children[0]]][-2:] == [
        "LambdaFunctionFailed",
        "ExecutionFailed",
    ]
    assert by_child[children[0]][-1].details == {"error": "Boom", "cause": "it broke"}
    for arn in children[1:]:
        assert [e.type for e in by_child[arn]] == ["ExecutionAborted"]
        assert by_child[arn][0].details is None
    cancelled = {c.token for c in failed.commands if isinstance(c, CancelTask)}
    assert cancelled == set(tokens[1:])
    assert run.children == {}


def test_tolerated_failures_end_their_children_failed_only() -> None:
    interp = interpreter(distributed(TASK, ToleratedFailureCount=1), [1, 2])
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    first, second = (c.token for c in invokes(result))
    failed = interp.step(run, TaskFailed(first, "Boom", None), 1001.0)
    assert failed.events == []  # the parent waits for the other item
    assert [e.type for e in failed.child_events][-1] == "ExecutionFailed"
    done = interp.step(run, TaskSucceeded(second, "ok"), 1002.0)
    assert [e.type for e in done.child_events][-1] == "ExecutionSucceeded"
    assert run.status == "SUCCEEDED"
    assert run.output == [{"Error": "Boom", "Cause": None}, "ok"]


def test_stopping_the_parent_aborts_its_running_children() -> None:
    interp = interpreter(distributed(TASK, MaxConcurrency=1), [1, 2])
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    (child,) = starts(result)  # the second item is pending
    stopped = interp.step(run, Stop("Halt", "enough"), 1001.0)
    assert [e.type for e in stopped.events] == ["ExecutionAborted"]
    assert [(e.execution, e.type) for e in stopped.child_events] == [
        (child.arn, "ExecutionAborted")
    ]
    assert not starts(stopped)


def test_max_concurrency_starts_the_next_child_when_one_ends() -> None:
    interp = interpreter(distributed(TASK, MaxConcurrency=1), [1, 2])
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    (first,) = starts(result)
    (task,) = invokes(result)
    later = interp.step(run, TaskSucceeded(task.token, 10), 1005.0)
    (second,) = starts(later)
    assert [(e.execution, e.type) for e in later.child_events][:3] == [
        (first.arn, "LambdaFunctionSucceeded"),
        (first.arn, "TaskStateExited"),
        (first.arn, "ExecutionSucceeded"),
    ]
    second_events = histories(later.child_events)[second.arn]
    assert (second_events[0].type, second_events[0].timestamp) == ("ExecutionStarted", 1005.0)


def test_the_run_state_round_trips_as_json_in_the_middle_of_a_map() -> None:
    definition = distributed(
        {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"id.$": "$$.Execution.Id", "v.$": "$"},
            "Next": "After",
        },
        MaxConcurrency=2,
    )
    definition["States"]["M"]["ItemProcessor"]["States"]["After"] = {
        "Type": "Pass",
        "End": True,
    }

    def drive(roundtrip: bool) -> tuple[RunState, list[Any]]:
        """Answer the tasks one per step, oldest first; what the steps gave out."""
        interp = interpreter(definition, [1, 2, 3], seed=9)
        run = RunState()
        seen: list[Any] = []
        waiting: list[InvokeTask] = []
        result = interp.step(run, Start(), 1000.0)
        at = 1000.0
        while True:
            seen += [
                (e.execution, e.id, e.previous_event_id, e.type, e.details)
                for e in result.events + result.child_events
            ]
            seen += starts(result)
            waiting += invokes(result)
            if roundtrip:
                run = run_state_from_json(run_state_to_json(run))
            if not waiting:
                return run, seen
            task = waiting.pop(0)
            at += 1
            result = interp.step(run, TaskSucceeded(task.token, task.payload), at)

    kept, in_memory = drive(False)
    restored, round_tripped = drive(True)
    assert in_memory == round_tripped
    assert kept.status == restored.status == "SUCCEEDED"
    assert [item["id"].rsplit(":", 1)[1] for item in restored.output] == [
        c.name for c in in_memory if isinstance(c, StartChildExecution)
    ]


def test_batches_are_children_of_several_items() -> None:
    definition = distributed({"Type": "Pass", "End": True}, ItemBatcher={"MaxItemsPerBatch": 2})
    result = interpreter(definition, [1, 2, 3]).step(RunState(), Start(), 1000.0)
    assert [c.item_count for c in starts(result)] == [2, 1]
    first = histories(result.child_events)[starts(result)[0].arn][0]
    assert first.details is not None and first.details["input"] == {"Items": [1, 2]}


def test_express_children_are_not_executions() -> None:
    interp = interpreter(distributed({"Type": "Pass", "End": True}, "EXPRESS"), [1, 2])
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    assert run.output == [1, 2]
    assert result.child_events == [] and starts(result) == []


def test_a_distributed_map_in_a_child_starts_grandchildren() -> None:
    inner = distributed({"Type": "Pass", "End": True})["States"]["M"]
    inner["Label"] = "inner"
    inner["ItemsPath"] = "$.values"
    definition = distributed(inner)
    result = interpreter(definition, [{"values": [1, 2]}]).step(RunState(), Start(), 1000.0)
    child, *grandchildren = starts(result)
    assert child.arn == f"{PREFIX}:execution:sm/items:{child.name}"
    assert len(grandchildren) == 2
    for grandchild in grandchildren:
        assert grandchild.arn == f"{PREFIX}:execution:sm/items/inner:{grandchild.name}"
        assert grandchild.state_machine_arn == f"{PREFIX}:stateMachine:sm/items/inner"
        assert grandchild.map_run_arn == f"{PREFIX}:mapRun:sm/items/inner:{child.name}"
    child_history = histories(result.child_events)[child.arn]
    assert [e.type for e in child_history] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert child_history[3].details == {"mapRunArn": grandchildren[0].map_run_arn}
    assert grandchildren[0].map_run_event_id == child_history[3].id


def test_stepfn_run_keeps_the_children_beside_the_parent() -> None:
    definition = distributed(
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
            "Default": "Good",
        },
        ToleratedFailureCount=1,
    )
    processor = definition["States"]["M"]["ItemProcessor"]["States"]
    processor["Good"] = {"Type": "Succeed"}
    processor["Bad"] = {"Type": "Fail", "Error": "Two", "Cause": "is bad"}
    execution = stepfn.run(definition, [1, 2], name="parent")
    assert execution.status == "SUCCEEDED"
    assert all(e["type"] != "ChoiceStateEntered" for e in execution.history)
    ok, bad = execution.children
    assert [child.name for child in execution.children] == [
        child.execution_arn.rsplit(":", 1)[1] for child in execution.children
    ]
    assert (ok.status, ok.output, ok.stop_time is not None) == ("SUCCEEDED", 1, True)
    assert (bad.status, bad.error, bad.cause) == ("FAILED", "Two", "is bad")
    assert [e["type"] for e in bad.history][-2:] == ["FailStateEntered", "ExecutionFailed"]
    assert ok.execution_arn.startswith(f"{PREFIX}:execution:stepfn/items:")
