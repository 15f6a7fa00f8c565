"""Redriving a distributed Map: the same map run goes on, as AWS redrives it.

The children that succeeded keep their outputs and do not run again; each unsuccessful
one is redriven (the same ARN, ``ExecutionRedriven`` next in its own history, its
redrive count one more) and runs its item processor again; the items that never started
start as new children. The run state goes through JSON after every step here, and the
``Redrive`` stimulus through its dict form, as the engine keeps them.
"""

from __future__ import annotations

from typing import Any

from test_child_executions import TASK, distributed, histories, interpreter, invokes
from test_child_executions import starts as started

from stepfn.interp.commands import (
    MapRunRedrive,
    Redrive,
    RedrivenChild,
    stimulus_from_dict,
    stimulus_to_dict,
)
from stepfn.interp.machine import (
    Interpreter,
    RunState,
    Start,
    StepResult,
    Stimulus,
    TaskFailed,
    TaskSucceeded,
)
from stepfn.interp.runstate import run_state_from_json, run_state_to_json


class Driver:
    """Steps an interpreter with a JSON round trip of the run state after each step,
    keeping every child's history as a store would."""

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self.state = run_state_to_json(RunState())
        self.children: dict[str, list[Any]] = {}
        self.index: dict[str, int] = {}

    def step(self, stimulus: Stimulus, now: float) -> StepResult:
        run = run_state_from_json(self.state)
        result = self.interp.step(run, stimulus, now)
        self.state = run_state_to_json(run)
        for command in started(result):
            self.index[command.arn] = command.index
        for arn, events in histories(result.child_events).items():
            self.children.setdefault(arn, []).extend(events)
        return result

    @property
    def run(self) -> RunState:
        return run_state_from_json(self.state)

    def redrive(self, count: int, map_run_count: int, started_event_id: int) -> Redrive:
        """The Redrive stimulus the engine would build from its stored children."""
        children = []
        for arn, events in self.children.items():
            last = events[-1]
            status = {
                "ExecutionSucceeded": "SUCCEEDED",
                "ExecutionFailed": "FAILED",
                "ExecutionAborted": "ABORTED",
            }[last.type]
            output = (last.details or {}).get("output") if status == "SUCCEEDED" else None
            redriven = [e for e in events if e.type == "ExecutionRedriven"]
            children.append(
                RedrivenChild(
                    self.index[arn], arn, status, last.id + 1, len(redriven), 1000.0, output
                )
            )
        map_run = "arn:aws:states:us-east-1:123456789012:mapRun:sm/items:parent"
        stimulus = Redrive(
            count, MapRunRedrive(map_run, started_event_id, map_run_count, tuple(children))
        )
        decoded = stimulus_from_dict(stimulus_to_dict(stimulus))
        assert decoded == stimulus
        assert isinstance(decoded, Redrive)
        return decoded


def failed_map_run() -> tuple[Driver, list[str]]:
    """Four items, two at a time: the first succeeds (the third starts), the second
    fails (aborting the third); the fourth never starts."""
    driver = Driver(interpreter(distributed(TASK, MaxConcurrency=2), [1, 2, 3, 4]))
    result = driver.step(Start(), 1000.0)
    arns = [c.arn for c in started(result)]
    tokens = [c.token for c in invokes(result)]
    later = driver.step(TaskSucceeded(tokens[0], "A"), 1001.0)
    arns += [c.arn for c in started(later)]
    assert len(arns) == 3
    failed = driver.step(TaskFailed(tokens[1], "Boom", "it broke"), 1002.0)
    assert failed.events[-1].type == "ExecutionFailed"
    return driver, arns


def test_a_redriven_map_run_keeps_successes_redrives_failures_and_starts_pending() -> None:
    driver, arns = failed_map_run()
    before = {arn: len(events) for arn, events in driver.children.items()}
    map_run_started = 4  # ExecutionStarted, MapStateEntered, MapStateStarted, MapRunStarted
    result = driver.step(driver.redrive(1, 1, map_run_started), 1100.0)
    assert [e.type for e in result.events] == ["ExecutionRedriven", "MapRunRedriven"]
    assert result.events[1].details == {
        "mapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:sm/items:parent",
        "redriveCount": 1,
    }
    assert result.events[1].previous_event_id == result.events[0].id
    # The two unsuccessful children run again (MaxConcurrency 2): no new child yet.
    assert not started(result)
    by_child = histories(result.child_events)
    assert list(by_child) == arns[1:]  # the first succeeded: it does not run again
    for arn in arns[1:]:
        events = by_child[arn]
        assert events[0].type == "ExecutionRedriven"
        assert events[0].details == {"redriveCount": 1}
        assert (events[0].id, events[0].previous_event_id) == (before[arn] + 1, before[arn])
        assert events[1].type == "TaskStateEntered"  # its item processor from the start
    tokens = {task.payload: task.token for task in invokes(result)}
    assert sorted(tokens) == [2, 3]
    later = driver.step(TaskSucceeded(tokens[2], 20), 1101.0)
    # A redriven child ends as any other; the item that never started starts now.
    assert [e.type for e in histories(later.child_events)[arns[1]]][-1] == "ExecutionSucceeded"
    (new,) = started(later)
    assert new.index == 3 and new.arn not in arns
    assert new.map_run_event_id == map_run_started
    assert histories(later.child_events)[new.arn][0].type == "ExecutionStarted"
    (fourth,) = invokes(later)
    driver.step(TaskSucceeded(tokens[3], 30), 1102.0)
    last = driver.step(TaskSucceeded(fourth.token, 40), 1103.0)
    assert [e.type for e in last.events] == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert driver.run.output == ["A", 20, 30, 40]
    assert driver.run.children == {}


def test_a_child_redriven_twice_counts_its_redrives() -> None:
    driver, arns = failed_map_run()
    first = driver.step(driver.redrive(1, 1, 4), 1100.0)
    tokens = {task.payload: task.token for task in invokes(first)}
    driver.step(TaskFailed(tokens[2], "Boom", None), 1101.0)
    assert driver.run.status == "FAILED"
    second = driver.step(driver.redrive(2, 2, 4), 1200.0)
    assert second.events[1].type == "MapRunRedriven"
    assert second.events[1].details is not None
    assert second.events[1].details["redriveCount"] == 2
    by_child = histories(second.child_events)
    # The third item's child was aborted again by the second failure: redriven twice too.
    assert [by_child[arn][0].details for arn in arns[1:]] == [{"redriveCount": 2}] * 2
    assert not started(second)  # the fourth item still waits for room


def test_a_redriven_child_sees_its_redrive_count_in_the_context_object() -> None:
    processor = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work",
        "Parameters": {"count.$": "$$.Execution.RedriveCount", "id.$": "$$.Execution.Id"},
        "End": True,
    }
    driver = Driver(interpreter(distributed(processor), [1]))
    (task,) = invokes(driver.step(Start(), 1000.0))
    assert task.payload["count"] == 0
    driver.step(TaskFailed(task.token, "Boom", None), 1001.0)
    (again,) = invokes(driver.step(driver.redrive(1, 1, 4), 1100.0))
    assert again.payload == {"count": 1, "id": task.payload["id"]}


def test_past_the_map_run_redrive_limit_the_map_fails_with_states_runtime() -> None:
    driver, _ = failed_map_run()
    result = driver.step(driver.redrive(1, 1001, 4), 1100.0)
    assert [e.type for e in result.events] == ["ExecutionRedriven", "ExecutionFailed"]
    assert result.events[-1].details is not None
    assert result.events[-1].details["error"] == "States.Runtime"
    assert result.child_events == []


def test_without_a_map_run_the_map_runs_again_whole() -> None:
    driver, arns = failed_map_run()
    result = driver.step(Redrive(1), 1100.0)
    assert [e.type for e in result.events][:3] == [
        "ExecutionRedriven",
        "MapStateEntered",
        "MapStateStarted",
    ]
    assert not set(c.arn for c in started(result)) & set(arns)


def test_children_waiting_to_be_redriven_round_trip_in_the_run_state() -> None:
    from collections import deque

    from stepfn.interp.runstate import ChildExecution, FanOut, RedriveOf, Thread

    run = RunState()
    fan = FanOut("map", [1, 2], [None, None], deque([1]), map_run="mr", map_run_event_id=4)
    fan.redriven[1] = RedriveOf("arn:child", 7, 2, 1000.0)
    run.threads[""] = Thread(id="", machine_key="", fan=fan)
    run.children["arn:c"] = ChildExecution("arn:c", "c", "/1", 1, 1000.0, "items", 9, 3)
    again = run_state_from_json(run_state_to_json(run))
    assert again.threads[""].fan == fan
    assert again.children == run.children
