"""Time control: a scaled clock shortens waits for timers; histories keep AWS's times."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest

from stepfn.clock import ScaledClock
from stepfn.service.engine import Engine
from stepfn.store import open_store
from stepfn.testing import parse_mock_config

ROLE = "arn:aws:iam::123456789012:role/test"


def test_scale_zero_jumps_to_the_due_time() -> None:
    clock = ScaledClock(0)
    due = clock.now() + 3600
    assert clock.skip_towards(due) == 0.0
    assert clock.now() >= due
    assert clock.now() < due + 60  # it jumped there, not beyond


def test_a_scale_shortens_the_wait_and_then_jumps() -> None:
    clock = ScaledClock(0.001)
    due = clock.now() + 1000
    wait = clock.skip_towards(due)
    assert 0 < wait <= 1.0  # a thousandth of the simulated 1000 s
    assert clock.now() < due
    clock.sleep_until(due)
    assert clock.now() >= due


def test_a_negative_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        ScaledClock(-1)


def ended(engine: Engine, arn: str) -> dict[str, Any]:
    """DescribeExecution once the execution has ended (within a generous bound, so that
    a loaded machine cannot fail a test; bench/ measures the time)."""
    deadline = time.monotonic() + 60
    while True:
        described: dict[str, Any] = engine.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.01)


MOCKS = parse_mock_config(
    {
        "StateMachines": {"Slow": {"TestCases": {"Flaky": {"Call": "ThirdTime"}}}},
        "MockedResponses": {
            "ThirdTime": {
                "0-1": {"Throw": {"Error": "Busy", "Cause": "later"}},
                "2": {"Return": {"ok": True}},
            }
        },
    }
)
SLOW = {
    "StartAt": "Hour",
    "States": {
        "Hour": {"Type": "Wait", "Seconds": 3600, "Next": "Call"},
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 600, "MaxAttempts": 3}],
            "End": True,
        },
    },
}


@pytest.mark.integration
def test_an_hour_wait_with_ten_minute_retries_ends_at_once_at_scale_zero() -> None:
    with Engine.open("memory://", clock=ScaledClock(0), mock_config=MOCKS) as engine:
        sm = engine.create_state_machine(name="Slow", definition=json.dumps(SLOW), roleArn=ROLE)
        arn = engine.start_execution(stateMachineArn=sm["stateMachineArn"] + "#Flaky")[
            "executionArn"
        ]
        described = ended(engine, arn)
        assert described["status"] == "SUCCEEDED", described
        events = engine.get_execution_history(executionArn=arn)["events"]
    # The history reads as if the hour and the retries' 600 s and 1200 s had passed.
    start, end = events[0]["timestamp"], events[-1]["timestamp"]
    assert (end - start).total_seconds() >= 3600 + 600 + 1200
    scheduled = [e["timestamp"] for e in events if e["type"] == "TaskScheduled"]
    assert [round((b - a).total_seconds()) for a, b in itertools.pairwise(scheduled)] == [
        600,
        1200,
    ]


def slow_answer(event: dict[str, object], context: object) -> dict[str, object]:
    time.sleep(0.3)
    return {"ok": True}


TIMED = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow",
            "TimeoutSeconds": 10,
            "End": True,
        }
    },
}


@pytest.mark.integration
def test_a_task_timeout_waits_while_the_start_is_still_dispatching_it() -> None:
    """StartExecution commits the first step (its task's timeout timer among it), then
    dispatches the task. An idle scheduler at scale 0 that looks in between must not
    jump to the timeout: the task is not running yet, but it is on its way."""
    store = open_store("memory://")
    commit = store.create_executions

    def slow_to_dispatch(starts: Any) -> Any:
        stored = commit(starts)
        time.sleep(0.5)  # the scheduler looks every 0.2 s meanwhile
        return stored

    store.create_executions = slow_to_dispatch  # type: ignore[method-assign]
    with Engine(store, clock=ScaledClock(0), functions={"slow": slow_answer}) as engine:
        sm = engine.create_state_machine(name="Timed", definition=json.dumps(TIMED), roleArn=ROLE)
        arn = engine.start_execution(stateMachineArn=sm["stateMachineArn"])["executionArn"]
        described = ended(engine, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"ok": True}
