"""A step over its budget yields: the execution goes on in a later step, with the same
history, and a start or a worker batch is never held by one long execution."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.durable import worker
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/r"

# A loop of 600 Pass states in all (200 rounds of three), with a Parallel inside.
LOOP = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.n", "Next": "Add"},
        "Add": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
            "Next": "Fan",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
            ],
            "OutputPath": "$[0]",
            "Next": "More",
        },
        "More": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericLessThan": 200, "Next": "Add"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def shape(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The history without its timestamps."""
    return [
        (
            e["id"],
            e["type"],
            e.get("previousEventId"),
            json.dumps(
                {k: v for k, v in e.items() if k not in ("timestamp", "id", "type")},
                sort_keys=True,
                default=str,
            ),
        )
        for e in history
    ]


@pytest.fixture
def engine(store_url: str) -> Engine:
    e = Engine.open(store_url, clock=VirtualClock())
    yield e
    e.close()


def _run_on(engine: Engine) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    arn = engine.create_state_machine(name="loop", definition=json.dumps(LOOP), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = engine.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    engine.run_until_idle()
    history: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = engine.get_execution_history(executionArn=ex, maxResults=1000, **token)
        history += page["events"]
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    return engine.describe_execution(executionArn=ex), history


def test_a_step_that_always_yields_makes_the_same_history(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Engine.open("memory://", clock=VirtualClock()) as unhurried:
        expected, expected_history = _run_on(unhurried)
    monkeypatch.setattr(worker, "START_BUDGET", -1.0)
    monkeypatch.setattr(worker, "STEP_BUDGET", -1.0)
    described, history = _run_on(engine)
    assert described["status"] == "SUCCEEDED"
    assert described["output"] == expected["output"] == json.dumps({"n": 200}).replace(" ", "")
    assert len(history) == len(expected_history) > 1000
    assert shape(history) == shape(expected_history)


def test_a_start_answers_before_a_long_execution_ends(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "START_BUDGET", -1.0)
    arn = engine.create_state_machine(name="loop", definition=json.dumps(LOOP), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = engine.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    # The start yielded after its first states: the rest waits for the worker.
    assert engine.describe_execution(executionArn=ex)["status"] == "RUNNING"
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=ex)["status"] == "SUCCEEDED"


def test_an_endless_loop_still_fails_across_yields(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stepfn.interp import machine

    monkeypatch.setattr(worker, "START_BUDGET", -1.0)
    monkeypatch.setattr(worker, "STEP_BUDGET", -1.0)
    monkeypatch.setattr(machine, "STEP_TRANSITIONS", 500)
    endless = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.never", "IsPresent": True, "Next": "C"}],
                "Default": "A",
            },
            "C": {"Type": "Succeed"},
        },
    }
    arn = engine.create_state_machine(
        name="endless", definition=json.dumps(endless), roleArn=ROLE, type="STANDARD"
    )["stateMachineArn"]
    monkeypatch.setattr(machine, "MAX_HISTORY_EVENTS", 10**9)
    ex = engine.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=ex)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "without waiting for a task" in described["cause"]
