"""The effects planner: one step's commands as the plan every driver applies."""

from __future__ import annotations

from stepfn.durable.effects import ending, plan, task_request
from stepfn.interp.commands import (
    CancelTask,
    CancelTimer,
    InvokeTask,
    StartChildExecution,
    StartTimer,
)
from stepfn.interp.context import execution_info
from stepfn.interp.events import Event


def _child(arn: str) -> StartChildExecution:
    return StartChildExecution(arn, "n", "sm", "run", 3, 1, "/Map", 0)


def test_a_timer_started_and_cancelled_in_the_same_commands_is_never_planned() -> None:
    effects = plan([StartTimer("t1", 5.0), StartTimer("t2", 6.0), CancelTimer("t1")])
    assert effects.timers == [StartTimer("t2", 6.0)]
    assert effects.cancelled_timers == []
    assert effects.commands == [StartTimer("t2", 6.0)]


def test_cancelling_an_earlier_steps_timer_is_planned() -> None:
    effects = plan([CancelTimer("t9"), StartTimer("t10", 1.0)])
    assert effects.cancelled_timers == ["t9"]
    assert effects.timers == [StartTimer("t10", 1.0)]


def test_each_kind_keeps_the_order_asked_and_the_commands_their_interleaving() -> None:
    task_a = InvokeTask("a", "arn:a", {}, "A")
    task_b = InvokeTask("b", "arn:b", {"x": 1}, "B")
    commands = [task_a, StartTimer("t1", 2.0), CancelTask("old"), task_b, _child("c1")]
    effects = plan(commands)
    assert effects.tasks == [task_a, task_b]
    assert effects.cancelled_tasks == ["old"]
    assert list(effects.children) == ["c1"]
    assert effects.commands == commands


def test_nothing_to_do_is_an_empty_plan() -> None:
    effects = plan([])
    assert (effects.commands, effects.timers, effects.tasks, effects.children) == ([], [], [], {})


def test_task_request_carries_the_command_and_the_execution() -> None:
    info = execution_info("e", {"in": 1}, 0.0)
    command = InvokeTask("tok", "arn:fn", {"p": 1}, "S", 30.0, 10.0, attempt=2)
    request = task_request(command, info)
    assert (request.token, request.resource, request.payload, request.state_name) == (
        "tok",
        "arn:fn",
        {"p": 1},
        "S",
    )
    assert (request.timeout_seconds, request.heartbeat_seconds, request.attempt) == (30.0, 10.0, 2)
    assert request.execution is info
    assert task_request(command, info, attempt=0).attempt == 0


def test_ending_reads_an_end_event_and_nothing_else() -> None:
    failed = Event(7, 6, 12.5, "ExecutionFailed", {"error": "E", "cause": "C"})
    end = ending(failed)
    assert end is not None
    assert (end.status, end.stopped, end.output, end.error, end.cause) == (
        "FAILED",
        12.5,
        None,
        "E",
        "C",
    )
    succeeded = Event(3, 2, 1.0, "ExecutionSucceeded", {"output": {"v": 1}})
    shown = ending(succeeded, {"output": '{"v":1}'})  # as the worker stores it: text
    assert shown is not None and (shown.status, shown.output) == ("SUCCEEDED", '{"v":1}')
    assert ending(Event(2, 1, 1.0, "PassStateEntered", {"name": "P"})) is None
