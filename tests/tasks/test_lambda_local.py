"""Lambda functions invoked in-process, with AWS's result and error shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.interp.context import execution_info
from stepfn.tasks.base import Registry, TaskRequest
from stepfn.tasks.lambda_local import LocalLambda, function_name

ARN = "arn:aws:lambda:us-east-1:123456789012:function:double"


def request(resource: str, payload: Any) -> TaskRequest:
    return TaskRequest("tok-1", resource, payload, "S", execution_info("e", {}, 0.0))


def double(event: Any, context: Any) -> Any:
    assert context.function_name == "double"
    assert context.get_remaining_time_in_millis() >= 0
    return {"n": event["n"] * 2}


class PaymentDeclined(Exception):
    pass


def decline(event: Any, context: Any) -> Any:
    raise PaymentDeclined("card refused")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("double", ("double", None)),
        ("double:prod", ("double", "prod")),
        ("123456789012:function:double", ("double", None)),
        (ARN + ":7", ("double", "7")),
    ],
)
def test_function_name_forms(reference: str, expected: tuple[str, str | None]) -> None:
    assert function_name(reference) == expected


def test_function_arn_returns_the_handler_result() -> None:
    outcome = LocalLambda({"double": double}).invoke(request(ARN, {"n": 2}))
    assert outcome.succeeded and outcome.output == {"n": 4}


def test_invoke_integration_wraps_the_payload() -> None:
    adapter = LocalLambda({"double": double})
    outcome = adapter.invoke(
        request("arn:aws:states:::lambda:invoke", {"FunctionName": "double", "Payload": {"n": 1}})
    )
    assert outcome.succeeded
    assert outcome.output["Payload"] == {"n": 2}
    assert outcome.output["StatusCode"] == 200
    assert outcome.output["ExecutedVersion"] == "$LATEST"
    assert set(outcome.output) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }


def test_an_exception_becomes_lambdas_error_document() -> None:
    outcome = LocalLambda({"double": decline}).invoke(request(ARN, {}))
    assert not outcome.succeeded
    assert outcome.error == "PaymentDeclined"
    assert outcome.cause is not None
    document = json.loads(outcome.cause)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorMessage"] == "card refused"
    assert document["requestId"] == "tok-1"
    assert any("raise PaymentDeclined" in line for line in document["stackTrace"])


def test_missing_function_and_oversized_result() -> None:
    adapter = LocalLambda({"big": lambda e, c: "a" * (257 * 1024)})
    missing = adapter.invoke(request(ARN, {}))
    assert missing.error == "Lambda.ResourceNotFoundException"
    assert "function:double:$LATEST" in (missing.cause or "")
    big = adapter.invoke(request(ARN.replace("double", "big"), {}))
    assert big.error == "States.DataLimitExceeded"


def test_registry_refuses_unknown_resources_clearly() -> None:
    outcome = Registry([LocalLambda({})]).invoke(request("arn:aws:states:::sqs:sendMessage", {}))
    assert outcome.error == "States.TaskFailed"
    assert "sqs:sendMessage" in (outcome.cause or "")
