"""CreateStateMachine and UpdateStateMachine refuse a Task ``Resource`` that still holds a
``${...}`` placeholder, with AWS's ``InvalidDefinition`` text; validation alone lets it
pass (a template is checked before its substitutions)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import stepfn
from stepfn.clock import VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine

pytestmark = pytest.mark.unit

ROLE = "arn:aws:iam::123456789012:role/stepfn"
FN = "arn:aws:lambda:us-east-1:123456789012:function:LambdaFunction1"
PLACEHOLDER = "${aws_lambda_function.lambda_function_1.arn}"


def task(resource: str) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "End": True}


def machine(resource: str) -> str:
    return json.dumps({"StartAt": "InvokeLambda1", "States": {"InvokeLambda1": task(resource)}})


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine.open("memory://", clock=VirtualClock())
    try:
        yield engine
    finally:
        engine.close()


def refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    assert caught.value.code == "InvalidDefinition"
    return str(caught.value.message)


def test_an_unresolved_reference_passes_validation_but_not_create(engine: Engine) -> None:
    assert stepfn.validate(json.loads(machine(PLACEHOLDER))) == []
    message = refused(
        engine.create_state_machine, name="seed", definition=machine(PLACEHOLDER), roleArn=ROLE
    )
    # AWS's answer for a Resource that is not an ARN, located as AWS locates it.
    assert message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "
        "Value is not a valid resource ARN at /States/InvokeLambda1/Resource'"
    )
    assert engine.list_state_machines()["stateMachines"] == []


def test_placeholders_inside_parallel_and_map_are_all_named(engine: Engine) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": task(FN)}},
                    {
                        "StartAt": "B",
                        "States": {"B": task("arn:aws:lambda:${Region}:1:function:b")},
                    },
                ],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "C", "States": {"C": task("${CFn}")}},
                "End": True,
            },
        },
    }
    message = refused(
        engine.create_state_machine, name="nested", definition=json.dumps(definition), roleArn=ROLE
    )
    assert "Value is not a valid resource ARN at /States/P/Branches[1]/States/B/Resource" in message
    assert (
        "Value is not a valid resource ARN at /States/M/ItemProcessor/States/C/Resource" in message
    )
    assert "/Branches[0]/" not in message


def test_update_refuses_it_too_and_keeps_the_old_definition(engine: Engine) -> None:
    arn = engine.create_state_machine(name="seed", definition=machine(FN), roleArn=ROLE)[
        "stateMachineArn"
    ]
    message = refused(
        engine.update_state_machine, stateMachineArn=arn, definition=machine(PLACEHOLDER)
    )
    assert "/States/InvokeLambda1/Resource" in message
    described = engine.describe_state_machine(stateMachineArn=arn)
    assert json.loads(described["definition"])["States"]["InvokeLambda1"]["Resource"] == FN


def test_placeholders_outside_a_task_resource_are_left_alone(engine: Engine) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Result": "${not.a.resource}", "End": True}},
    }
    created = engine.create_state_machine(
        name="pass", definition=json.dumps(definition), roleArn=ROLE
    )
    assert created["stateMachineArn"].endswith(":stateMachine:pass")
