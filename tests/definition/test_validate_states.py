"""validate: the checks of single states (fields per type and language, Task, Retry and
Catch, Choice rules, Wait, Fail, Pass) and of the expressions they hold.

Where a test says "recorded", the expected text is AWS's own answer from the recordings.
"""

from __future__ import annotations

from typing import Any

import pytest

from stepfn.definition.validate import check, validate

from .helpers import SCHEMA, found, machine, one_state, pass_end, single, task

# --- states ------------------------------------------------------------------------------


def test_unknown_type_recorded() -> None:
    definition = one_state({"Type": "Sleep", "End": True})
    assert single(definition) == (
        "/States/S/Type",
        "The field 'Type' should have one of these values: "
        "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
        SCHEMA,
    )


def test_missing_type() -> None:
    assert single(one_state({"End": True})) == (
        "/States/S",
        "These fields are required: [Type]",
        SCHEMA,
    )


def test_state_must_be_an_object() -> None:
    assert single(one_state("Pass")) == ("/States/S", "Expected value of type Object", SCHEMA)


def test_state_name_too_long() -> None:
    name = "n" * 81
    assert single(machine({name: pass_end()}))[2] == "INVALID_STATE_NAME"


@pytest.mark.parametrize(
    ("state_type", "field"),
    [
        ("Pass", "TimeoutSeconds"),
        ("Pass", "Catch"),
        ("Wait", "Retry"),
        ("Succeed", "Assign"),
        ("Succeed", "Next"),
        ("Fail", "OutputPath"),
        ("Map", "TimeoutSeconds"),
        ("Parallel", "TimeoutSeconds"),
        ("Choice", "End"),
        ("Pass", "Resource"),
    ],
)
def test_field_not_supported_by_the_type(state_type: str, field: str) -> None:
    state = {
        "Pass": pass_end(),
        "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
        "Succeed": {"Type": "Succeed"},
        "Fail": {"Type": "Fail"},
        "Map": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "I", "States": {"I": pass_end()}},
            "End": True,
        },
        "Parallel": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "I", "States": {"I": pass_end()}}],
            "End": True,
        },
        "Choice": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "T"}]},
    }[state_type]
    states = {"S": {**state, field: 1}, "T": {"Type": "Succeed"}}
    if state_type == "Choice":
        states["S"]["Default"] = "T"
    problems = found(machine(states))
    assert ("/States/S", f"Field '{field}' is not supported", SCHEMA) in problems


def test_next_and_end_together() -> None:
    definition = machine(
        {"S": {"Type": "Pass", "Next": "T", "End": True}, "T": {"Type": "Succeed"}}
    )
    assert single(definition) == (
        "/States/S",
        "There should only be one of the following fields: [Next, End]",
        SCHEMA,
    )


def test_neither_next_nor_end() -> None:
    definition = machine({"S": {"Type": "Pass"}, "T": {"Type": "Succeed"}})
    assert found(definition)[0] == (
        "/States/S",
        "This object should have only one of the following fields: [Next, End]",
        SCHEMA,
    )


def test_end_false_is_not_an_end() -> None:
    definition = machine({"S": {"Type": "Pass", "End": False}, "T": {"Type": "Succeed"}})
    assert found(definition)[0][1].startswith("This object should have only one")


# --- Task --------------------------------------------------------------------------------


def test_task_needs_a_resource() -> None:
    assert single(one_state({"Type": "Task", "End": True})) == (
        "/States/S",
        "These fields are required: [Resource]",
        SCHEMA,
    )


def test_task_resource_is_an_arn() -> None:
    assert single(one_state(task(Resource="my-function")))[:2] == (
        "/States/S/Resource",
        "Value is not a valid resource ARN",
    )


def test_resource_placeholders_are_left_alone() -> None:
    assert found(one_state(task(Resource="${ChargeFunctionArn}"))) == []


def test_timeouts() -> None:
    definition = one_state(
        task(TimeoutSeconds=0, HeartbeatSeconds="10", HeartbeatSecondsPath="$.h")
    )
    assert found(definition) == [
        (
            "/States/S",
            "There should only be one of the following fields: "
            "[HeartbeatSeconds, HeartbeatSecondsPath]",
            SCHEMA,
        ),
        ("/States/S/TimeoutSeconds", "Minimum value is 1", SCHEMA),
        ("/States/S/HeartbeatSeconds", "Expected value of type Integer", SCHEMA),
    ]


def test_heartbeat_below_timeout() -> None:
    path, message, _ = single(one_state(task(TimeoutSeconds=10, HeartbeatSeconds=10)))
    assert path == "/States/S/HeartbeatSeconds"
    assert "smaller" in message


def test_express_refuses_callbacks_recorded() -> None:
    definition = one_state(task(Resource="arn:aws:states:::sqs:sendMessage.waitForTaskToken"))
    assert single(definition, "EXPRESS") == (
        "/States/S/Resource",
        "Express state machine does not support '.waitForTaskToken' service integration ",
        SCHEMA,
    )
    assert found(definition) == []


def test_express_refuses_sync_and_activities_recorded() -> None:
    sync = one_state(task(Resource="arn:aws:states:::states:startExecution.sync:2"))
    assert (
        single(sync, "EXPRESS")[1]
        == "Express state machine does not support '.sync' service integration"
    )
    activity = one_state(task(Resource="arn:aws:states:us-east-1:111111111111:activity:a"))
    assert single(activity, "EXPRESS")[1] == "Express state machine does not support Activity ARN"


def test_credentials() -> None:
    assert single(one_state(task(Credentials={}))) == (
        "/States/S/Credentials",
        "These fields are required: [RoleArn]",
        SCHEMA,
    )
    assert found(one_state(task(Credentials={"RoleArn.$": "$.role"}))) == []


# --- Retry and Catch ---------------------------------------------------------------------


def test_retry_fields() -> None:
    retry = [
        {
            "ErrorEquals": [],
            "MaxAttempts": -1,
            "BackoffRate": 0.5,
            "MaxDelaySeconds": 0,
            "JitterStrategy": "SOME",
        },
        {"ErrorEquals": ["States.ALL", "E"]},
        {"ErrorEquals": ["E"], "IntervalSeconds": 0, "Comment": "zero interval is accepted by AWS"},
    ]
    assert found(one_state(task(Retry=retry))) == [
        ("/States/S/Retry[0]/ErrorEquals", "Value cannot be empty", SCHEMA),
        ("/States/S/Retry[0]/MaxAttempts", "Minimum value is 0", SCHEMA),
        ("/States/S/Retry[0]/MaxDelaySeconds", "Minimum value is 1", SCHEMA),
        ("/States/S/Retry[0]/BackoffRate", "Minimum value is 1", SCHEMA),
        (
            "/States/S/Retry[0]/JitterStrategy",
            "Value should be one of the following: [FULL, NONE]",
            SCHEMA,
        ),
        (
            "/States/S/Retry[1]/ErrorEquals",
            "States.ALL must appear alone and at end of list",
            SCHEMA,
        ),
    ]


def test_states_all_must_be_last() -> None:
    retry = [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}]
    assert single(one_state(task(Retry=retry)))[:2] == (
        "/States/S/Retry[0]/ErrorEquals",
        "States.ALL must appear alone and at end of list",
    )


def test_retrier_needs_error_equals() -> None:
    assert single(one_state(task(Retry=[{"MaxAttempts": 1}]))) == (
        "/States/S/Retry[0]",
        "These fields are required: [ErrorEquals]",
        SCHEMA,
    )


def test_catcher_needs_next_and_a_reference_result_path() -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.errors[*]"}]
    problems = found(one_state(task(Catch=catch)))
    assert problems[0] == ("/States/S/Catch[0]", "These fields are required: [Next]", SCHEMA)
    assert problems[1][0] == "/States/S/Catch[0]/ResultPath"
    assert problems[1][1].startswith(
        "The value for the field 'ResultPath' must be a valid Reference Path"
    )


# --- Choice ------------------------------------------------------------------------------


def choice(*rules: Any, **fields: Any) -> dict[str, Any]:
    return machine(
        {
            "C": {"Type": "Choice", "Choices": list(rules), "Default": "T", **fields},
            "T": {"Type": "Succeed"},
        }
    )


def test_choices_required_and_not_empty() -> None:
    assert ("/States/C/Choices", "Value cannot be empty", SCHEMA) in found(choice())


def test_rule_needs_next() -> None:
    assert found(choice({"Variable": "$.a", "IsNull": True})) == [
        ("/States/C/Choices[0]", "These fields are required: [Next]", SCHEMA)
    ]


def test_rule_needs_exactly_one_operator() -> None:
    two = found(choice({"Variable": "$.a", "IsNull": True, "IsString": True, "Next": "T"}))
    assert two == [
        (
            "/States/C/Choices[0]",
            "There should only be one of the following fields: [IsNull, IsString]",
            SCHEMA,
        )
    ]
    none = found(choice({"Variable": "$.a", "Next": "T"}))
    assert none[0][1].startswith(
        "This object should have only one of the following fields: [StringEquals"
    )


def test_operator_without_variable() -> None:
    assert found(choice({"IsNull": True, "Next": "T"})) == [
        ("/States/C/Choices[0]", "These fields are required: [Variable]", SCHEMA)
    ]


def test_nested_rules() -> None:
    rule = {
        "And": [{"Variable": "$.a", "IsNull": True, "Next": "T"}, {"Or": []}],
        "Next": "T",
    }
    assert found(choice(rule)) == [
        ("/States/C/Choices[0]/And[0]", "Field 'Next' is not supported", SCHEMA),
        ("/States/C/Choices[0]/And[1]/Or", "Value cannot be empty", SCHEMA),
    ]


def test_operand_types() -> None:
    rules = [
        {"Variable": "$.a", "NumericEquals": "1", "Next": "T"},
        {"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "T"},
        {"Variable": "$.a", "StringEqualsPath": "a", "Next": "T"},
        {"Variable": "a", "BooleanEquals": True, "Next": "T"},
    ]
    problems = found(choice(*rules))
    assert problems[0] == (
        "/States/C/Choices[0]/NumericEquals",
        "Expected value of type Number",
        SCHEMA,
    )
    assert problems[1] == (
        "/States/C/Choices[1]/TimestampEquals",
        "String does not match RFC3339 timestamp",
        SCHEMA,
    )
    assert problems[2][0] == "/States/C/Choices[2]/StringEqualsPath"
    assert problems[3][0] == "/States/C/Choices[3]/Variable"


def test_jsonata_rules() -> None:
    definition = choice(
        {"Variable": "$.a", "IsNull": True, "Next": "T"}, {"Next": "T"}, QueryLanguage="JSONata"
    )
    assert found(definition) == [
        (
            "/States/C/Choices[0]",
            "The QueryLanguage is set to 'JSONata', but field 'Variable' is only supported "
            "for the 'JSONPath' QueryLanguage",
            SCHEMA,
        ),
        (
            "/States/C/Choices[0]",
            "The QueryLanguage is set to 'JSONata', but field 'IsNull' is only supported "
            "for the 'JSONPath' QueryLanguage",
            SCHEMA,
        ),
        ("/States/C/Choices[0]", "These fields are required: [Condition]", SCHEMA),
        ("/States/C/Choices[1]", "These fields are required: [Condition]", SCHEMA),
    ]


def test_condition_in_a_jsonpath_rule() -> None:
    assert found(choice({"Condition": True, "Next": "T"}))[0] == (
        "/States/C/Choices[0]",
        "The QueryLanguage is set to 'JSONPath', but field 'Condition' is only supported "
        "for the 'JSONata' QueryLanguage",
        SCHEMA,
    )


def test_literal_condition_is_accepted() -> None:
    assert found(choice({"Condition": True, "Next": "T"}, QueryLanguage="JSONata")) == []


# --- Wait, Fail, Pass --------------------------------------------------------------------


def test_wait_needs_exactly_one_duration() -> None:
    two = one_state({"Type": "Wait", "Seconds": 1, "TimestampPath": "$.t", "End": True})
    assert single(two) == (
        "/States/S",
        "There should only be one of the following fields: "
        "[SecondsPath, Seconds, TimestampPath, Timestamp]",
        SCHEMA,
    )
    none = one_state({"Type": "Wait", "End": True})
    assert single(none)[1].startswith("This object should have only one of the following fields")


def test_wait_values() -> None:
    assert single(one_state({"Type": "Wait", "Timestamp": "2016-03-14 01:59:00", "End": True})) == (
        "/States/S/Timestamp",
        "String does not match RFC3339 timestamp",
        SCHEMA,
    )
    assert (
        single(one_state({"Type": "Wait", "Seconds": -1, "End": True}))[1] == "Minimum value is 0"
    )
    assert (
        found(one_state({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00+01:00", "End": True}))
        == []
    )


def test_fail_fields_exclude_their_path_forms() -> None:
    state = {"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": "C", "CausePath": "$.c"}
    assert found(one_state(state)) == [
        (
            "/States/S",
            "There should only be one of the following fields: [Error, ErrorPath]",
            SCHEMA,
        ),
        (
            "/States/S",
            "There should only be one of the following fields: [Cause, CausePath]",
            SCHEMA,
        ),
    ]


def test_fail_paths_may_be_intrinsics() -> None:
    state = {"Type": "Fail", "ErrorPath": "$$.State.Name", "CausePath": "States.Format('{}', $.c)"}
    assert found(one_state(state)) == []


def test_pass_result_with_a_dollar_key_is_a_warning() -> None:
    definition = one_state({"Type": "Pass", "Result": {"a.$": "$.x"}, "End": True})
    problems = validate(definition)
    assert [p.code for p in problems] == ["PASS_RESULT_IS_STATIC"]
    check(definition)  # warnings do not stop a definition


# --- paths, templates, Assign ------------------------------------------------------------


def test_paths() -> None:
    state = {
        "Type": "Pass",
        "InputPath": "input",
        "OutputPath": None,
        "ResultPath": "$..x",
        "End": True,
    }
    problems = found(one_state(state))
    assert [p[0] for p in problems] == ["/States/S/InputPath", "/States/S/ResultPath"]
    assert problems[0][1].startswith("The value for the field 'InputPath' must be a valid JSONPath")


def test_payload_template_dollar_fields() -> None:
    parameters = {
        "ok.$": "$.a",
        "context.$": "$$.Execution.Id",
        "variable.$": "$total",
        "nested": {"bad.$": "a"},
        "list": [{"call.$": "States.Format('{}'"}],
        "number.$": 1,
    }
    problems = found(one_state({"Type": "Pass", "Parameters": parameters, "End": True}))
    message = (
        "The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call"
    )
    assert [p[0] for p in problems] == [
        "/States/S/Parameters/nested/bad.$",
        "/States/S/Parameters/list[0]/call.$",
        "/States/S/Parameters/number.$",
    ]
    assert problems[0][1].startswith(message.format("bad.$"))
    assert problems[2][1] == message.format("number.$")


def test_a_path_without_dollar_key_is_a_warning() -> None:
    definition = one_state({"Type": "Pass", "Parameters": {"a": "$.x"}, "End": True})
    assert [p.code for p in validate(definition)] == ["NO_DOLLAR"]


def test_assign_names() -> None:
    state = {
        "Type": "Pass",
        "Assign": {"states": 1, "bad-name": 2, "ok.$": "$.a", "fine": {"x.$": "$"}},
        "End": True,
    }
    assert found(one_state(state)) == [
        (
            "/States/S/Assign/states",
            "Cannot assign to reserved variable '$states'.",
            "RESERVED_VARIABLE_NAME",
        ),
        (
            "/States/S/Assign/bad-name",
            "Invalid variable name 'bad-name': a variable name starts with a letter or '_', "
            "goes on with letters, digits or '_', and has at most 80 characters",
            "INVALID_VARIABLE_NAME",
        ),
    ]


def test_assign_must_be_an_object() -> None:
    assert single(one_state({"Type": "Pass", "Assign": [], "End": True})) == (
        "/States/S/Assign",
        "Expected value of type Object",
        SCHEMA,
    )


def test_jsonata_syntax_errors_are_reported() -> None:
    pytest.importorskip("stepfn.lang.jsonata")
    state = {"Type": "Pass", "Output": {"v": "{% 1 + %}"}, "End": True}
    path, _, code = single(one_state(state, QueryLanguage="JSONata"))
    assert (path, code) == ("/States/S/Output/v", "INVALID_JSONATA_EXPRESSION")


def test_strings_that_only_look_like_jsonata_are_literal() -> None:
    state = {"Type": "Pass", "Output": " {% not an expression %} ", "End": True}
    assert found(one_state(state, QueryLanguage="JSONata")) == []
