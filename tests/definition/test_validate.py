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

from stepfn.definition.validate import check, validate
from stepfn.errors import DefinitionError, Problem

from .helpers import SCHEMA, TARGET, found, machine, one_state, pass_end, single

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
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}
                ],
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
                    {
                        "Variable": "$when",
                        "TimestampLessThan": "2030-01-01T00:00:00Z",
                        "Next": "Wait",
                    },
                ],
                "Default": "Failed",
            },
            "Wait": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Ship"},
            "Ship": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {
                    "item.$": "$$.Map.Item.Value",
                    "label.$": "States.Format('{}', $.id)",
                },
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
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $states.errorOutput %}",
                        "Next": "Done",
                    }
                ],
                "Next": "Decide",
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.ok %}", "Next": "Done", "Assign": {"x": 1}}
                ],
                "Default": "Loop",
            },
            "Loop": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Next": "Done",
            },
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
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "X"}],
                "Default": "Y",
            },
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
        {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "C": {"Type": "Pass", "Next": "A"},
        }
    )
    assert found(definition) == [("", "Workflow has no terminal state", "MISSING_END_STATE")]


def test_unreachable_state() -> None:
    definition = machine(
        {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": pass_end()}
    )
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
                "Branches": [
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Pass", "Next": "Out"}, "E": pass_end()},
                    }
                ],
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
    definition = machine(
        {"Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
        QueryLanguage="JSONata",
    )
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


@pytest.mark.parametrize(
    "field", ["InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath"]
)
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
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.sampled_from(
        [
            "",
            "$",
            "$.a",
            "$$.x",
            "States.ALL",
            "{% 1 %}",
            "Pass",
            "Map",
            "A",
            "B",
            "JSONata",
            "JSONPath",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Type",
                    "Next",
                    "End",
                    "States",
                    "StartAt",
                    "Choices",
                    "Variable",
                    "Branches",
                    "ItemProcessor",
                    "Retry",
                    "Catch",
                    "ErrorEquals",
                    "Parameters",
                    "a.$",
                    "Assign",
                    "QueryLanguage",
                    "Items",
                    "Seconds",
                    "Resource",
                    "Label",
                    "ReaderConfig",
                    "ItemReader",
                    "And",
                    "Not",
                    "Condition",
                ]
            ),
            children,
            max_size=4,
        )
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
    path = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "cases"
    )
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
