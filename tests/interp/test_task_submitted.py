"""TaskSubmitted and TaskStarted: stimuli that record an event and leave the task waiting."""

from __future__ import annotations

from typing import Any

from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp.commands import stimulus_from_dict, stimulus_to_dict
from stepfn.interp.context import execution_info
from stepfn.interp.machine import (
    Interpreter,
    InvokeTask,
    RunState,
    Start,
    TaskHeartbeat,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
)

SYNC = "arn:aws:states:::states:startExecution.sync"
ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:work"


def started(resource: str, **task: Any) -> tuple[Interpreter, RunState, str]:
    state = {"Type": "Task", "Resource": resource, "End": True, **task}
    info = execution_info("exec-1", {}, 1000.0)
    interp = Interpreter(build({"StartAt": "T", "States": {"T": state}}), info, IdSource(3))
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    token = next(c.token for c in result.commands if isinstance(c, InvokeTask))
    return interp, run, token


def test_a_submission_records_task_submitted_and_the_task_goes_on() -> None:
    interp, run, token = started(SYNC)
    result = interp.step(run, TaskSubmitted(token, {"ExecutionArn": "arn:x"}), 1001.0)
    assert [e.type for e in result.events] == ["TaskSubmitted"]
    details = result.events[0].render()["taskSubmittedEventDetails"]
    assert details["resourceType"] == "states" and details["resource"] == "startExecution.sync"
    assert details["output"] == '{"ExecutionArn":"arn:x"}'
    assert run.status == "RUNNING" and not result.commands
    ended = interp.step(run, TaskSucceeded(token, {"done": True}), 1002.0)
    assert ended.events[0].type == "TaskSucceeded"
    assert run.status == "SUCCEEDED"


def test_a_late_submission_of_an_ended_task_is_dropped() -> None:
    interp, run, token = started(SYNC)
    interp.step(run, TaskSucceeded(token, {}), 1001.0)
    assert interp.step(run, TaskSubmitted(token, {}), 1002.0).events == []


def test_an_activity_worker_taking_the_task_records_activity_started() -> None:
    interp, run, token = started(ACTIVITY, HeartbeatSeconds=10)
    result = interp.step(run, TaskStarted(token, "worker-1"), 1005.0)
    assert [e.type for e in result.events] == ["ActivityStarted"]
    assert result.events[0].render()["activityStartedEventDetails"] == {"workerName": "worker-1"}
    # The heartbeat timer starts again from the moment the worker took the task.
    assert any(getattr(c, "due", None) == 1015.0 for c in result.commands)


def test_the_new_stimuli_survive_the_inbox() -> None:
    for stimulus in (TaskSubmitted("t", {"a": [1]}), TaskStarted("t", "w")):
        assert stimulus_from_dict(stimulus_to_dict(stimulus)) == stimulus


def test_a_heartbeat_restarts_a_heartbeat_seconds_path_timer() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSecondsPath": "$.beat",
        "End": True,
    }
    info = execution_info("exec-1", {"beat": 120}, 1000.0)
    interp = Interpreter(build({"StartAt": "T", "States": {"T": state}}), info, IdSource(3))
    run = RunState()
    first = interp.step(run, Start(), 1000.0)
    token = next(c.token for c in first.commands if isinstance(c, InvokeTask))
    result = interp.step(run, TaskHeartbeat(token), 1100.0)
    assert [getattr(c, "due", None) for c in result.commands if hasattr(c, "due")] == [1220.0]
