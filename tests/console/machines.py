"""State machines the console's tests run, and an Engine on a virtual clock to run them."""

from __future__ import annotations

import json
from typing import Any

from stepfn.clock import VirtualClock
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/console-tests"
EVIL = "<script>window.__pwned=1</script>"

FAN_OUT: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Result": {"items": [1, 2]},
            "Assign": {"n": 2},
            "Next": "Pick",
        },
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.items[0]", "NumericEquals": 1, "Next": "Each"}],
            "Default": "Broken",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Double",
                "States": {"Double": {"Type": "Pass", "End": True}},
            },
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Right",
                    "States": {
                        "Right": {"Type": "Fail", "Error": "Right.Broke", "Cause": "on purpose"}
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
            "End": True,
        },
        "Recovered": {"Type": "Succeed"},
        "Broken": {"Type": "Fail", "Error": "Never", "Cause": "not taken"},
    },
}


def failing(error: str = "Boom", cause: str = "it broke") -> dict[str, Any]:
    """A machine whose second state fails with ``error`` and ``cause``."""
    return {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Explode"},
            "Explode": {"Type": "Fail", "Error": error, "Cause": cause},
        },
    }


def evil() -> dict[str, Any]:
    """A machine whose state name and output are a script."""
    return {
        "StartAt": EVIL,
        "States": {EVIL: {"Type": "Pass", "Result": {"html": EVIL}, "End": True}},
    }


def virtual_engine() -> Engine:
    """An in-memory Engine whose clock only moves when the engine waits."""
    return Engine.open(":memory:", clock=VirtualClock())


def create(engine: Engine, name: str, definition: dict[str, Any]) -> str:
    """Create a state machine; its ARN."""
    out = engine.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return str(out["stateMachineArn"])


def run(engine: Engine, machine_arn: str, value: Any = None) -> str:
    """Start an execution and run it to its end; its ARN."""
    out = engine.start_execution(stateMachineArn=machine_arn, input=json.dumps(value or {}))
    engine.run_until_idle()
    return str(out["executionArn"])


def history(engine: Engine, execution_arn: str) -> list[dict[str, Any]]:
    """The whole history of an execution."""
    return list(engine.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"])
