from __future__ import annotations

from stepfn.clock import VirtualClock
from stepfn.console.graph import ancestors, build_graph
from stepfn.console.outcome import OutcomeTracker, outcomes
from stepfn.service.engine import Engine

from .machines import FAN_OUT, create, failing, history, run, virtual_engine


def test_a_caught_parallel_and_its_failed_branch() -> None:
    with virtual_engine() as engine:
        arn = run(engine, create(engine, "fan", FAN_OUT))
        found = outcomes(history(engine, arn), ancestors(build_graph(FAN_OUT)))
    assert {name: s["outcome"] for name, s in found.items()} == {
        "Prepare": "succeeded",
        "Pick": "succeeded",
        "Each": "succeeded",
        "Double": "succeeded",
        "Both": "caught",
        "Left": "succeeded",
        "Right": "failed",
        "Recovered": "succeeded",
    }
    assert found["Double"]["entered"] == 2
    assert found["Both"]["error"] == "Right.Broke"
    assert "Broken" not in found  # not reached


def test_a_failed_execution_fails_the_state_it_was_in_with_error_and_cause() -> None:
    with virtual_engine() as engine:
        arn = run(engine, create(engine, "f", failing("Bad.Thing", "because")))
        tracker = OutcomeTracker()
        tracker.feed(history(engine, arn))
    assert tracker.status == "FAILED"
    assert tracker.snapshot()["Explode"] == {
        "outcome": "failed",
        "entered": 1,
        "retries": 0,
        "error": "Bad.Thing",
        "cause": "because",
    }
    assert tracker.snapshot()["First"]["outcome"] == "succeeded"


def test_retries_are_counted_and_a_retried_success_is_a_success() -> None:
    calls = []

    def flaky(event: object, context: object) -> dict:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("not yet")
        return {"ok": True}

    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5}],
                "End": True,
            }
        },
    }
    with Engine.open(":memory:", clock=VirtualClock(), functions={"flaky": flaky}) as engine:
        arn = run(engine, create(engine, "retry", definition))
        found = outcomes(history(engine, arn))
    assert found["Call"]["outcome"] == "succeeded"
    assert found["Call"]["retries"] == 2


def test_fed_in_pieces_a_running_state_turns_green_when_it_exits() -> None:
    definition = {
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    with virtual_engine() as engine:
        arn = run(engine, create(engine, "wait", definition))
        events = history(engine, arn)
    entered = next(i for i, e in enumerate(events) if e["type"] == "WaitStateEntered")
    tracker = OutcomeTracker()
    tracker.feed(events[: entered + 1])
    assert tracker.snapshot()["Hold"]["outcome"] == "running"
    assert tracker.status == "RUNNING"
    tracker.feed(events[entered + 1 :])
    assert tracker.snapshot()["Hold"]["outcome"] == "succeeded"
    assert tracker.status == "SUCCEEDED"
    assert tracker.last_event_id == events[-1]["id"]
