"""Shared pieces of the TestState tests: an engine with the operation, and a caller.

The tests compare AWS's recorded answers (``aws-recordings/test_state``) with stepfn's;
JSON text in answers (``output``, the ``inspectionData`` stages) is compared parsed, since
AWS's spacing in it is not part of the contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.clock import IdSource, VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine
from stepfn.teststate.service import TestState

ROLE = "arn:aws:iam::123456789012:role/stepfn"

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"

HELLO = {"Value": "HelloWorld"}

NESTED = {
    "initialData": {"fieldFromInput": "value from input", "otherField": "other"},
    "unrelatedData": {"someOtherField": 1234},
}

THREE = {"Values": ["first", "second", "third"]}

LEVELS = ("INFO", "DEBUG", "TRACE")


class _Engine(Engine, TestState):
    """The engine with the operation mixed in (the lead mixes it into Engine itself)."""


def hello(event: Any, context: Any) -> Any:
    return "HelloWorld!"


def identity(event: Any, context: Any) -> Any:
    return event


def broken(event: Any, context: Any) -> Any:
    raise ValueError("no good")


def run(engine: TestState, definition: Any, input: Any = None, **kw: Any) -> dict[str, Any]:
    """Call TestState with JSON values as JSON text; the answer's JSON text parsed."""
    if input is not None:
        kw["input"] = json.dumps(input)
    for key in ("variables", "context"):
        if key in kw and not isinstance(kw[key], str):
            kw[key] = json.dumps(kw[key])
    mock = kw.get("mock")
    if mock is not None and "result" in mock and not isinstance(mock["result"], str):
        kw["mock"] = {**mock, "result": json.dumps(mock["result"])}
    answer = engine.test_state(definition=json.dumps(definition), **kw)
    out = dict(answer)
    if "output" in out:
        out["output"] = json.loads(out["output"])
    if "inspectionData" in out:
        out["inspectionData"] = {
            k: json.loads(v) if isinstance(v, str) else v for k, v in out["inspectionData"].items()
        }
    return out


def refused(engine: TestState, definition: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(ServiceError) as caught:
        run(engine, definition, **kw)
    return caught.value.code, caught.value.message


PASS = {"Type": "Pass", "End": True}

FAIL = {
    "Type": "Fail",
    "Error": "SomeFailure",
    "Cause": "This state machines raises a 'SomeFailure' failure.",
}

SUCCEED = {"Type": "Succeed"}

CHOICE = {
    "Type": "Choice",
    "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ],
            "Next": "ValueInTwenties",
        },
    ],
    "Default": "DefaultState",
}

LAMBDA_INVOKE = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
    "End": True,
}

PUT_ITEM = {
    "Type": "Task",
    "Resource": "arn:aws:states:::dynamodb:putItem",
    "Parameters": {"TableName.$": "$.TableName", "Item.$": "$.Item"},
    "End": True,
}

ITEM = {"TableName": "table", "Item": {"data": {"S": "HelloWorld"}, "id": {"S": "id1"}}}

PUT_EVENTS = {
    "Type": "Task",
    "Resource": "arn:aws:states:::events:putEvents",
    "Parameters": {"Entries.$": "$.Entries"},
    "End": True,
}

ENTRIES = {"Entries": [{"Detail": "detail", "DetailType": "detail_type", "Source": "source"}]}

START_EXECUTION = {
    "Type": "Task",
    "Resource": "arn:aws:states:::states:startExecution",
    "Parameters": {"StateMachineArn.$": "$.stateMachineArn", "Name.$": "$.name"},
    "ResultPath": "$.targetExecutionResult",
    "OutputPath": "$.targetExecutionResult",
    "End": True,
}

TARGET = {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:T", "name": "TestStartTarget"}

MAP_STATE = {
    "Type": "Map",
    "QueryLanguage": "JSONata",
    "Items": "{% $states.input.Values %}",
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "TestState",
        "States": {
            "TestState": {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "foo", "Payload": "bar"},
                "End": True,
            }
        },
    },
    "Output": "{% $states %}",
    "End": True,
}

PARALLEL = {
    "Type": "Parallel",
    "Branches": [
        {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
        {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": True}}},
    ],
    "End": True,
}

MAP_MACHINE = {
    "StartAt": "State0",
    "States": {
        "State0": {
            "Type": "Map",
            "ItemsPath": "$.Values",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "HandleItem",
                "States": {"HandleItem": {"Type": "Pass", "End": True}},
            },
            "ToleratedFailureCount": 2,
            "End": True,
        }
    },
}


def open_engine() -> _Engine:
    """An engine on a memory store and a virtual clock, with three Lambda stand-ins."""
    functions = {"hello": hello, "identity": identity, "broken": broken}
    return _Engine.open("memory://", clock=VirtualClock(), functions=functions, ids=IdSource(7))
