"""TestState: one state run against an input, with AWS's answers.

Expected values are AWS's recorded answers (``aws-recordings/test_state``, the test of
the same name there) with the recordings' placeholders replaced by this engine's values.
Cases marked "ours" check stepfn's documented behaviour where no recording shows AWS's.
This file: lone states at each inspection level, tasks run for real, Wait, variables,
and states tested inside a state machine (``stateName``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.tasks.base import Registry, TaskOutcome, TaskRequest
from stepfn.tasks.lambda_local import LocalLambda

from .support import (
    CHOICE,
    FAIL,
    HELLO,
    LAMBDA,
    LEVELS,
    MAP_MACHINE,
    NESTED,
    PASS,
    ROLE,
    SUCCEED,
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


# --- lone states at every inspection level ---------------------------------------------------

RESULT_PASS = {"Type": "Pass", "Result": {"resultKey": "result value"}, "End": True}

IO_PASS = {
    "Type": "Pass",
    "InputPath": "$.initialData",
    "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
    "ResultPath": "$.modifiedData",
    "End": True,
}

IO_RESULT_PASS = {**IO_PASS, "Result": {"resultKey": "result value"}}

MODIFIED = {
    **NESTED,
    "modifiedData": {"staticValue": "some value", "inputValue": "value from input"},
}

RESULTED = {**NESTED, "modifiedData": {"resultKey": "result value"}}

FAILED = {"error": "SomeFailure", "cause": FAIL["Cause"], "status": "FAILED"}

# (definition, input, the answer at INFO, inspectionData at DEBUG and TRACE)
BASE_CASES = {
    "BASE_PASS_STATE": (
        PASS,
        HELLO,
        {"output": HELLO, "status": "SUCCEEDED"},
        {
            "input": HELLO,
            "afterInputPath": HELLO,
            "afterParameters": HELLO,
            "afterResultSelector": HELLO,
            "afterResultPath": HELLO,
        },
    ),
    "BASE_RESULT_PASS_STATE": (
        RESULT_PASS,
        HELLO,
        {"output": {"resultKey": "result value"}, "status": "SUCCEEDED"},
        {
            "input": HELLO,
            "result": {"resultKey": "result value"},
            "afterResultSelector": {"resultKey": "result value"},
            "afterResultPath": {"resultKey": "result value"},
        },
    ),
    "IO_PASS_STATE": (
        IO_PASS,
        NESTED,
        {"output": MODIFIED, "status": "SUCCEEDED"},
        {
            "input": NESTED,
            "afterInputPath": NESTED["initialData"],
            "afterParameters": MODIFIED["modifiedData"],
            "afterResultSelector": MODIFIED["modifiedData"],
            "afterResultPath": MODIFIED,
        },
    ),
    "IO_RESULT_PASS_STATE": (
        IO_RESULT_PASS,
        NESTED,
        {"output": RESULTED, "status": "SUCCEEDED"},
        {
            "input": NESTED,
            "result": {"resultKey": "result value"},
            "afterResultSelector": {"resultKey": "result value"},
            "afterResultPath": RESULTED,
        },
    ),
    "BASE_FAIL_STATE": (FAIL, HELLO, FAILED, {"input": HELLO, "afterInputPath": HELLO}),
    "BASE_SUCCEED_STATE": (
        SUCCEED,
        HELLO,
        {"output": HELLO, "status": "SUCCEEDED"},
        {"input": HELLO, "afterInputPath": HELLO},
    ),
    "BASE_CHOICE_STATE": (
        CHOICE,
        {"type": "Private", "value": 22},
        {
            "nextState": "ValueInTwenties",
            "output": {"type": "Private", "value": 22},
            "status": "SUCCEEDED",
        },
        {
            "input": {"type": "Private", "value": 22},
            "afterInputPath": {"type": "Private", "value": 22},
        },
    ),
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("case", list(BASE_CASES))
def test_base_inspection_levels(engine: _Engine, case: str, level: str) -> None:
    definition, data, info, inspection = BASE_CASES[case]
    answer = run(engine, definition, data, roleArn=ROLE, inspectionLevel=level)
    expected = dict(info) if level == "INFO" else {**info, "inspectionData": inspection}
    assert answer == expected


def test_the_level_defaults_to_info(engine: _Engine) -> None:
    assert run(engine, PASS, HELLO) == {"output": HELLO, "status": "SUCCEEDED"}


def test_input_defaults_to_an_empty_object(engine: _Engine) -> None:
    assert run(engine, PASS)["output"] == {}


# --- tasks run through the registry ----------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_lambda_task_state(engine: _Engine, level: str) -> None:
    task = {"Type": "Task", "Resource": LAMBDA + "hello", "End": True}
    data = {"inputData": "HelloWorld"}
    answer = run(engine, task, data, roleArn=ROLE, inspectionLevel=level)
    expected: dict[str, Any] = {"output": "HelloWorld!", "status": "SUCCEEDED"}
    if level != "INFO":
        expected["inspectionData"] = {
            "input": data,
            "afterInputPath": data,
            "afterParameters": data,
            "result": "HelloWorld!",
            "afterResultSelector": "HelloWorld!",
            "afterResultPath": "HelloWorld!",
        }
    assert answer == expected


def test_lambda_service_task_state(engine: _Engine) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
        "End": True,
    }
    data = {"FunctionName": "identity", "Payload": {"a": 1}}
    answer = run(engine, task, data, roleArn=ROLE, inspectionLevel="DEBUG")
    output = answer["output"]
    assert (output["StatusCode"], output["ExecutedVersion"], output["Payload"]) == (
        200,
        "$LATEST",
        {"a": 1},
    )
    seen = answer["inspectionData"]
    assert seen["input"] == seen["afterInputPath"] == seen["afterParameters"] == data
    assert seen["result"] == seen["afterResultSelector"] == seen["afterResultPath"] == output


def test_a_task_needs_a_role_unless_mocked(engine: _Engine) -> None:
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    assert refused(engine, task, input={"FunctionName": "x"}, inspectionLevel="TRACE") == (
        "ValidationException",
        "RoleArn must be specified when testing a Task state",
    )
    assert run(engine, task, mock={"result": {"StatusCode": 200}})["status"] == "SUCCEEDED"


def test_a_failing_function_fails_the_state(engine: _Engine) -> None:
    task = {"Type": "Task", "Resource": LAMBDA + "broken", "End": True}
    answer = run(engine, task, {}, roleArn=ROLE)
    assert (answer["status"], answer["error"]) == ("FAILED", "ValueError")
    assert json.loads(answer["cause"])["errorMessage"] == "no good"


def test_a_real_failure_meets_retry_and_catch(engine: _Engine) -> None:
    task = {
        "Type": "Task",
        "Resource": LAMBDA + "broken",
        "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 1, "IntervalSeconds": 3}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Oops"}],
        "End": True,
    }
    first = run(engine, task, {"a": 1}, roleArn=ROLE, inspectionLevel="DEBUG")
    assert first["status"] == "RETRIABLE"
    assert first["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 3,
    }
    config = {"retrierRetryCount": 1}
    last = run(engine, task, {"a": 1}, roleArn=ROLE, stateConfiguration=config)
    assert (last["status"], last["nextState"]) == ("CAUGHT_ERROR", "Oops")
    assert last["output"]["a"] == 1 and last["output"]["error"]["Error"] == "ValueError"


class _Slow:
    """A task adapter whose tasks take ten simulated seconds."""

    def handles(self, resource: str) -> bool:
        return resource.endswith(":slow")

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        return TaskOutcome.success({"late": True}, duration=10.0)


def test_a_task_slower_than_its_timeout_times_out() -> None:  # ours
    registry = Registry([_Slow(), LocalLambda({})])
    with _Engine.open("memory://", clock=VirtualClock(), registry=registry) as engine:
        task = {"Type": "Task", "Resource": LAMBDA + "slow", "End": True}
        assert run(engine, task, {}, roleArn=ROLE)["output"] == {"late": True}
        timed = run(engine, {**task, "TimeoutSeconds": 5}, {}, roleArn=ROLE)
        assert (timed["status"], timed["error"]) == ("FAILED", "States.Timeout")


def test_a_runtime_error_has_no_history_location(engine: _Engine) -> None:  # ours
    task = {
        "Type": "Task",
        "Resource": LAMBDA + "hello",
        "Parameters": {"x.$": "$.missing"},
        "End": True,
    }
    answer = run(engine, task, {"a": 1}, roleArn=ROLE)
    assert answer == {
        "error": "States.Runtime",
        "cause": "The JSONPath '$.missing' specified for the field 'x.$' could not be found "
        "in the input '{\"a\":1}'",
        "status": "FAILED",
    }


def test_callback_tasks_need_a_mock(engine: _Engine) -> None:  # ours
    task = {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:a", "End": True}
    code, message = refused(engine, task, roleArn=ROLE)
    assert code == "ValidationException" and "only when a mock is specified" in message
    assert run(engine, task, mock={"result": {"done": 1}})["output"] == {"done": 1}


# --- Wait, variables, JSONata ----------------------------------------------------------------


@pytest.mark.parametrize(
    "wait",
    [
        {"Type": "Wait", "Seconds": 86400, "Next": "After"},
        {"Type": "Wait", "SecondsPath": "$.s", "Next": "After"},
        {"Type": "Wait", "Timestamp": "2030-01-01T00:00:00Z", "Next": "After"},
        {
            "Type": "Wait",
            "QueryLanguage": "JSONata",
            "Seconds": "{% $states.input.s %}",
            "Next": "After",
        },
    ],
)
def test_a_wait_ends_at_once(engine: _Engine, wait: dict[str, Any]) -> None:  # ours
    answer = run(engine, wait, {"s": 5}, inspectionLevel="DEBUG")
    assert answer["output"] == {"s": 5} and answer["nextState"] == "After"
    assert answer["inspectionData"]["input"] == {"s": 5}


def test_a_bad_wait_fails(engine: _Engine) -> None:  # ours
    wait = {"Type": "Wait", "SecondsPath": "$.nope", "End": True}
    answer = run(engine, wait, {})
    assert (answer["status"], answer["error"]) == ("FAILED", "States.Runtime")


BASE_EXPR = {
    "StartAt": "Init",
    "States": {
        "Init": {
            "Type": "Pass",
            "Assign": {"var_input_value.$": "$.input_value", "var_constant_1": 1},
            "Next": "State0",
        },
        "State0": {
            "QueryLanguage": "JSONata",
            "Type": "Pass",
            "Output": {
                "ja_states_context": "{% $states.context %}",
                "ja_states_input": "{% $states.input %}",
                "ja_var_access": "{% $var_input_value %}",
                "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
            },
            "End": True,
        },
    },
}


def test_state_with_variables(engine: _Engine) -> None:
    data = {"input_values": [1, 2, 3]}
    variables = {"var_input_value": "test_value", "var_constant_1": 10}
    answer = run(
        engine, BASE_EXPR, data, stateName="State0", variables=variables, inspectionLevel="TRACE"
    )
    assert answer["inspectionData"] == {"input": data, "variables": variables}
    output = answer["output"]
    assert (output["ja_states_input"], output["ja_var_access"], output["ja_expr"]) == (
        data,
        "test_value",
        16,
    )
    context = output["ja_states_context"]
    execution = context["Execution"]
    assert sorted(execution) == ["Id", "Input", "Name", "RoleArn", "StartTime"]
    assert execution["RoleArn"] is None and execution["Input"] == data
    name = context["StateMachine"]["Name"]
    assert (
        execution["Id"]
        == f"arn:aws:states:us-east-1:123456789012:express:{name}:" + (execution["Name"])
    )
    assert (
        context["StateMachine"]["Id"]
        == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    )
    assert context["State"] == {"Name": "StateName", "EnteredTime": "2024-01-01T00:00:00.000Z"}


def test_variables_after_the_state(engine: _Engine) -> None:  # ours
    state = {"Type": "Pass", "Assign": {"b.$": "$.x", "c": 3}, "End": True}
    answer = run(engine, state, {"x": 2}, variables={"a": 1}, inspectionLevel="DEBUG")
    assert answer["inspectionData"]["variables"] == {"a": 1, "b": 2, "c": 3}
    jsonata = {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"d": "{% $a + 1 %}"}}
    answer = run(engine, {**jsonata, "End": True}, {}, variables={"a": 1}, inspectionLevel="DEBUG")
    assert answer["inspectionData"] == {"input": {}, "variables": {"a": 1, "d": 2}}
    assert "variables" not in run(engine, PASS, {}, inspectionLevel="DEBUG")["inspectionData"]


def test_a_choice_without_a_match(engine: _Engine) -> None:  # ours
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "A"}]}
    answer = run(engine, choice, {})
    assert (answer["status"], answer["error"]) == ("FAILED", "States.NoChoiceMatched")
    assert "nextState" not in answer and "output" not in answer


# --- a state in a state machine ------------------------------------------------------------------

MULTI = {
    "QueryLanguage": "JSONata",
    "StartAt": "State0",
    "States": {
        "State0": {"Type": "Pass", "Next": "State1"},
        "State1": {"Type": "Fail", "Error": "SomeFailure", "Cause": FAIL["Cause"]},
    },
}


@pytest.mark.parametrize("level", LEVELS)
def test_base_state_name(engine: _Engine, level: str) -> None:
    def test(definition: Any, name: str) -> dict[str, Any]:
        return run(engine, definition, HELLO, stateName=name, inspectionLevel=level)

    machine = {"StartAt": "State0", "States": {"State0": PASS}}
    debug = level != "INFO"
    full = BASE_CASES["BASE_PASS_STATE"][3]
    for definition, name in ((machine, "State0"), (MAP_MACHINE, "HandleItem")):
        expected: dict[str, Any] = {"output": HELLO, "status": "SUCCEEDED"}
        if debug:
            expected["inspectionData"] = full
        assert test(definition, name) == expected

    failing = {"QueryLanguage": "JSONata", "StartAt": "State0", "States": {"State0": FAIL}}
    expected = dict(FAILED)
    if debug:
        expected["inspectionData"] = {"input": HELLO}
    assert test(failing, "State0") == expected
    assert test(MULTI, "State1") == expected

    expected = {"nextState": "State1", "output": HELLO, "status": "SUCCEEDED"}
    if debug:
        expected["inspectionData"] = {"input": HELLO}
    assert test(MULTI, "State0") == expected


@pytest.mark.parametrize("name", ["dne", '"invalid"'])
def test_base_state_name_validation_failures(engine: _Engine, name: str) -> None:
    machine = {"StartAt": "State0", "States": {"State0": PASS}}
    assert refused(engine, machine, input=HELLO, stateName=name) == (
        "ValidationException",
        "State not found in definition",
    )
    code, message = refused(engine, machine, input=HELLO, stateName="")
    assert code == "ValidationException" and "'stateName'" in message


def test_state_name_invalid_state_definition(engine: _Engine) -> None:
    machine = {
        "StartAt": "ExistingButInvalidState",
        "States": {"ExistingButInvalidState": {"Type": "TypeThatDoesNotExist", "End": True}},
    }
    assert refused(engine, machine, stateName="ExistingButInvalidState") == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should "
        "have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at "
        "/States/ExistingButInvalidState/Type'",
    )


BLOGPOST = {
    "Comment": "Cost approval workflow",
    "QueryLanguage": "JSONata",
    "StartAt": "Approval Required",
    "States": {
        "Approval Required": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $states.input.cost < 10 %}", "Next": "Purchase Approved"}
            ],
            "Default": "Ask for Approval",
        },
        "Purchase Approved": {"Type": "Succeed"},
        "Ask for Approval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Arguments": {
                "Method": "POST",
                "ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com",
                "Path": "/approval",
                "RequestBody": {"cost": "{% $states.input.cost %}", "dept_id": "12345678"},
                "AuthType": "NO_AUTH",
            },
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "BackoffRate": 2,
                    "IntervalSeconds": 1,
                    "MaxAttempts": 3,
                    "JitterStrategy": "FULL",
                }
            ],
            "Next": "Check Approval",
            "Output": {
                "approval": "{% $states.result.approval %}",
                "approval_code": "2387462",
                "approved_by": "Mary",
            },
        },
        "Check Approval": {
            "Type": "Choice",
            "Choices": [{"Next": "Purchase Approved", "Condition": "{% $states.input.approval %}"}],
            "Default": "Not Approved",
        },
        "Not Approved": {"Type": "Fail"},
    },
}


def test_localstack_blogpost_scenario(engine: _Engine) -> None:
    def test(name: str, data: Any, **kw: Any) -> dict[str, Any]:
        return run(engine, BLOGPOST, data, stateName=name, inspectionLevel="TRACE", **kw)

    for cost, target in ((9, "Purchase Approved"), (10, "Ask for Approval")):
        assert test("Approval Required", {"cost": cost}) == {
            "inspectionData": {"input": {"cost": cost}},
            "nextState": target,
            "output": {"cost": cost},
            "status": "SUCCEEDED",
        }
    approved = {"approval": True, "approval_code": "2387462", "approved_by": "Mary"}
    assert test("Ask for Approval", {"cost": 10}, mock={"result": '{"approval": true }'}) == {
        "inspectionData": {
            "afterArguments": {
                "Method": "POST",
                "ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com",
                "Path": "/approval",
                "RequestBody": {"cost": 10, "dept_id": "12345678"},
                "AuthType": "NO_AUTH",
            },
            "input": {"cost": 10},
            "result": {"approval": True},
        },
        "nextState": "Check Approval",
        "output": approved,
        "status": "SUCCEEDED",
    }
    for data, target in ((approved, "Purchase Approved"), ({"approval": False}, "Not Approved")):
        assert test("Check Approval", data) == {
            "inspectionData": {"input": data},
            "nextState": target,
            "output": data,
            "status": "SUCCEEDED",
        }
