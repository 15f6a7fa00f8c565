"""Redriving an execution that stopped in a top-level inline Map or Parallel state.

As AWS's RedriveExecution reference says, only the iterations and branches that failed
or were aborted run again: those that succeeded keep their outputs (their tasks are not
invoked again), and iterations never started start. The state is not entered again.
The run state goes through JSON after every step here, as the engine stores it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp.context import execution_info
from stepfn.interp.events import Event
from stepfn.interp.machine import (
    Interpreter,
    InvokeTask,
    Redrive,
    RunState,
    Start,
    Stimulus,
    Stop,
    TaskFailed,
    TaskSucceeded,
)
from stepfn.interp.runstate import run_state_from_json, run_state_to_json

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


class Driver:
    """Steps an interpreter, answering each task from ``work`` in its own step, with a
    JSON round trip of the run state after every step."""

    def __init__(self, definition: dict[str, Any], input: Any) -> None:
        info = execution_info("exec-1", input, 1000.0)
        self.interp = Interpreter(build(definition), info, IdSource(7))
        self.state = run_state_to_json(RunState())
        self.broken: set[Any] = set()
        self.calls: Counter[str] = Counter()  # payload text -> invocations
        self.events: list[Event] = []
        self.now = 0.0
        self.held: list[InvokeTask] = []  # tasks left unanswered (to stop an execution)
        self.hold: set[Any] = set()

    @property
    def run(self) -> RunState:
        return run_state_from_json(self.state)

    def step(self, stimulus: Stimulus) -> list[InvokeTask]:
        run = run_state_from_json(self.state)
        self.now += 1.0
        result = self.interp.step(run, stimulus, self.now)
        self.state = run_state_to_json(run)
        self.events.extend(result.events)
        return [c for c in result.commands if isinstance(c, InvokeTask)]

    def drive(self, stimulus: Stimulus) -> None:
        """Apply ``stimulus`` and answer the tasks it leads to until none is left."""
        tasks = self.step(stimulus)
        while tasks:
            task = tasks.pop(0)
            self.calls[repr(task.payload)] += 1
            if task.payload in self.hold:
                self.held.append(task)
                continue
            if task.payload in self.broken:
                tasks += self.step(TaskFailed(task.token, "Broken", f"item {task.payload}"))
            else:
                tasks += self.step(TaskSucceeded(task.token, task.payload * 10))

    def since(self, type_: str) -> list[Event]:
        """The events from the last one of type ``type_`` on."""
        last = max(i for i, e in enumerate(self.events) if e.type == type_)
        return self.events[last:]


def inline_map(**fields: Any) -> dict[str, Any]:
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": LAMBDA + "work", "End": True}},
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "Each", "States": {"Each": each}}


def parallel(count: int) -> dict[str, Any]:
    branches = [
        {
            "StartAt": f"Work{i}",
            "States": {
                f"Work{i}": {
                    "Type": "Task",
                    "Resource": LAMBDA + "work",
                    "InputPath": f"$[{i}]",
                    "End": True,
                }
            },
        }
        for i in range(count)
    ]
    return {
        "StartAt": "All",
        "States": {"All": {"Type": "Parallel", "Branches": branches, "End": True}},
    }


def test_a_redriven_inline_map_runs_only_its_unsuccessful_iterations() -> None:
    driver = Driver(inline_map(MaxConcurrency=1), [1, 2, 3, 4])
    driver.broken = {2}
    driver.drive(Start())
    run = driver.run
    assert run.status == "FAILED"
    # One at a time: the failure of the second aborts the Map before 3 and 4 start.
    assert driver.calls == Counter({"1": 1, "2": 1})
    assert run.threads[""].fan is not None and run.threads[""].fan.succeeded == {0}
    # What the redrive needs survives the JSON round trip, and only it: the failed
    # iteration's result is not kept.
    assert run_state_to_json(run_state_from_json(driver.state)) == driver.state
    assert run.threads[""].fan.results == [10, None, None, None]
    driver.broken.clear()
    driver.drive(Redrive(1))
    run = driver.run
    assert (run.status, run.output) == ("SUCCEEDED", [10, 20, 30, 40])  # in item order
    assert driver.calls == Counter({"1": 1, "2": 2, "3": 1, "4": 1})
    redriven = driver.since("ExecutionRedriven")
    types = [e.type for e in redriven]
    # Not entered again; only the iterations that run record their start.
    assert "MapStateEntered" not in types and "MapStateStarted" not in types
    started = [e.details["index"] for e in redriven if e.type == "MapIterationStarted"]
    assert started == [1, 2, 3]
    assert types[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    assert [e.id for e in driver.events] == list(range(1, len(driver.events) + 1))
    assert run.threads[""].fan is None  # nothing kept once the Map is done


def test_a_failed_iteration_fails_again_and_can_be_redriven_again() -> None:
    driver = Driver(inline_map(), [1, 2, 3])
    driver.broken = {3}
    driver.drive(Start())
    assert driver.run.status == "FAILED"
    driver.drive(Redrive(1))
    assert driver.run.status == "FAILED"
    fan = driver.run.threads[""].fan
    assert fan is not None and fan.succeeded == {0, 1}  # still kept
    driver.broken.clear()
    driver.drive(Redrive(2))
    assert (driver.run.status, driver.run.output) == ("SUCCEEDED", [10, 20, 30])
    assert driver.calls == Counter({"1": 1, "2": 1, "3": 3})
    redriven = driver.since("ExecutionRedriven")
    assert redriven[0].details == {"redriveCount": 2}
    assert [e.details["index"] for e in redriven if e.type == "MapIterationStarted"] == [2]


def test_an_iteration_aborted_by_a_failure_runs_again() -> None:
    driver = Driver(inline_map(), [1, 2, 3])
    driver.broken = {1}
    driver.drive(Start())
    # All three were invoked at once; the first failed, aborting the other two.
    assert driver.run.status == "FAILED"
    aborted = [e.details["index"] for e in driver.events if e.type == "MapIterationAborted"]
    assert aborted == [1, 2]
    driver.broken.clear()
    driver.drive(Redrive(1))
    assert (driver.run.status, driver.run.output) == ("SUCCEEDED", [10, 20, 30])
    assert driver.calls == Counter({"1": 2, "2": 2, "3": 2})


def test_a_redriven_parallel_runs_only_its_unsuccessful_branches() -> None:
    driver = Driver(parallel(3), [1, 2, 3])
    driver.broken = {2}
    driver.drive(Start())
    assert driver.run.status == "FAILED"
    calls = dict(driver.calls)
    driver.broken.clear()
    driver.drive(Redrive(1))
    run = driver.run
    assert (run.status, run.output) == ("SUCCEEDED", [10, 20, 30])
    # The first branch succeeded before the second failed: it does not run again.
    assert calls["1"] == 1 and driver.calls["1"] == 1
    assert driver.calls["2"] == 2
    types = [e.type for e in driver.since("ExecutionRedriven")]
    assert "ParallelStateEntered" not in types and "ParallelStateStarted" not in types
    assert types[-2:] == ["ParallelStateExited", "ExecutionSucceeded"]


def test_a_stopped_map_redrives_its_aborted_iterations() -> None:
    driver = Driver(inline_map(), [1, 2, 3])
    driver.hold = {3}
    driver.drive(Start())
    assert driver.calls == Counter({"1": 1, "2": 1, "3": 1})
    driver.drive(Stop("Halt", "by hand"))
    assert driver.run.status == "ABORTED"
    driver.hold.clear()
    driver.drive(Redrive(1))
    assert (driver.run.status, driver.run.output) == ("SUCCEEDED", [10, 20, 30])
    assert driver.calls == Counter({"1": 1, "2": 1, "3": 2})


def test_a_caught_map_keeps_nothing_for_a_redrive() -> None:
    definition = inline_map(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done"}])
    definition["States"]["Each"].pop("End")
    definition["States"]["Each"]["Next"] = "Done"
    definition["States"]["Done"] = {"Type": "Pass", "End": True}
    driver = Driver(definition, [1, 2])
    driver.broken = {2}
    driver.drive(Start())
    assert driver.run.status == "SUCCEEDED"
    assert driver.run.threads[""].fan is None


def test_a_map_inside_a_branch_reruns_with_its_branch() -> None:
    inner = inline_map()["States"]["Each"]
    definition = {
        "StartAt": "All",
        "States": {
            "All": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "Each", "States": {"Each": inner}},
                    {
                        "StartAt": "Other",
                        "States": {"Other": {"Type": "Pass", "Result": "ok", "End": True}},
                    },
                ],
            }
        },
    }
    driver = Driver(definition, [1, 2])
    driver.broken = {2}
    driver.drive(Start())
    assert driver.run.status == "FAILED"
    driver.broken.clear()
    driver.drive(Redrive(1))
    assert (driver.run.status, driver.run.output) == ("SUCCEEDED", [[10, 20], "ok"])
    # The failed branch runs again from its start, its Map's iterations all again.
    assert driver.calls == Counter({"1": 2, "2": 2})
