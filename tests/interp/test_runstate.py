"""Run states survive JSON: stepping through a JSON round trip after every step gives
the same history as stepping in memory (what the durable engine relies on)."""

from __future__ import annotations

from typing import Any

from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp.commands import stimulus_from_dict, stimulus_to_dict
from stepfn.interp.context import execution_info
from stepfn.interp.machine import (
    Begin,
    Interpreter,
    InvokeTask,
    RunState,
    Start,
    StartTimer,
    Stimulus,
    Stop,
    TaskFailed,
    TaskSucceeded,
    Thread,
    TimerFired,
)
from stepfn.interp.runstate import (
    run_state_from_dict,
    run_state_from_json,
    run_state_to_dict,
    run_state_to_json,
)

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"

DEFINITION = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": LAMBDA,
                        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3}],
                        "Next": "Rest",
                    },
                    "Rest": {"Type": "Wait", "Seconds": 5, "End": True},
                },
            },
            "ResultPath": "$.results",
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Task", "Resource": LAMBDA, "End": True}},
                },
            ],
            "ResultPath": "$.both",
            "End": True,
        },
    },
}


def drive(roundtrip: bool) -> tuple[RunState, list[tuple[Any, ...]]]:
    interp = Interpreter(
        build(DEFINITION), execution_info("e", {"items": [1, 2, 3]}, 0.0), IdSource(11)
    )
    run = RunState()
    queue: list[tuple[float, Stimulus]] = [(0.0, Start(begin=False)), (0.0, Begin())]
    seen: list[tuple[Any, ...]] = []
    failed_once: set[Any] = set()
    while queue and run.status == "RUNNING":
        queue.sort(key=lambda item: item[0])
        now, stimulus = queue.pop(0)
        if roundtrip:
            stimulus = stimulus_from_dict(stimulus_to_dict(stimulus))
        result = interp.step(run, stimulus, now)
        if roundtrip:
            run = run_state_from_json(run_state_to_json(run))
        seen.extend((e.id, e.previous_event_id, e.type, e.details) for e in result.events)
        for command in result.commands:
            if isinstance(command, StartTimer):
                queue.append((command.due, TimerFired(command.timer_id)))
            elif isinstance(command, InvokeTask):
                if command.payload == 2 and 2 not in failed_once:
                    failed_once.add(2)
                    queue.append((now + 1, TaskFailed(command.token, "Flaky", "once")))
                else:
                    queue.append((now + 1, TaskSucceeded(command.token, {"done": command.payload})))
    return run, seen


def test_json_round_trips_change_nothing() -> None:
    direct_run, direct = drive(roundtrip=False)
    stored_run, stored = drive(roundtrip=True)
    assert direct_run.status == stored_run.status == "SUCCEEDED"
    assert stored_run.output == direct_run.output
    assert stored == direct
    assert direct_run.output["results"] == [{"done": 1}, {"done": 2}, {"done": 3}]


def test_stop_round_trips() -> None:
    for stimulus in (Stop("E", "c"), Start(begin=False), TimerFired("t9")):
        assert stimulus_from_dict(stimulus_to_dict(stimulus)) == stimulus


def test_run_states_written_before_child_executions_still_load() -> None:
    threads = {"": Thread(id="", machine_key=""), "/1": Thread(id="/1", machine_key="/M")}
    data = run_state_to_dict(RunState(threads=threads))
    del data["children"]
    # Then a distributed Map's items were threads marked silent.
    for thread, silent in zip(data["threads"], (False, True), strict=True):
        del thread["execution"]
        thread["silent"] = silent
    loaded = run_state_from_dict(data)
    assert loaded.children == {}
    assert (loaded.threads[""].silent, loaded.threads["/1"].silent) == (False, True)
    assert loaded.threads[""].execution == ""


def test_the_stored_form_of_a_thread_is_each_field_by_name() -> None:
    # The written form is what stored run states hold: one key per field in the
    # dataclass's order, the converted fields converted, None left None.
    from collections import deque

    from stepfn.interp.runstate import FanOut

    fan = FanOut("map", [1, 2], [None, 5], deque([0]), running={3: "t3", 1: "t1"})
    fan.succeeded = {1}
    thread = Thread(
        id="t0",
        machine_key="",
        attempts={2: 1, 0: 4},
        fan=fan,
        map_item=(1, "x"),
        announce=("MapIterationStarted", {"index": 1}),
    )
    run = RunState(threads={"t0": thread, "t9": Thread(id="t9", machine_key="M")})
    written = run_state_to_dict(run)
    assert list(written) == list(RunState.__dataclass_fields__)
    first, second = written["threads"]
    assert list(first) == list(Thread.__dataclass_fields__)
    assert first["attempts"] == [(0, 4), (2, 1)]
    assert first["map_item"] == [1, "x"]
    assert first["announce"] == ["MapIterationStarted", {"index": 1}]
    assert first["fan"]["pending"] == [0]
    assert first["fan"]["running"] == [(1, "t1"), (3, "t3")]
    assert first["fan"]["succeeded"] == [1]
    assert first["fan"]["redriven"] == []
    assert second["fan"] is None and second["map_item"] is None and second["attempts"] == []
    back = run_state_from_json(run_state_to_json(run))
    assert back.threads["t0"] == thread and back.threads["t9"] == run.threads["t9"]
