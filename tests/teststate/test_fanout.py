"""TestState of Map and Parallel states (always mocked: their children never run), and
of states given a context object.

Expected values are AWS's recorded answers; cases marked "ours" check stepfn's
documented behaviour where no recording shows AWS's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .support import (
    LEVELS,
    MAP_MACHINE,
    MAP_STATE,
    PARALLEL,
    ROLE,
    START_EXECUTION,
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


# --- Map and Parallel --------------------------------------------------------------------------


def _context_of(output: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = output["context"]
    assert context["State"] == {
        "Name": "StateName",
        "EnteredTime": "2024-01-01T00:00:00.000Z",
        "RetryCount": 0,
    }
    return context


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    ("field", "shown"),
    [
        ("MaxConcurrency", {"maxConcurrency": 1}),
        ("ToleratedFailurePercentage", {"maxConcurrency": 0, "toleratedFailurePercentage": 1.0}),
        ("ToleratedFailureCount", {"maxConcurrency": 0, "toleratedFailureCount": 1}),
    ],
)
def test_base_map_state_inspect(engine: _Engine, level: str, field: str, shown: Any) -> None:
    data = {"Values": [1, 2, 3]}
    definition = {**MAP_STATE, field: "{% $count($states.input.Values) - 2 %}"}
    answer = run(
        engine, definition, data, roleArn=ROLE, inspectionLevel=level, mock={"result": [1, 1, 1]}
    )
    output = answer.pop("output")
    assert (output["input"], output["result"]) == (data, [1, 1, 1])
    assert _context_of(output)["Execution"]["Input"] == data
    expected: dict[str, Any] = {"status": "SUCCEEDED"}
    if level != "INFO":
        expected["inspectionData"] = {"input": data, **shown}
        assert isinstance(answer["inspectionData"].get("toleratedFailurePercentage", 0.0), float)
    assert answer == expected


MAP_CATCH = {
    **{k: v for k, v in MAP_STATE.items() if k != "Output"},
    "Catch": [
        {"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMockError"},
        {
            "ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
            "Output": "{% $states %}",
            "Next": "HandleThreshold",
        },
    ],
    "ToleratedFailureCount": 1,
}

MAP_RETRY = {
    **{k: v for k, v in MAP_STATE.items() if k != "Output"},
    "Retry": [
        {"ErrorEquals": ["MockException"], "MaxAttempts": 3},
        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2},
    ],
    "ToleratedFailureCount": 1,
}

MAP_TASK = {
    **MAP_RETRY,
    "Output": {
        "result": "{% $map($states.result, function($v) { $v = 1 ? 'pass' : 'failed' }) %}",
        "successCount": "{% $count($states.result[$ = 1]) %}",
        "failedCount": "{% $count($states.result[$ = 0]) %}",
    },
    "Catch": [
        {
            "ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
            "Output": "{% $states %}",
            "Next": "HandleThresholdExceeded",
        },
        {
            "ErrorEquals": ["MockException"],
            "Output": "{% $states %}",
            "Next": "HandleMockException",
        },
    ],
}

THRESHOLD = {
    "cause": "The specified tolerated failure threshold was exceeded",
    "error": "States.ExceedToleratedFailureThreshold",
}

RETRIED = {
    **THRESHOLD,
    "inspectionData": {
        "errorDetails": {"retryBackoffIntervalSeconds": 1, "retryIndex": 1},
        "input": THREE,
        "maxConcurrency": 0,
        "toleratedFailureCount": 1,
    },
    "status": "RETRIABLE",
}

TOLERATED = {"input": THREE, "maxConcurrency": 0, "toleratedFailureCount": 1}


@pytest.mark.parametrize(
    ("definition", "below", "exceeds"),
    [
        (MAP_STATE, None, None),  # no tolerance: failures alone do not fail it
        (
            MAP_CATCH,
            {"inspectionData": TOLERATED, "output": [1, 1, 1], "status": "SUCCEEDED"},
            {
                **THRESHOLD,
                "inspectionData": {**TOLERATED, "errorDetails": {"catchIndex": 1}},
                "nextState": "HandleThreshold",
                "status": "CAUGHT_ERROR",
            },
        ),
        (
            MAP_RETRY,
            {"inspectionData": TOLERATED, "output": [1, 1, 1], "status": "SUCCEEDED"},
            RETRIED,
        ),
        (
            MAP_TASK,
            {
                "inspectionData": TOLERATED,
                "output": {"result": ["pass", "pass", "pass"], "successCount": 3, "failedCount": 0},
                "status": "SUCCEEDED",
            },
            RETRIED,
        ),
    ],
    ids=["BASE_MAP_STATE", "BASE_MAP_STATE_CATCH", "BASE_MAP_STATE_RETRY", "MAP_TASK_STATE"],
)
def test_map_state_failure_count(
    engine: _Engine, definition: Any, below: Any, exceeds: Any
) -> None:
    def test(result: list[int], failures: int) -> dict[str, Any]:
        return run(
            engine, definition, THREE, roleArn=ROLE, inspectionLevel="DEBUG",
            stateConfiguration={"mapIterationFailureCount": failures}, mock={"result": result},
        )  # fmt: skip

    first, second = test([1, 1, 1], 0), test([0, 0, 1], 2)
    if below is None:
        for answer, result in ((first, [1, 1, 1]), (second, [0, 0, 1])):
            assert answer["output"]["result"] == result and answer["status"] == "SUCCEEDED"
            assert answer["inspectionData"] == {"input": THREE, "maxConcurrency": 0}
        return
    assert first == below
    caught = second.pop("output", None)
    if caught is not None:
        assert caught["errorOutput"] == {"Error": THRESHOLD["error"], "Cause": THRESHOLD["cause"]}
        _context_of(caught)
    assert second == exceeds


@pytest.mark.parametrize("level", LEVELS)
def test_map_state_error_caused_by_state(engine: _Engine, level: str) -> None:
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
    for failures in (None, 0, 2):
        config: dict[str, Any] = {"errorCausedByState": "TestState"}
        if failures is not None:
            config["mapIterationFailureCount"] = failures
        data = {"Values": [1, 1, 1]}
        answer = run(
            engine, MAP_STATE, data, roleArn=ROLE, inspectionLevel=level, mock=mock,
            stateConfiguration=config,
        )  # fmt: skip
        expected: dict[str, Any] = {
            "cause": "Mock the cause of the error.",
            "error": "MockException",
            "status": "FAILED",
        }
        if level != "INFO":
            expected["inspectionData"] = {"input": data, "maxConcurrency": 0}
        assert answer == expected


@pytest.mark.parametrize("failures", [0, 2])
def test_state_machine_with_state_error(engine: _Engine, failures: int) -> None:
    config = {"mapIterationFailureCount": failures, "errorCausedByState": "HandleItem"}
    answer = run(
        engine, MAP_MACHINE, THREE, stateName="State0", roleArn=ROLE, inspectionLevel="DEBUG",
        stateConfiguration=config,
        mock={"errorOutput": {"error": "MockException", "cause": "Mock the error cause."}},
    )  # fmt: skip
    assert answer == {
        "cause": "Mock the error cause.",
        "error": "MockException",
        "inspectionData": {
            "afterInputPath": THREE,
            "afterItemsPath": THREE["Values"],
            "input": THREE,
            "maxConcurrency": 0,
            "toleratedFailureCount": 2,
        },
        "status": "FAILED",
    }


READER_MACHINE = {
    "QueryLanguage": "JSONata",
    "StartAt": "State0",
    "States": {
        "State0": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemReader": {
                "ReaderConfig": {"InputType": "JSON"},
                "Resource": "arn:aws:states:::s3:getObject",
                "Arguments": {
                    "Bucket": "{% $states.input.Bucket %}",
                    "Key": "{% $states.input.Key %}",
                },
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "HandleItem",
                "States": {"HandleItem": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}

BUCKET = {"Bucket": "test-bucket", "Key": "test-key"}


@pytest.mark.parametrize("level", LEVELS)
def test_state_machine_configuration_map_iteration_item_reader(engine: _Engine, level: str) -> None:
    answer = run(
        engine, READER_MACHINE, BUCKET, stateName="State0", roleArn=ROLE, inspectionLevel=level,
        stateConfiguration={"mapItemReaderData": json.dumps([1, 2, 3])}, mock={"result": [1, 4, 9]},
    )  # fmt: skip
    expected: dict[str, Any] = {"output": [1, 4, 9], "status": "SUCCEEDED"}
    if level != "INFO":
        expected["inspectionData"] = {"input": BUCKET, "maxConcurrency": 1}
    assert answer == expected
    errored = run(
        engine, READER_MACHINE, BUCKET, stateName="State0", roleArn=ROLE, inspectionLevel=level,
        stateConfiguration={
            "mapIterationFailureCount": 2,
            "errorCausedByState": "HandleItem",
            "mapItemReaderData": json.dumps([1, 2, 3]),
        },
        mock={"errorOutput": {"error": "MockException", "cause": "Mock the error cause."}},
    )  # fmt: skip
    assert (errored["status"], errored["error"]) == ("FAILED", "MockException")


def test_item_readers_read_what_their_config_says(engine: _Engine) -> None:  # ours
    csv_reader = json.loads(json.dumps(READER_MACHINE))
    state = csv_reader["States"]["State0"]
    state["ItemReader"]["ReaderConfig"] = {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
    state["ItemSelector"] = {"item": "{% $states.context.Map.Item.Value %}"}
    answer = run(
        engine, csv_reader, BUCKET, stateName="State0", inspectionLevel="DEBUG",
        stateConfiguration={"mapItemReaderData": "a,b\n1,2\n3,4\n"}, mock={"result": [0, 0]},
    )  # fmt: skip
    assert answer["inspectionData"]["afterItemSelector"] == [
        {"item": {"a": "1", "b": "2"}},
        {"item": {"a": "3", "b": "4"}},
    ]
    code, _ = refused(engine, READER_MACHINE, input=BUCKET, stateName="State0", mock={"result": []})
    assert code == "ValidationException"  # the reader's data is needed


def test_map_items_as_they_would_go_to_iterations(engine: _Engine) -> None:  # ours
    definition = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "ItemBatcher": {"MaxItemsPerBatch": 2},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ResultSelector": {"n.$": "States.ArrayLength($)"},
        "End": True,
    }
    answer = run(
        engine, definition, {"items": [1, 2, 3]}, mock={"result": [1, 2]}, inspectionLevel="DEBUG"
    )
    seen = answer["inspectionData"]
    assert seen["afterItemsPath"] == [1, 2, 3]
    assert seen["afterItemBatcher"] == [{"Items": [1, 2]}, {"Items": [3]}]
    assert seen["afterItemSelector"] == [
        {"value": {"Items": [1, 2]}, "index": 0},
        {"value": {"Items": [3]}, "index": 1},
    ]
    assert answer["output"] == {"n": 2} == seen["afterResultSelector"]


BRANCHES = [{"branch1": "result"}, {"branch2": "result"}]


@pytest.mark.parametrize("level", LEVELS)
def test_parallel_state_mock_success(engine: _Engine, level: str) -> None:
    debug = level != "INFO"
    base = run(engine, PARALLEL, {"key": "value"}, inspectionLevel=level, mock={"result": BRANCHES})
    expected: dict[str, Any] = {"output": BRANCHES, "status": "SUCCEEDED"}
    if debug:
        expected["inspectionData"] = {
            "afterResultPath": BRANCHES,
            "afterResultSelector": BRANCHES,
            "input": {"key": "value"},
        }
    assert base == expected

    data = {"parallelInput": {"data": "input_value"}}
    combined = {**data, "parallelResult": BRANCHES}
    io = {
        **PARALLEL,
        "InputPath": "$.parallelInput",
        "ResultPath": "$.parallelResult",
        "OutputPath": "$",
    }
    answer = run(engine, io, data, inspectionLevel=level, mock={"result": BRANCHES})
    expected = {"output": combined, "status": "SUCCEEDED"}
    if debug:
        expected["inspectionData"] = {
            "afterResultPath": combined,
            "afterResultSelector": BRANCHES,
            "input": data,
        }
    assert answer == expected

    jsonata = {
        **PARALLEL,
        "QueryLanguage": "JSONata",
        "Arguments": "{% $states.input.parallelInput %}",
        "Output": {
            "parallelInput": "{% $states.input.parallelInput %}",
            "parallelResult": "{% $states.result %}",
        },
    }
    answer = run(engine, jsonata, data, inspectionLevel=level, mock={"result": BRANCHES})
    expected = {"output": combined, "status": "SUCCEEDED"}
    if debug:
        expected["inspectionData"] = {"input": data}
    assert answer == expected


def test_a_mocked_parallel_error_meets_catch(engine: _Engine) -> None:  # ours
    definition = {**PARALLEL, "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handle"}]}
    mock = {"errorOutput": {"error": "Boom", "cause": "in B2"}}
    answer = run(engine, definition, {}, mock=mock, stateConfiguration={"errorCausedByState": "B2"})
    assert answer == {
        "output": {"Error": "Boom", "Cause": "in B2"},
        "error": "Boom",
        "cause": "in B2",
        "nextState": "Handle",
        "status": "CAUGHT_ERROR",
    }


# --- the context object -------------------------------------------------------------------------

CONTEXT = {
    "Execution": {
        "Id": "arn:aws:states:::execution:MyStateMachine:execution-name-12345",
        "Input": {
            "input-value": 0,
            "message": "test data",
            "values": ["charizard", "pikachu", "bulbasaur"],
        },
        "Name": "execution-name-12345",
        "RoleArn": "arn:aws:iam:::role/StepFunctionsRole",
        "StartTime": "2025-01-15T10:30:00.000Z",
    },
    "State": {"EnteredTime": "2025-01-15T10:30:01.500Z", "Name": "MyTaskState", "RetryCount": 0},
    "StateMachine": {
        "Id": "arn:aws:states:::stateMachine:MyStateMachine",
        "Name": "MyStateMachine",
    },
}

POKEMON = {"pokemon": ["charizard", "pikachu", "bulbasaur"]}

LAMBDA_INPUT = {"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}}


def _selector_task(literal: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.FunctionName", "Payload": {"Input.$": "$"}},
        "ResultSelector": {"LambdaOutput.$": "$", "ContextObjectValue.$": literal},
        "End": True,
    }


@pytest.mark.parametrize(
    ("literal", "context", "value"),
    [
        ("$$", CONTEXT, CONTEXT),
        ("$$.Execution.Input", CONTEXT, CONTEXT["Execution"]["Input"]),
        ("$$.Execution.Input.values", CONTEXT, POKEMON["pokemon"]),
        (
            "$$",
            {"Execution": {}, "State": {}, "StateMachine": {}},
            {"Execution": {}, "State": {}, "StateMachine": {}},
        ),
        ("$$", {}, {}),
    ],
    ids=["ALL", "EXECUTION_INPUT", "EXECUTION_INPUT_VALUES", "EMPTY_OBJECTS", "EMPTY"],
)
def test_state_task_context_object(engine: _Engine, literal: str, context: Any, value: Any) -> None:
    answer = run(
        engine, _selector_task(literal), LAMBDA_INPUT, inspectionLevel="TRACE", context=context,
        mock={"result": POKEMON},
    )  # fmt: skip
    selected = {"ContextObjectValue": value, "LambdaOutput": POKEMON}
    assert answer == {
        "inspectionData": {
            "afterInputPath": LAMBDA_INPUT,
            "afterParameters": {
                "Payload": {"Input": LAMBDA_INPUT},
                "FunctionName": "lambda_function_name",
            },
            "afterResultPath": selected,
            "afterResultSelector": selected,
            "input": LAMBDA_INPUT,
            "result": POKEMON,
        },
        "output": selected,
        "status": "SUCCEEDED",
    }


def test_state_wait_task_context_object(engine: _Engine) -> None:
    definition = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {
            "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/test-queue",
            "MessageBody": {
                "Message": "Hello from Step Functions!",
                "TaskToken.$": "$$.Task.Token",
            },
        },
        "ResultPath": "$.SQS",
        "Next": "NEXT_STATE",
    }
    context = {**CONTEXT, "Task": {"Token": "abcd123"}}
    answer = run(
        engine, definition, inspectionLevel="TRACE", context=context, mock={"result": POKEMON}
    )
    assert answer == {
        "inspectionData": {
            "afterInputPath": {},
            "afterParameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/test-queue",
                "MessageBody": {"Message": "Hello from Step Functions!", "TaskToken": "abcd123"},
            },
            "afterResultPath": {"SQS": POKEMON},
            "afterResultSelector": POKEMON,
            "input": {},
            "result": POKEMON,
        },
        "nextState": "NEXT_STATE",
        "output": {"SQS": POKEMON},
        "status": "SUCCEEDED",
    }


def _items_map(literal: str) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemsPath": literal,
        "MaxConcurrency": 1,
        "ItemProcessor": {
            "StartAt": "HandleItem",
            "States": {"HandleItem": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }


ELEMENTS = ["fire", "electricity", "grass"]

UPPER = ["CHARIZARD", "PIKACHU", "BULBASAUR"]


@pytest.mark.parametrize(
    ("literal", "path"),
    [("$$", "$"), ("$$.Execution.Input", "$.Execution.Input")],
    ids=["ALL", "EXECUTION_INPUT"],
)
def test_state_map_context_object_not_an_array(engine: _Engine, literal: str, path: str) -> None:
    answer = run(
        engine, _items_map(literal), ELEMENTS, inspectionLevel="TRACE", context=CONTEXT,
        mock={"result": UPPER},
    )  # fmt: skip
    assert answer == {
        "cause": f'Reference path "{path}" must point to array.',
        "error": "States.Runtime",
        "inspectionData": {"afterInputPath": ELEMENTS, "input": ELEMENTS},
        "status": "FAILED",
    }


def test_state_map_context_object_values(engine: _Engine) -> None:
    answer = run(
        engine, _items_map("$$.Execution.Input.values"), ELEMENTS, inspectionLevel="TRACE",
        context=CONTEXT, mock={"result": UPPER},
    )  # fmt: skip
    assert answer == {
        "inspectionData": {
            "afterInputPath": ELEMENTS,
            "afterItemsPath": POKEMON["pokemon"],
            "afterResultPath": UPPER,
            "afterResultSelector": UPPER,
            "input": ELEMENTS,
            "maxConcurrency": 1,
        },
        "output": UPPER,
        "status": "SUCCEEDED",
    }


@pytest.mark.parametrize(
    ("definition", "context", "message"),
    [
        (
            _selector_task("$$"),
            {**CONTEXT, "Task": {"Token": "abcd123"}},
            "Invalid Context object provided: Context object contains 'Task' when state is not "
            "a Task state with a '.sync' or '.waitForTaskToken' service integration pattern",
        ),
        (
            {"Type": "Pass", "InputPath": "$$", "End": True},
            CONTEXT,
            "State type 'Pass' is not supported when a mock is specified",
        ),
        (
            START_EXECUTION,
            {"Execution": {"Id": 1}},
            "Invalid Context object provided: Execution.Id must be a string",
        ),
        (
            START_EXECUTION,
            {"Map": {}},
            "Invalid Context object provided: 'Map' field is not supported when mocking a Context "
            "object",
        ),
        (
            START_EXECUTION,
            {"Execution": {"pokemon": "squirtle"}},
            "Invalid Context object provided: Field 'pokemon' is not allowed",
        ),
        (
            START_EXECUTION,
            {"Pokedex": {}},
            "Invalid Context object provided: Field 'Pokedex' is not allowed",
        ),
    ],
    ids=[
        "TOKEN_TASK_NOT_SYNC",
        "INVALID_STATE_PASS",
        "INVALID_EXECUTION_ID_TYPE",
        "INVALID_MAP",
        "INVALID_EXECUTION_FIELD",
        "INVALID_FIELD",
    ],
)
def test_state_context_object_validation(
    engine: _Engine, definition: Any, context: Any, message: str
) -> None:
    mock = {"result": {"ExecutionArn": "exec_arn", "StartDate": "2025-12-03T18:51:50"}}
    assert refused(engine, definition, input=TARGET, context=context, mock=mock) == (
        "ValidationException",
        message,
    )
