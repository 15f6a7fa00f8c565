"""The interpreter's step function: purity, events, stimuli and commands."""

from __future__ import annotations

from typing import Any

import pytest

import stepfn
from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp import machine as machine_module
from stepfn.interp.context import execution_info
from stepfn.interp.machine import (
    HISTORY_LIMIT_CAUSE,
    MAX_HISTORY_EVENTS,
    STEP_LIMIT_CAUSE,
    CancelTimer,
    Interpreter,
    InvokeTask,
    RunState,
    Start,
    StartTimer,
    Stop,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
    TimerFired,
)

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"


def interpreter(definition: dict[str, Any], input: Any = None, seed: int = 7) -> Interpreter:
    info = execution_info("exec-1", {} if input is None else input, 1000.0)
    return Interpreter(build(definition), info, IdSource(seed))


def types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


def task_machine(**task: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": LAMBDA, "End": True}
    state.update(task)
    return {"StartAt": "Work", "States": {"Work": state}}


def test_pass_chain_runs_in_one_step() -> None:
    interp = interpreter(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
                "B": {"Type": "Pass", "End": True},
            },
        },
        {"x": 0},
    )
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    assert result.commands == []
    assert run.status == "SUCCEEDED"
    assert run.output == {"x": 0, "a": 1}
    assert types(result.events) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    ids = [(e.id, e.previous_event_id) for e in result.events]
    assert ids == [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5)]


def test_step_is_deterministic_for_the_same_inputs() -> None:
    definition = task_machine(Retry=[{"ErrorEquals": ["States.ALL"], "JitterStrategy": "FULL"}])

    def trace() -> list[Any]:
        interp = interpreter(definition, {"n": 1}, seed=3)
        run = RunState()
        out = []
        result = interp.step(run, Start(), 10.0)
        out.append([(e.type, e.details) for e in result.events] + result.commands)
        invoke = next(c for c in result.commands if isinstance(c, InvokeTask))
        result = interp.step(run, TaskFailed(invoke.token, "Boom", "bad"), 11.0)
        out.append([(e.type, e.details) for e in result.events] + result.commands)
        return out

    assert trace() == trace()


def test_task_blocks_until_its_result_arrives() -> None:
    interp = interpreter(task_machine(ResultPath="$.r"), {"in": 1})
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    (invoke,) = result.commands
    assert isinstance(invoke, InvokeTask)
    assert invoke.payload == {"in": 1}
    assert run.status == "RUNNING"
    assert types(result.events)[-2:] == ["LambdaFunctionScheduled", "LambdaFunctionStarted"]
    result = interp.step(run, TaskSucceeded(invoke.token, {"ok": True}), 1.0)
    assert run.status == "SUCCEEDED"
    assert run.output == {"in": 1, "r": {"ok": True}}
    assert types(result.events) == [
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_a_stale_token_is_ignored() -> None:
    interp = interpreter(task_machine())
    run = RunState()
    interp.step(run, Start(), 0.0)
    result = interp.step(run, TaskSucceeded("not-a-token", 1), 1.0)
    assert result.events == [] and run.status == "RUNNING"


def test_retry_waits_with_backoff_then_catches() -> None:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Retry": [
                    {
                        "ErrorEquals": ["Boom"],
                        "IntervalSeconds": 2,
                        "BackoffRate": 3,
                        "MaxAttempts": 2,
                    }
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    interp = interpreter(definition, {"k": 1})
    run = RunState()
    now = 100.0
    result = interp.step(run, Start(), now)
    delays = []
    for _ in range(2):
        invoke = next(c for c in result.commands if isinstance(c, InvokeTask))
        result = interp.step(run, TaskFailed(invoke.token, "Boom", "c"), now)
        timer = next(c for c in result.commands if isinstance(c, StartTimer))
        delays.append(timer.due - now)
        now = timer.due
        result = interp.step(run, TimerFired(timer.timer_id), now)
    assert delays == [2.0, 6.0]
    invoke = next(c for c in result.commands if isinstance(c, InvokeTask))
    result = interp.step(run, TaskFailed(invoke.token, "Boom", "c"), now)
    assert run.status == "SUCCEEDED"
    assert run.output == {"k": 1, "err": {"Error": "Boom", "Cause": "c"}}


def test_max_attempts_zero_never_retries() -> None:
    interp = interpreter(task_machine(Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]))
    run = RunState()
    invoke = interp.step(run, Start(), 0.0).commands[0]
    assert isinstance(invoke, InvokeTask)
    interp.step(run, TaskFailed(invoke.token, "Boom", None), 0.0)
    assert (run.status, run.error, run.cause) == ("FAILED", "Boom", None)


def test_runtime_errors_are_not_caught() -> None:
    interp = interpreter(
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "OutputPath": "$.missing", "End": True},
            },
        }
    )
    run = RunState()
    interp.step(run, Start(), 0.0)
    assert run.status == "FAILED"
    assert run.error == "States.Runtime"
    assert run.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "Invalid path '$.missing' : No results for path: $['missing']"
    )


def test_task_timeout_fires_and_late_result_is_ignored() -> None:
    interp = interpreter(task_machine(TimeoutSeconds=5))
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    invoke = next(c for c in result.commands if isinstance(c, InvokeTask))
    timer = next(c for c in result.commands if isinstance(c, StartTimer))
    assert timer.due == 5.0
    result = interp.step(run, TimerFired(timer.timer_id), 5.0)
    assert types(result.events) == ["LambdaFunctionTimedOut", "ExecutionFailed"]
    assert (run.status, run.error) == ("FAILED", "States.Timeout")
    assert interp.step(run, TaskSucceeded(invoke.token, 1), 6.0).events == []


def test_heartbeat_postpones_the_heartbeat_timer() -> None:
    interp = interpreter(task_machine(HeartbeatSeconds=10, TimeoutSeconds=100))
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    invoke = next(c for c in result.commands if isinstance(c, InvokeTask))
    first = [c for c in result.commands if isinstance(c, StartTimer)]
    assert sorted(t.due for t in first) == [10.0, 100.0]
    result = interp.step(run, TaskHeartbeat(invoke.token), 8.0)
    assert any(isinstance(c, CancelTimer) for c in result.commands)
    (renewed,) = [c for c in result.commands if isinstance(c, StartTimer)]
    assert renewed.due == 18.0


def test_wait_emits_a_timer_and_resumes_when_it_fires() -> None:
    interp = interpreter(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": True}}}
    )
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    (timer,) = result.commands
    assert isinstance(timer, StartTimer) and timer.due == 86400.0
    result = interp.step(run, TimerFired(timer.timer_id), 86400.0)
    assert types(result.events) == ["WaitStateExited", "ExecutionSucceeded"]
    assert result.events[0].timestamp == 86400.0


def test_execution_timeout() -> None:
    definition = {
        "StartAt": "W",
        "TimeoutSeconds": 3,
        "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
    }
    interp = interpreter(definition)
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    timeout = min((c for c in result.commands if isinstance(c, StartTimer)), key=lambda c: c.due)
    result = interp.step(run, TimerFired(timeout.timer_id), 3.0)
    assert run.status == "TIMED_OUT"
    assert types(result.events) == ["ExecutionTimedOut"]


def test_stop_aborts_and_cancels_pending_work() -> None:
    interp = interpreter(task_machine(TimeoutSeconds=30))
    run = RunState()
    interp.step(run, Start(), 0.0)
    result = interp.step(run, Stop("Halt", "by hand"), 1.0)
    assert run.status == "ABORTED"
    assert types(result.events) == ["ExecutionAborted"]
    assert result.events[0].details == {"error": "Halt", "cause": "by hand"}
    assert any(isinstance(c, CancelTimer) for c in result.commands)


def test_fail_state_error_and_cause() -> None:
    interp = interpreter(
        {
            "StartAt": "F",
            "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}},
        }
    )
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    assert types(result.events) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert (run.error, run.cause) == ("Nope", "because")


@pytest.mark.parametrize("seconds", [0, -5])
def test_wait_in_the_past_does_not_block(seconds: int) -> None:
    interp = interpreter(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}
    )
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    assert result.commands == [] and run.status == "SUCCEEDED"


@pytest.mark.parametrize("seconds", [-1, -5.0])
def test_a_negative_seconds_path_fails_the_execution_as_aws_does(seconds: float) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}},
    }
    ex = stepfn.run(definition, {"s": seconds})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    assert ex.cause == (
        "An error occurred while executing the state 'W' (entered at the event id #2). "
        f"The SecondsPath parameter references a negative value: $.s == {seconds}"
    )


@pytest.mark.parametrize("seconds", [0, 0.0])
def test_a_zero_seconds_path_does_not_wait(seconds: float) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}},
    }
    assert stepfn.run(definition, {"s": seconds}).status == "SUCCEEDED"


def test_redrive_runs_the_failed_state_again() -> None:
    from stepfn.interp.machine import Redrive

    definition = {
        "StartAt": "Prep",
        "States": {
            "Prep": {"Type": "Pass", "Result": 1, "ResultPath": "$.prep", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": LAMBDA, "End": True},
        },
    }
    interp = interpreter(definition, {"in": 1})
    run = RunState()
    invoke = next(c for c in interp.step(run, Start(), 0.0).commands if isinstance(c, InvokeTask))
    interp.step(run, TaskFailed(invoke.token, "Boom", "first"), 1.0)
    assert run.status == "FAILED"
    assert interp.step(run, TaskSucceeded(invoke.token, 1), 2.0).events == []
    result = interp.step(run, Redrive(1), 3.0)
    assert run.status == "RUNNING"
    assert types(result.events)[:2] == ["ExecutionRedriven", "TaskStateEntered"]
    again = next(c for c in result.commands if isinstance(c, InvokeTask))
    assert again.payload == {"in": 1, "prep": 1}
    interp.step(run, TaskSucceeded(again.token, "done"), 4.0)
    assert (run.status, run.output) == ("SUCCEEDED", "done")


def test_redrive_does_nothing_to_a_succeeded_execution() -> None:
    from stepfn.interp.machine import Redrive

    interp = interpreter({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    run = RunState()
    interp.step(run, Start(), 0.0)
    assert interp.step(run, Redrive(1), 1.0).events == []
    assert run.status == "SUCCEEDED"


# --- executions that never wait -----------------------------------------------------------

ENDLESS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.never", "IsPresent": True, "Next": "Done"}],
            "Default": "A",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_a_standard_execution_ends_at_the_history_quota() -> None:
    # Nothing else would end a loop that never waits: AWS fails it at 25,000 events.
    ex = stepfn.run(ENDLESS, {})
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "States.Runtime", HISTORY_LIMIT_CAUSE)
    assert ex.history[-1]["type"] == "ExecutionFailed"
    assert ex.history[-1]["id"] == MAX_HISTORY_EVENTS + 2


def test_an_express_execution_that_never_waits_is_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    # Express keeps no history, so the quota does not end it, and its time limit cannot
    # fire while one step runs: the step's own budget does.
    monkeypatch.setattr(machine_module, "STEP_TRANSITIONS", 500)
    ex = stepfn.run(ENDLESS, {}, state_machine_type="EXPRESS")
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "States.Runtime", STEP_LIMIT_CAUSE)
    # The budget is per step: a long but finite run in steps is not cut short.
    waits = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 200, "Next": "E"}],
                "Default": "P",
            },
            "P": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                "Next": "W",
            },
            "E": {"Type": "Succeed"},
        },
    }
    assert stepfn.run(waits, {"n": 0}, state_machine_type="EXPRESS").output == {"n": 200}
