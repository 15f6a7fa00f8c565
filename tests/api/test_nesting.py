"""Deeply nested definitions, inputs and outputs over HTTP: AWS's client errors, never a 500
(a RecursionError answered as InternalFailure, which SDKs retry)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import ROLE, WAIT_LONG, unique

ON_EVERY_STORE = True  # on SQLite and on PostgreSQL (see conftest.py)

TOO_DEEP = "Document nesting depth exceeds the maximum allowed (256 levels)"


def parallel_text(depth: int) -> str:
    opening = '{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":['
    core = '{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}'
    return opening * depth + core + "]}}}" * depth


def result_text(depth: int) -> str:
    result = "[" * depth + "]" * depth
    return '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Result":' + result + "}}}"


def failure(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.mark.parametrize(
    "definition",
    [parallel_text(5_000), result_text(5_000), result_text(100_000)],
    ids=["parallel-5000", "result-5000", "result-100000"],
)
def test_create_state_machine_answers_invalid_definition(sfn: Any, definition: str) -> None:
    code, message, status = failure(
        sfn.create_state_machine, name=unique("deep"), definition=definition, roleArn=ROLE
    )
    assert (code, status) == ("InvalidDefinition", 400)
    assert TOO_DEEP in message


def test_validate_and_test_state_answer_too(sfn: Any) -> None:
    answer = sfn.validate_state_machine_definition(definition=parallel_text(5_000))
    assert answer["result"] == "FAIL"
    assert any(TOO_DEEP in d["message"] for d in answer["diagnostics"])
    state = '{"Type":"Pass","End":true,"Result":' + "[" * 5_000 + "]" * 5_000 + "}"
    code, message, status = failure(sfn.test_state, definition=state, roleArn=ROLE)
    assert (code, status) == ("InvalidDefinition", 400) and TOO_DEEP in message


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_start_execution_answers_invalid_execution_input(sfn: Any, depth: int) -> None:
    arn = sfn.create_state_machine(
        name=unique("m"), definition=json.dumps(WAIT_LONG), roleArn=ROLE
    )["stateMachineArn"]
    code, message, status = failure(
        sfn.start_execution, stateMachineArn=arn, input="[" * depth + "]" * depth
    )
    assert (code, status) == ("InvalidExecutionInput", 400)
    assert message == f"Invalid State Machine Execution Input: '{TOO_DEEP}'"


def test_send_task_success_answers_invalid_output(sfn: Any) -> None:
    from .test_operations import CALLBACK, task_token

    arn = sfn.create_state_machine(name=unique("m"), definition=json.dumps(CALLBACK), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = task_token(sfn, execution)
    code, message, status = failure(
        sfn.send_task_success, taskToken=token, output="[" * 5_000 + "]" * 5_000
    )
    assert (code, message, status) == ("InvalidOutput", f"Invalid Output: '{TOO_DEEP}'", 400)
    sfn.stop_execution(executionArn=execution)
