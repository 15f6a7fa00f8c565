"""validate / check: every problem of a definition, located and worded as AWS does.

Where a test says "recorded", the expected text is AWS's own answer from the recordings
of ValidateStateMachineDefinition and CreateStateMachine.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepfn.definition.validate import check, is_error, validate
from stepfn.errors import DefinitionError, Problem

SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"

# --- helpers -----------------------------------------------------------------------------


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    """A definition starting at the first state given."""
    return {"StartAt": start or next(iter(states)), "States": states, **top}


def found(definition: Any, machine_type: str = "STANDARD") -> list[tuple[str, str, str]]:
    """The errors of ``definition`` as (location, message, code)."""
    return [
        (p.path, p.message, p.code)
        for p in validate(definition, machine_type=machine_type)
        if is_error(p)
    ]


def single(definition: Any, machine_type: str = "STANDARD") -> tuple[str, str, str]:
    errors = found(definition, machine_type)
    assert len(errors) == 1, errors
    return errors[0]


def one_state(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return machine({"S": state}, **top)


def pass_end() -> dict[str, Any]:
    return {"Type": "Pass", "End": True}


# --- valid definitions -------------------------------------------------------------------


def test_minimal_machine_is_valid() -> None:
    assert validate(one_state(pass_end())) == []


def test_a_rich_valid_machine() -> None:
    definition = machine(
        {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
                "ResultSelector": {"body.$": "$.Payload"},
                "ResultPath": "$.charge",
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 10,
                "Retry": [
                    {"ErrorEquals": ["Lambda.TooManyRequests"], "MaxAttempts": 3},
                    {"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5, "JitterStrategy": "FULL"},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "Assign": {"attempt": 1, "total.$": "$.total"},
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.charge.ok", "BooleanEquals": True},
                            {"Not": {"Variable": "$.total", "NumericGreaterThan": 100}},
                        ],
                        "Next": "Ship",
                    },
                    {"Variable": "$when", "TimestampLessThan": "2030-01-01T00:00:00Z", "Next": "Wait"},
                ],
                "Default": "Failed",
            },
            "Wait": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Ship"},
            "Ship": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "label.$": "States.Format('{}', $.id)"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "One",
                    "States": {"One": {"Type": "Pass", "End": True}},
                },
                "MaxConcurrency": 10,
                "ToleratedFailurePercentage": 5,
                "Label": "Shipping",
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "L", "States": {"L": {"Type": "Succeed"}}},
                    {"StartAt": "R", "States": {"R": {"Type": "Fail", "Error": "E", "Cause": "C"}}},
                ],
                "End": True,
            },
            "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
        Comment="orders",
        Version="1.0",
        TimeoutSeconds=3600,
    )
    assert found(definition) == []


def test_a_valid_jsonata_machine() -> None:
    definition = machine(
        {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                "Output": "{% $states.result.Payload %}",
                "TimeoutSeconds": "{% $timeout %}",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Done"}],
                "Next": "Decide",
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.ok %}", "Next": "Done", "Assign": {"x": 1}}],
                "Default": "Loop",
            },
            "Loop": {"Type": "Map", "Items": "{% $states.input.items %}", "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}, "Next": "Done"},
            "Done": {"Type": "Succeed", "Output": {"done": True}},
        },
        QueryLanguage="JSONata",
    )
    assert found(definition) == []


# --- the top level -----------------------------------------------------------------------


def test_empty_object_recorded() -> None:
    assert single({}) == ("/", "These fields are required: [States, StartAt]", SCHEMA)


def test_no_start_at_recorded() -> None:
    definition = {"States": {"S": pass_end()}}
    assert single(definition) == ("/", "These fields are required: [StartAt]", SCHEMA)


def test_no_states_recorded() -> None:
    assert single({"StartAt": "S"}) == ("/", "These fields are required: [States]", SCHEMA)


def test_empty_states() -> None:
    assert single({"StartAt": "S", "States": {}}) == ("/States", "Value cannot be empty", SCHEMA)


def test_not_an_object() -> None:
    assert found([]) == [("", "Definition must be a valid JSON object", SCHEMA)]


def test_unknown_top_level_field() -> None:
    definition = one_state(pass_end(), Coment="typo")
    assert single(definition) == ("/", "Field 'Coment' is not supported", SCHEMA)


def test_top_level_field_values() -> None:
    definition = one_state(pass_end(), Version="2.0", TimeoutSeconds=-1, QueryLanguage="SQL")
    assert found(definition) == [
        ("/Version", "Value should be one of the following: [1.0]", SCHEMA),
        ("/TimeoutSeconds", "Minimum value is 0", SCHEMA),
        ("/QueryLanguage", "Value should be one of the following: [JSONPath, JSONata]", SCHEMA),
    ]


def test_start_at_names_no_state() -> None:
    definition = machine({"S": pass_end()}, start="Nope")
    assert found(definition) == [
        ("/StartAt", "Missing 'Next' target: Nope", TARGET),
        ("/States/S", 'State "S" is not reachable.', TARGET),
    ]


def test_machine_type_is_checked() -> None:
    with pytest.raises(ValueError):
        validate(one_state(pass_end()), machine_type="FAST")


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
    assert single(one_state({"End": True})) == ("/States/S", "These fields are required: [Type]", SCHEMA)


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
        "Map": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": pass_end()}}, "End": True},
        "Parallel": {"Type": "Parallel", "Branches": [{"StartAt": "I", "States": {"I": pass_end()}}], "End": True},
        "Choice": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "T"}]},
    }[state_type]
    states = {"S": {**state, field: 1}, "T": {"Type": "Succeed"}}
    if state_type == "Choice":
        states["S"]["Default"] = "T"
    problems = found(machine(states))
    assert ("/States/S", f"Field '{field}' is not supported", SCHEMA) in problems


def test_next_and_end_together() -> None:
    definition = machine({"S": {"Type": "Pass", "Next": "T", "End": True}, "T": {"Type": "Succeed"}})
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


# --- graph -------------------------------------------------------------------------------


def test_missing_next_target_and_no_end() -> None:
    # AWS reports both, the dangling target first, the missing end without a location.
    definition = machine({"A": {"Type": "Pass", "Next": "NOPE"}})
    assert found(definition) == [
        ("/States/A/Next", "Missing 'Next' target: NOPE", TARGET),
        ("", "Workflow has no terminal state", "MISSING_END_STATE"),
    ]


def test_every_transition_names_next_in_its_message() -> None:
    definition = machine(
        {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "X"}], "Default": "Y"},
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
                "End": True,
            },
        }
    )
    problems = found(definition)
    assert ("/States/C/Choices[0]/Next", "Missing 'Next' target: X", TARGET) in problems
    assert ("/States/C/Default", "Missing 'Next' target: Y", TARGET) in problems
    assert ("/States/T/Catch[0]/Next", "Missing 'Next' target: Z", TARGET) in problems


def test_loop_without_end_hides_unreachable_states() -> None:
    definition = machine(
        {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": {"Type": "Pass", "Next": "A"}}
    )
    assert found(definition) == [("", "Workflow has no terminal state", "MISSING_END_STATE")]


def test_unreachable_state() -> None:
    definition = machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": pass_end()})
    assert single(definition) == ("/States/C", 'State "C" is not reachable.', TARGET)


def test_a_state_that_only_names_itself_is_unreachable() -> None:
    definition = machine({"A": pass_end(), "B": {"Type": "Pass", "Next": "B"}})
    assert single(definition) == ("/States/B", 'State "B" is not reachable.', TARGET)


def test_catch_target_is_reachable() -> None:
    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                "End": True,
            },
            "Recover": pass_end(),
        }
    )
    assert found(definition) == []


def test_branch_cannot_leave_its_branch() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Out"}, "E": pass_end()}}],
                "Next": "Out",
            },
            "Out": pass_end(),
        }
    )
    assert found(definition) == [
        ("/States/P/Branches[0]/States/B/Next", "Missing 'Next' target: Out", TARGET),
        ("/States/P/Branches[0]/States/E", 'State "E" is not reachable.', TARGET),
    ]


def test_state_names_are_unique_across_the_whole_machine() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "P", "States": {"P": pass_end()}}],
                "End": True,
            }
        }
    )
    assert single(definition) == (
        "/States/P/Branches[0]/States/P",
        "Duplicate State name: P",
        "DUPLICATE_STATE_NAME",
    )


# --- query languages ---------------------------------------------------------------------


def test_jsonpath_state_in_a_jsonata_machine_recorded() -> None:
    definition = machine({"Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}}, QueryLanguage="JSONata")
    assert single(definition) == (
        "/States/Pass",
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        SCHEMA,
    )


def test_jsonata_only_field_in_a_jsonpath_state() -> None:
    assert single(one_state({"Type": "Pass", "Output": 1, "End": True})) == (
        "/States/S",
        "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported "
        "for the 'JSONata' QueryLanguage",
        SCHEMA,
    )


@pytest.mark.parametrize("field", ["InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath"])
def test_jsonpath_only_fields_in_a_jsonata_state(field: str) -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", field: "$", "End": True}
    assert single(one_state(state, QueryLanguage="JSONata")) == (
        "/States/S",
        f"The QueryLanguage is set to 'JSONata', but field '{field}' is only supported "
        "for the 'JSONPath' QueryLanguage",
        SCHEMA,
    )


def test_state_level_jsonata_in_a_jsonpath_machine() -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": True}
    assert found(one_state(state)) == []


def test_nested_states_inherit_the_machine_language_not_the_map_language() -> None:
    inner = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": 1, "End": True}}}
    state = {"Type": "Map", "QueryLanguage": "JSONata", "ItemProcessor": inner, "End": True}
    assert single(one_state(state)) == (
        "/States/S/ItemProcessor/States/P",
        "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported "
        "for the 'JSONata' QueryLanguage",
        SCHEMA,
    )


def test_bad_state_query_language() -> None:
    state = {"Type": "Pass", "QueryLanguage": "XPath", "End": True}
    assert single(one_state(state)) == (
        "/States/S/QueryLanguage",
        "Value should be one of the following: [JSONPath, JSONata]",
        SCHEMA,
    )


# --- Task --------------------------------------------------------------------------------


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True, **fields}


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
    definition = one_state(task(TimeoutSeconds=0, HeartbeatSeconds="10", HeartbeatSecondsPath="$.h"))
    assert found(definition) == [
        ("/States/S", "There should only be one of the following fields: [HeartbeatSeconds, HeartbeatSecondsPath]", SCHEMA),
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
    assert single(sync, "EXPRESS")[1] == "Express state machine does not support '.sync' service integration"
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
        {"ErrorEquals": [], "MaxAttempts": -1, "BackoffRate": 0.5, "MaxDelaySeconds": 0, "JitterStrategy": "SOME"},
        {"ErrorEquals": ["States.ALL", "E"]},
        {"ErrorEquals": ["E"], "IntervalSeconds": 0, "Comment": "zero interval is accepted by AWS"},
    ]
    assert found(one_state(task(Retry=retry))) == [
        ("/States/S/Retry[0]/ErrorEquals", "Value cannot be empty", SCHEMA),
        ("/States/S/Retry[0]/MaxAttempts", "Minimum value is 0", SCHEMA),
        ("/States/S/Retry[0]/MaxDelaySeconds", "Minimum value is 1", SCHEMA),
        ("/States/S/Retry[0]/BackoffRate", "Minimum value is 1", SCHEMA),
        ("/States/S/Retry[0]/JitterStrategy", "Value should be one of the following: [FULL, NONE]", SCHEMA),
        ("/States/S/Retry[1]/ErrorEquals", "States.ALL must appear alone and at end of list", SCHEMA),
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
    assert problems[1][1].startswith("The value for the field 'ResultPath' must be a valid Reference Path")


# --- Choice ------------------------------------------------------------------------------


def choice(*rules: Any, **fields: Any) -> dict[str, Any]:
    return machine(
        {"C": {"Type": "Choice", "Choices": list(rules), "Default": "T", **fields}, "T": {"Type": "Succeed"}}
    )


def test_choices_required_and_not_empty() -> None:
    assert ("/States/C/Choices", "Value cannot be empty", SCHEMA) in found(choice())


def test_rule_needs_next() -> None:
    assert found(choice({"Variable": "$.a", "IsNull": True})) == [
        ("/States/C/Choices[0]", "These fields are required: [Next]", SCHEMA)
    ]


def test_rule_needs_exactly_one_operator() -> None:
    two = found(choice({"Variable": "$.a", "IsNull": True, "IsString": True, "Next": "T"}))
    assert two == [("/States/C/Choices[0]", "There should only be one of the following fields: [IsNull, IsString]", SCHEMA)]
    none = found(choice({"Variable": "$.a", "Next": "T"}))
    assert none[0][1].startswith("This object should have only one of the following fields: [StringEquals")


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
    assert problems[0] == ("/States/C/Choices[0]/NumericEquals", "Expected value of type Number", SCHEMA)
    assert problems[1] == ("/States/C/Choices[1]/TimestampEquals", "String does not match RFC3339 timestamp", SCHEMA)
    assert problems[2][0] == "/States/C/Choices[2]/StringEqualsPath"
    assert problems[3][0] == "/States/C/Choices[3]/Variable"


def test_jsonata_rules() -> None:
    definition = choice({"Variable": "$.a", "IsNull": True, "Next": "T"}, {"Next": "T"}, QueryLanguage="JSONata")
    assert found(definition) == [
        (
            "/States/C/Choices[0]",
            "The QueryLanguage is set to 'JSONata', but field 'Variable' is only supported for the 'JSONPath' QueryLanguage",
            SCHEMA,
        ),
        (
            "/States/C/Choices[0]",
            "The QueryLanguage is set to 'JSONata', but field 'IsNull' is only supported for the 'JSONPath' QueryLanguage",
            SCHEMA,
        ),
        ("/States/C/Choices[0]", "These fields are required: [Condition]", SCHEMA),
        ("/States/C/Choices[1]", "These fields are required: [Condition]", SCHEMA),
    ]


def test_condition_in_a_jsonpath_rule() -> None:
    assert found(choice({"Condition": True, "Next": "T"}))[0] == (
        "/States/C/Choices[0]",
        "The QueryLanguage is set to 'JSONPath', but field 'Condition' is only supported for the 'JSONata' QueryLanguage",
        SCHEMA,
    )


def test_literal_condition_is_accepted() -> None:
    assert found(choice({"Condition": True, "Next": "T"}, QueryLanguage="JSONata")) == []


# --- Wait, Fail, Pass --------------------------------------------------------------------


def test_wait_needs_exactly_one_duration() -> None:
    two = one_state({"Type": "Wait", "Seconds": 1, "TimestampPath": "$.t", "End": True})
    assert single(two) == (
        "/States/S",
        "There should only be one of the following fields: [SecondsPath, Seconds, TimestampPath, Timestamp]",
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
    assert single(one_state({"Type": "Wait", "Seconds": -1, "End": True}))[1] == "Minimum value is 0"
    assert found(one_state({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00+01:00", "End": True})) == []


def test_fail_fields_exclude_their_path_forms() -> None:
    state = {"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": "C", "CausePath": "$.c"}
    assert found(one_state(state)) == [
        ("/States/S", "There should only be one of the following fields: [Error, ErrorPath]", SCHEMA),
        ("/States/S", "There should only be one of the following fields: [Cause, CausePath]", SCHEMA),
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
    state = {"Type": "Pass", "InputPath": "input", "OutputPath": None, "ResultPath": "$..x", "End": True}
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
    message = "The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call"
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
    state = {"Type": "Pass", "Assign": {"states": 1, "bad-name": 2, "ok.$": "$.a", "fine": {"x.$": "$"}}, "End": True}
    assert found(one_state(state)) == [
        ("/States/S/Assign/states", "Cannot assign to reserved variable '$states'.", "RESERVED_VARIABLE_NAME"),
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


# --- Parallel and Map --------------------------------------------------------------------


def test_empty_branches_recorded() -> None:
    definition = machine({"StateName": {"Type": "Parallel", "Branches": [], "End": True}})
    assert single(definition) == ("/States/StateName/Branches", "Value cannot be empty", SCHEMA)


def test_branch_is_validated_as_a_machine() -> None:
    definition = one_state({"Type": "Parallel", "Branches": [{"States": {}, "Extra": 1}], "End": True})
    assert found(definition) == [
        ("/States/S/Branches[0]", "Field 'Extra' is not supported", SCHEMA),
        ("/States/S/Branches[0]", "These fields are required: [StartAt]", SCHEMA),
        ("/States/S/Branches[0]/States", "Value cannot be empty", SCHEMA),
    ]


def map_state(**fields: Any) -> dict[str, Any]:
    processor = {"StartAt": "I", "States": {"I": pass_end()}}
    return {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}


def test_map_processor_is_validated_recursively() -> None:
    processor = {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}
    definition = one_state({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert found(definition) == [
        ("/States/S/ItemProcessor/States/X/Next", "Missing 'Next' target: Y", TARGET),
        ("/States/S/ItemProcessor", "Workflow has no terminal state", "MISSING_END_STATE"),
    ]


def test_map_needs_one_processor() -> None:
    definition = one_state({"Type": "Map", "End": True})
    assert single(definition)[1] == (
        "This object should have only one of the following fields: [ItemProcessor, Iterator]"
    )
    iterator = {"StartAt": "I", "States": {"J": pass_end()}}
    both = one_state(map_state(Iterator=iterator))
    assert ("/States/S", "There should only be one of the following fields: [ItemProcessor, Iterator]", SCHEMA) in found(both)


def test_map_limits() -> None:
    definition = one_state(
        map_state(MaxConcurrency=-1, ToleratedFailurePercentage=101, ToleratedFailureCount=1.5)
    )
    assert found(definition) == [
        ("/States/S/MaxConcurrency", "Minimum value is 0", SCHEMA),
        ("/States/S/ToleratedFailureCount", "Expected value of type Integer", SCHEMA),
        ("/States/S/ToleratedFailurePercentage", "Maximum value is 100", SCHEMA),
    ]


def test_processor_config() -> None:
    def config(processor_config: dict[str, Any]) -> list[tuple[str, str, str]]:
        processor = {"ProcessorConfig": processor_config, "StartAt": "I", "States": {"I": pass_end()}}
        return found(one_state({"Type": "Map", "ItemProcessor": processor, "End": True}))

    assert config({"Mode": "FAST"}) == [
        ("/States/S/ItemProcessor/ProcessorConfig/Mode", "Value should be one of the following: [INLINE, DISTRIBUTED]", SCHEMA)
    ]
    assert config({"Mode": "DISTRIBUTED"}) == [
        ("/States/S/ItemProcessor/ProcessorConfig", "These fields are required: [ExecutionType]", SCHEMA)
    ]
    assert config({"Mode": "INLINE", "ExecutionType": "STANDARD"}) == [
        ("/States/S/ItemProcessor/ProcessorConfig", "Field 'ExecutionType' is not supported", SCHEMA)
    ]


def test_query_language_is_not_a_processor_field() -> None:
    processor = {"QueryLanguage": "JSONata", "StartAt": "I", "States": {"I": pass_end()}}
    assert single(one_state({"Type": "Map", "ItemProcessor": processor, "End": True})) == (
        "/States/S/ItemProcessor",
        "Field 'QueryLanguage' is not supported",
        SCHEMA,
    )


def test_express_child_workflows_refuse_sync() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "T",
        "States": {"T": task(Resource="arn:aws:states:::states:startExecution.sync")},
    }
    definition = one_state({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert single(definition)[:2] == (
        "/States/S/ItemProcessor/States/T/Resource",
        "Express state machine does not support '.sync' service integration",
    )


def test_express_machine_refuses_distributed_map() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I",
        "States": {"I": pass_end()},
    }
    definition = one_state({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert single(definition, "EXPRESS")[0] == "/States/S/ItemProcessor/ProcessorConfig/Mode"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "Label cannot be empty"),
        ("1234567890" * 4 + "1", "Label cannot exceed 40 characters"),
        ("label_ ", "Label contains invalid character: ' '"),
        ("label_\x00", "Label contains invalid character: '\\x00'"),
        ("label_\\", "Label contains invalid character: '\\\\'"),
        ('label_"', "Label contains invalid character: '\"'"),
        ("label_\u0085", "Label contains invalid character: '\\x85'"),
    ],
)
def test_map_label_recorded(label: str, message: str) -> None:
    assert single(one_state(map_state(Label=label))) == ("/States/S/Label", message, "INVALID_LABEL_NAME")


def test_map_labels_are_unique() -> None:
    first = {**map_state(Label="L"), "End": False, "Next": "B"}
    second = map_state(Label="L", ItemProcessor={"StartAt": "J", "States": {"J": pass_end()}})
    definition = machine({"A": first, "B": second})
    assert single(definition)[2] == "DUPLICATE_LABEL_NAME"


def test_item_reader() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:putObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "MaxItems": -1},
        "Parameters": {"Bucket.$": "$.bucket"},
        "Extra": True,
    }
    assert found(one_state(map_state(ItemReader=reader))) == [
        ("/States/S/ItemReader", "Field 'Extra' is not supported", SCHEMA),
        ("/States/S/ItemReader/Resource", "The field 'Resource' does not match any of the allowed values", SCHEMA),
        ("/States/S/ItemReader/ReaderConfig", "These fields are required: [CSVHeaders]", SCHEMA),
        ("/States/S/ItemReader/ReaderConfig/MaxItems", "Minimum value is 0", SCHEMA),
    ]


def test_items_in_jsonata() -> None:
    assert found(one_state(map_state(Items=[1, "{% 2 %}"]), QueryLanguage="JSONata")) == []
    assert single(one_state(map_state(Items={"a": 1}), QueryLanguage="JSONata")) == (
        "/States/S/Items",
        "Expected value of type Array",
        SCHEMA,
    )


# --- check -------------------------------------------------------------------------------


def test_check_raises_with_every_error() -> None:
    definition = machine({"A": {"Type": "Pass", "Next": "B"}, "C": {"Type": "Nope"}})
    with pytest.raises(DefinitionError) as caught:
        check(definition)
    paths = [p.path for p in caught.value.problems]
    assert "/States/A/Next" in paths and "/States/C/Type" in paths


def test_check_passes_a_valid_definition() -> None:
    check(one_state(pass_end()))


def test_problem_renders_with_its_location() -> None:
    problem = Problem("/States/A/Next", "Missing 'Next' target: B", TARGET)
    assert str(problem) == "/States/A/Next: Missing 'Next' target: B"


# --- robustness --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.sampled_from(
        ["", "$", "$.a", "$$.x", "States.ALL", "{% 1 %}", "Pass", "Map", "A", "B", "JSONata", "JSONPath"]
    ),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(
            ["Type", "Next", "End", "States", "StartAt", "Choices", "Variable", "Branches", "ItemProcessor",
             "Retry", "Catch", "ErrorEquals", "Parameters", "a.$", "Assign", "QueryLanguage", "Items",
             "Seconds", "Resource", "Label", "ReaderConfig", "ItemReader", "And", "Not", "Condition"]
        ),
        children,
        max_size=4,
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=json_values, top=json_values)
def test_validate_never_crashes(state: Any, top: Any) -> None:
    definition = {"StartAt": "A", "States": {"A": state, "B": {"Type": "Succeed"}}}
    if isinstance(top, dict):
        definition.update(copy.deepcopy(top))
    for problem in validate(definition):
        assert isinstance(problem, Problem)
    validate(top)


# --- the recorded conformance cases: AWS accepted every one of them ----------------------


def conformance_dir() -> Path | None:
    configured = os.environ.get("STEPFN_CONFORMANCE_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "cases"
    return path if path.is_dir() else None


def test_every_conformance_definition_is_valid() -> None:
    folder = conformance_dir()
    if folder is None:
        pytest.skip("conformance cases not found: set STEPFN_CONFORMANCE_DIR to their folder")
    failures = {}
    files = sorted(folder.glob("*/*.json"))
    assert files, f"no cases in {folder}"
    for file in files:
        case = json.loads(file.read_text())
        errors = found(case["definition"], case.get("state_machine_type", "STANDARD"))
        if errors:
            failures[f"{file.parent.name}/{file.name}"] = errors
    assert failures == {}
