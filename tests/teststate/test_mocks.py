"""TestState with mocks: mocked task results and errors, Retry and Catch, and what
TestState refuses (mock rules, model constraints, ``fieldValidationMode``).

Expected values are AWS's recorded answers; cases marked "ours" check stepfn's own
wording where no recording shows AWS's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stepfn.errors import ServiceError

from .support import (
    CHOICE,
    ENTRIES,
    FAIL,
    HELLO,
    ITEM,
    LAMBDA,
    LAMBDA_INVOKE,
    LEVELS,
    MAP_STATE,
    PARALLEL,
    PASS,
    PUT_EVENTS,
    PUT_ITEM,
    ROLE,
    START_EXECUTION,
    SUCCEED,
    TARGET,
    THREE,
    _Engine,
    open_engine,
    refused,
    run,
)


@pytest.fixture
def engine() -> Iterator[_Engine]:
    engine = open_engine()
    yield engine
    engine.close()


# --- mocks -------------------------------------------------------------------------------------

CATCH_TASK = {
    "QueryLanguage": "JSONata",
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Arguments": {"FunctionName": "foo", "Payload": "bar"},
    "Catch": [
        {"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMockError"},
        {
            "ErrorEquals": ["States.TaskFailed"],
            "Output": "{% $states %}",
            "Next": "HandleThreshold",
        },
    ],
    "End": True,
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    ("error", "cause", "index", "next_state"),
    [
        ("MockException", "Mock the cause of the error.", 0, "HandleMockError"),
        ("States.TaskFailed", "The task failed.", 1, "HandleThreshold"),
    ],
)
def test_state_task_catch_error(
    engine: _Engine, level: str, error: str, cause: str, index: int, next_state: str
) -> None:
    mock = {"errorOutput": {"error": error, "cause": cause}}
    answer = run(engine, CATCH_TASK, HELLO, roleArn=ROLE, inspectionLevel=level, mock=mock)
    output = answer.pop("output")
    assert output["input"] == HELLO and output["errorOutput"] == {"Error": error, "Cause": cause}
    assert output["context"]["State"] == {
        "Name": "StateName",
        "EnteredTime": "2024-01-01T00:00:00.000Z",
        "RetryCount": 0,
    }
    assert output["context"]["Execution"]["RoleArn"] == ROLE
    expected: dict[str, Any] = {
        "cause": cause,
        "error": error,
        "nextState": next_state,
        "status": "CAUGHT_ERROR",
    }
    if level != "INFO":
        expected["inspectionData"] = {
            "input": HELLO,
            "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
            "errorDetails": {"catchIndex": index},
        }
    assert answer == expected


RETRY_TASK = {
    **{k: v for k, v in CATCH_TASK.items() if k != "Catch"},
    "Retry": [
        {
            "ErrorEquals": ["MockException"],
            "IntervalSeconds": 1,
            "MaxAttempts": 5,
            "BackoffRate": 2.0,
        }
    ],
}


@pytest.mark.parametrize("level", ["DEBUG", "TRACE"])
def test_state_configuration_retrier_retry_count(engine: _Engine, level: str) -> None:
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
    inspection = {"input": THREE, "afterArguments": {"FunctionName": "foo", "Payload": "bar"}}
    common = {"cause": "Mock the cause of the error.", "error": "MockException"}
    below = run(
        engine, RETRY_TASK, THREE, roleArn=ROLE, inspectionLevel=level, mock=mock,
        stateConfiguration={"retrierRetryCount": 4},
    )  # fmt: skip
    assert below == {
        **common,
        "inspectionData": {
            **inspection,
            "errorDetails": {"retryBackoffIntervalSeconds": 16, "retryIndex": 0},
        },
        "status": "RETRIABLE",
    }
    exceeds = run(
        engine, RETRY_TASK, THREE, roleArn=ROLE, inspectionLevel=level, mock=mock,
        stateConfiguration={"retrierRetryCount": 5},
    )  # fmt: skip
    assert exceeds == {
        **common,
        "inspectionData": {**inspection, "errorDetails": {"retryIndex": 0}},
        "status": "FAILED",
    }


def test_the_retry_count_is_in_the_context(engine: _Engine) -> None:  # ours
    task = {
        "Type": "Task",
        "Resource": LAMBDA + "hello",
        "Parameters": {"n.$": "$$.State.RetryCount"},
        "End": True,
    }
    answer = run(
        engine, task, {}, mock={"result": 1}, stateConfiguration={"retrierRetryCount": 2},
        inspectionLevel="DEBUG",
    )  # fmt: skip
    assert answer["inspectionData"]["afterParameters"] == {"n": 2}


TARGET_RESULT = {
    "ExecutionArn": "arn:aws:states:us-east-1:1:execution:T:TestStartTarget",
    "StartDate": "2025-12-03T00:34:15.000",
}

METADATA = {"SdkHttpMetadata": {"HttpStatusCode": 200}}


@pytest.mark.parametrize(
    ("definition", "data", "result", "output"),
    [
        (
            LAMBDA_INVOKE,
            {"FunctionName": "f", "Payload": None},
            {"Payload": "function output", **METADATA},
            {"Payload": "function output", **METADATA},
        ),
        (PUT_ITEM, ITEM, METADATA, METADATA),
        (
            {**PUT_ITEM, "ResultPath": "$.putItemOutput"},
            ITEM,
            METADATA,
            {**ITEM, "putItemOutput": METADATA},
        ),
        (
            {**PUT_ITEM, "ResultPath": "$.putItemOutput", "OutputPath": "$.putItemOutput"},
            ITEM,
            METADATA,
            METADATA,
        ),
        (PUT_EVENTS, ENTRIES, {"Entries": [{"EventId": "e1"}]}, {"Entries": [{"EventId": "e1"}]}),
        (
            {**PUT_EVENTS, "Resource": "arn:aws:states:::sqs:sendMessage"},
            {"Entries": []},
            {"MD5OfMessageBody": "abc", "MessageId": "m1"},
            {"MD5OfMessageBody": "abc", "MessageId": "m1"},
        ),
        (START_EXECUTION, TARGET, TARGET_RESULT, TARGET_RESULT),
    ],
    ids=["lambda", "dynamodb", "dynamodb_io", "dynamodb_io_output_path", "events", "sqs", "sfn"],
)
def test_mocked_service_tasks(
    engine: _Engine, definition: Any, data: Any, result: Any, output: Any
) -> None:
    answer = run(engine, definition, data, mock={"result": result})
    assert answer == {"output": output, "status": "SUCCEEDED"}


def test_a_mocked_result_must_be_json(engine: _Engine) -> None:
    mock = {"result": "not JSON string", "fieldValidationMode": "NONE"}
    assert refused(engine, LAMBDA_INVOKE, input={}, mock=mock) == (
        "ValidationException",
        "Mocked result must be valid JSON",
    )


# --- mock validation ---------------------------------------------------------------------------

NO_FANS = (
    "TestState API does not support Map or Parallel states. Supported state types include: "
    "[Task, Wait, Pass, Succeed, Fail, Choice]"
)


@pytest.mark.parametrize(
    "definition", [PASS, FAIL, SUCCEED, CHOICE, {"Type": "Wait", "Seconds": 1, "End": True}]
)
@pytest.mark.parametrize(
    "mock", [{"result": {"mock": 1}}, {"errorOutput": {"error": "E", "cause": "C"}}]
)
def test_state_type_does_not_accept_mock(engine: _Engine, definition: Any, mock: Any) -> None:
    assert refused(engine, definition, mock=mock, inspectionLevel="TRACE") == (
        "ValidationException",
        f"State type '{definition['Type']}' is not supported when a mock is specified",
    )


@pytest.mark.parametrize("definition", [MAP_STATE, PARALLEL])
def test_state_type_requires_mock(engine: _Engine, definition: Any) -> None:
    assert refused(engine, definition, inspectionLevel="TRACE") == ("InvalidDefinition", NO_FANS)


@pytest.mark.parametrize(
    ("definition", "mock", "kw", "message"),
    [
        (
            LAMBDA_INVOKE,
            {"result": {"mock": "response"}, "errorOutput": {"error": "Error", "cause": "Cause"}},
            {},
            "A test mock should have only one of the following fields: [result, errorOutput].",
        ),
        (
            LAMBDA_INVOKE,
            {"result": {"mock": "response"}},
            {"revealSecrets": True},
            "TestState does not support RevealSecrets when a mock is specified.",
        ),
        (MAP_STATE, {"result": {"mock": "array"}}, {}, "Mocked result must be an array."),
        (
            {**MAP_STATE, "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}},
            {"result": ["object expected"]},
            {},
            "Mocked result must be a JSON object.",
        ),
        (PARALLEL, {"result": {"a": 1}}, {}, "Mocked result must be an array."),
        (
            PARALLEL,
            {"result": [1, 2, 3]},
            {},
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
        (
            MAP_STATE,
            None,
            {"stateConfiguration": {"mapIterationFailureCount": 1}},
            "TestState does not support MapIterationFailureCount when a mock is not specified.",
        ),
        (
            MAP_STATE,
            {"result": [1, 1]},
            {"stateConfiguration": {"mapIterationFailureCount": 3}},
            "Map iteration failure count must be less than or equal to the number of Map "
            "iterations",
        ),
    ],
    ids=[
        "result_and_error",
        "reveal_secrets",
        "map_not_array",
        "map_writer_not_object",
        "parallel_not_array",
        "parallel_size",
        "failure_count_without_mock",
        "failure_count_too_high",
    ],
)
def test_mock_validation(
    engine: _Engine, definition: Any, mock: Any, kw: dict[str, Any], message: str
) -> None:
    assert refused(engine, definition, input=THREE, mock=mock, **kw) == (
        "ValidationException",
        message,
    )


def test_parallel_state_empty_branches(engine: _Engine) -> None:
    assert refused(engine, {**PARALLEL, "Branches": []}, mock={"result": []}) == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty "
        "at /States/StateName/Branches'",
    )


@pytest.mark.parametrize(
    ("mock", "kw"),
    [
        ({"fieldValidationMode": "STRICT"}, {}),  # neither result nor errorOutput
        ({"errorOutput": {"cause": "no error"}}, {}),
        (None, {"context": {}}),
        ({"result": {}}, {"stateConfiguration": {"errorCausedByState": "TestState"}}),
        ({"errorOutput": {"error": "E"}}, {"stateConfiguration": {"errorCausedByState": "Nope"}}),
    ],
    ids=[
        "empty_mock",
        "error_without_name",
        "context_without_mock",
        "origin_without_error",
        "origin_unknown",
    ],
)
def test_our_request_rules(engine: _Engine, mock: Any, kw: dict[str, Any]) -> None:  # ours
    code, _ = refused(engine, MAP_STATE, input=THREE, mock=mock, **kw)
    assert code == "ValidationException"


def test_model_constraints(engine: _Engine) -> None:
    assert refused(engine, PASS, inspectionLevel="LOUD") == (
        "ValidationException",
        "1 validation error detected: Value 'LOUD' at 'inspectionLevel' failed to satisfy "
        "constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]",
    )
    code, message = refused(engine, PASS, stateConfiguration={"retrierRetryCount": -1})
    assert code == "ValidationException" and "stateConfiguration.retrierRetryCount" in message


def test_bad_input_and_definitions(engine: _Engine) -> None:
    with pytest.raises(ServiceError) as caught:
        engine.test_state(definition=json.dumps(PASS), input="{nope")
    assert caught.value.code == "InvalidExecutionInput"
    with pytest.raises(ServiceError) as caught:
        engine.test_state(definition="{")
    assert caught.value.code == "InvalidDefinition"


# --- fieldValidationMode -------------------------------------------------------------------------

SCHEMA = "Mock result schema validation error: "

S3_GET = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True}

KMS_ENCRYPT = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:kms:encrypt", "End": True}

GET_FUNCTION = {
    "Type": "Task",
    "Resource": "arn:aws:states:::aws-sdk:lambda:getFunction",
    "End": True,
}

# (definition, mock result, the STRICT answer's error or None, the PRESENT answer's)
FIELD_CASES = {
    "field_not_part_of_api_spec": (PUT_EVENTS, {"random": "json"}, None, None),
    "empty_json": (PUT_EVENTS, {}, None, None),
    "wrong_type_top_level_field": (
        PUT_EVENTS,
        {"Entries": "a list of entries was due"},
        "Field 'Entries' must be an array",
        "Field 'Entries' must be an array",
    ),
    "wrong_type_nested_field": (
        PUT_EVENTS,
        {"Entries": [{"EventId": ["not a string"]}]},
        "Field 'EventId' must be a string",
        "Field 'EventId' must be a string",
    ),
    "wrong_type_2nd_array_element": (
        PUT_EVENTS,
        {"Entries": [{"EventId": "fine"}, {"EventId": ["not a string"]}]},
        "Field 'EventId' must be a string",
        "Field 'EventId' must be a string",
    ),
    "missing_required_fields": (
        START_EXECUTION,
        {},
        "Required field 'ExecutionArn' is missing",
        None,
    ),
    "field_name_not_in_sfn_case": (
        START_EXECUTION,
        {"executionArn": "stringValueExecutionArn", "startDate": "stringValueStartDate"},
        "Required field 'ExecutionArn' is missing",
        None,
    ),
    "wrong_timestamp_type_bool": (
        START_EXECUTION,
        {"ExecutionArn": "stringValueExecutionArn", "StartDate": True},
        "Field 'StartDate' must be a string",
        "Field 'StartDate' must be a string",
    ),
    "wrong_timestamp_type_number": (
        START_EXECUTION,
        {"ExecutionArn": "stringValueExecutionArn", "StartDate": 1764103483},
        "Field 'StartDate' must be a string",
        "Field 'StartDate' must be a string",
    ),
    "wrong_string_type_number": (
        START_EXECUTION,
        {"ExecutionArn": 1, "StartDate": "2025"},
        "Field 'ExecutionArn' must be a string",
        "Field 'ExecutionArn' must be a string",
    ),
    "wrong_integer_type_string": (
        LAMBDA_INVOKE,
        {"StatusCode": "200"},
        "Field 'StatusCode' must be a number",
        "Field 'StatusCode' must be a number",
    ),
    "wrong_float_type_string": (
        PUT_ITEM,
        {"ConsumedCapacity": {"CapacityUnits": "123.45"}},
        "Field 'CapacityUnits' must be a number",
        "Field 'CapacityUnits' must be a number",
    ),
    "wrong_long_type_string": (
        S3_GET,
        {"ContentLength": "9000"},
        "Field 'ContentLength' must be a number",
        "Field 'ContentLength' must be a number",
    ),
    "non_existent_enum_value": (
        S3_GET,
        {"StorageClass": "Papyrus"},
        "Field 'StorageClass' is not an expected value",
        "Field 'StorageClass' is not an expected value",
    ),
    "wrong_blob_type_number": (
        KMS_ENCRYPT,
        {"CiphertextBlob": 123},
        "Field 'CiphertextBlob' must be a string",
        "Field 'CiphertextBlob' must be a string",
    ),
    "wrong_blob_length_less_than_minimum": (
        KMS_ENCRYPT,
        {"CiphertextBlob": ""},
        "Field 'CiphertextBlob' is smaller than the minimum length",
        "Field 'CiphertextBlob' is smaller than the minimum length",
    ),
    "integer_less_than_minimum_allowed": (
        GET_FUNCTION,
        {"Configuration": {"MemorySize": 127}},
        "Field 'MemorySize' is less than the minimum value",
        "Field 'MemorySize' is less than the minimum value",
    ),
    # AWS answered this for 10241 when the API's maximum was 10240; it has grown since.
    "integer_more_than_maximum_allowed": (
        GET_FUNCTION,
        {"Configuration": {"MemorySize": 10**9}},
        "Field 'MemorySize' exceeds the maximum value",
        "Field 'MemorySize' exceeds the maximum value",
    ),
}


@pytest.mark.parametrize("mode", ["STRICT", "PRESENT", "NONE"])
@pytest.mark.parametrize("case", list(FIELD_CASES))
def test_field_validation_mode(engine: _Engine, case: str, mode: str) -> None:
    pytest.importorskip("botocore")  # the API models come from botocore
    definition, result, strict, present = FIELD_CASES[case]
    # The bare task: the mock is checked before any data flow.
    bare = {k: v for k, v in definition.items() if k in ("Type", "Resource", "End")}
    error = {"STRICT": strict, "PRESENT": present, "NONE": None}[mode]
    mock = {"result": json.dumps(result), "fieldValidationMode": mode}
    if error is None:
        answer = run(engine, bare, {}, mock=mock)
        assert answer["status"] == "SUCCEEDED"
    else:
        assert refused(engine, bare, input={}, mock=mock) == (
            "ValidationException",
            SCHEMA + error,
        )


def test_the_default_mode_is_strict(engine: _Engine) -> None:
    pytest.importorskip("botocore")
    code, message = refused(engine, START_EXECUTION, input=TARGET, mock={"result": {}})
    assert (code, message) == (
        "ValidationException",
        SCHEMA + "Required field 'ExecutionArn' is missing",
    )
    # Results of other resources and patterns are not an API's output: taken as they are.
    for resource in (LAMBDA + "f", "arn:aws:states:::states:startExecution.sync:2"):
        task = {"Type": "Task", "Resource": resource, "End": True}
        assert run(engine, task, mock={"result": json.dumps("x")})["output"] == "x"
