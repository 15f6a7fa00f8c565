"""parse_definition: JSON, YAML and mappings in; a plain dict or AWS-worded errors out."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import pytest

from stepfn.definition.parse import INVALID_JSON, parse_definition
from stepfn.errors import DefinitionError, Problem

SMALL = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}


def only_problem(source: Any, **options: Any) -> Problem:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, **options)
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def test_json_text() -> None:
    assert parse_definition(json.dumps(SMALL)) == SMALL


def test_utf8_bytes_with_a_byte_order_mark() -> None:
    assert parse_definition(b"\xef\xbb\xbf" + json.dumps(SMALL).encode()) == SMALL


def test_mapping_is_copied_into_plain_types() -> None:
    source: dict[str, Any] = OrderedDict(
        StartAt="A", States={"A": {"Type": "Pass", "Result": (1, 2), "End": True}}
    )
    parsed = parse_definition(source)
    assert parsed == {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Result": [1, 2], "End": True}},
    }
    assert type(parsed) is dict
    parsed["States"]["A"]["Type"] = "Fail"
    assert source["States"]["A"]["Type"] == "Pass"


def test_aws_wording_for_text_that_is_not_json() -> None:
    # Recorded: ValidateStateMachineDefinition on "not a definition".
    problem = only_problem("not a definition")
    location = '[Source: (String)"not a definition"; line: 1, column: 4]'
    assert problem == Problem(
        location,
        "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token "
        f"'null', 'true' or 'false')\n at {location}",
        "INVALID_JSON_DESCRIPTION",
    )


def test_empty_text_is_not_an_object() -> None:
    # Recorded: ValidateStateMachineDefinition on "".
    assert only_problem("") == Problem(
        "", "Definition must be a valid JSON object", "SCHEMA_VALIDATION_FAILED"
    )


@pytest.mark.parametrize("text", ["[]", "1", '"text"', "null"])
def test_top_level_must_be_an_object(text: str) -> None:
    assert only_problem(text).message == "Definition must be a valid JSON object"


def test_bad_json_gives_line_and_column() -> None:
    text = '{\n  "StartAt": "A",\n  "States": {,}\n}'
    problem = only_problem(text)
    assert problem.code == "INVALID_JSON_DESCRIPTION"
    assert problem.message.startswith("Unexpected character (',' (code 44))")
    # Jackson counts the column after the character it stopped at.
    assert problem.path.endswith("line: 3, column: 15]")


def test_unterminated_json() -> None:
    problem = only_problem('{"StartAt": ')
    assert problem.code == "INVALID_JSON_DESCRIPTION"
    assert "line: 1" in problem.path


def test_long_source_is_cut_in_the_location() -> None:
    text = '{"Comment": "' + "x" * 600 + '", oops}'
    problem = only_problem(text)
    assert '"[truncated ' in problem.path
    assert len(problem.path) < 600


def test_not_a_number_is_refused() -> None:
    assert only_problem('{"a": NaN}').code == "INVALID_JSON_DESCRIPTION"


def test_invalid_utf8() -> None:
    assert only_problem(b'{"a": "\xff"}').code == "INVALID_JSON_DESCRIPTION"


def test_duplicate_state_names_in_the_text() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Fail"}}}'
    assert only_problem(text) == Problem(
        "/States/A", "Duplicate State name: A", "DUPLICATE_STATE_NAME"
    )


def test_duplicate_state_names_in_a_branch() -> None:
    text = (
        '{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": ['
        '{"StartAt": "B", "States": {"B": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}]}}}'
    )
    assert only_problem(text).path == "/States/P/Branches[0]/States/B"


def test_yaml_text() -> None:
    pytest.importorskip("yaml")
    text = """
StartAt: Wait
States:
  Wait:
    Type: Wait
    Timestamp: 2016-03-05T21:29:29Z
    End: true
"""
    parsed = parse_definition(text)
    # YAML would read the timestamp as a datetime; ASL wants the string.
    assert parsed["States"]["Wait"]["Timestamp"] == "2016-03-05T21:29:29Z"
    assert parsed["States"]["Wait"]["End"] is True


def test_yaml_can_be_turned_off() -> None:
    assert only_problem("StartAt: A\n", allow_yaml=False).code == "INVALID_JSON_DESCRIPTION"


def test_yaml_syntax_error_has_its_location() -> None:
    pytest.importorskip("yaml")
    problem = only_problem("StartAt: A\nStates: [unclosed\n")
    assert problem.code == "INVALID_YAML_DESCRIPTION"
    assert problem.path.startswith("line ")


def test_yaml_keys_must_be_strings() -> None:
    pytest.importorskip("yaml")
    assert only_problem("StartAt: A\n1: x\n").code == "INVALID_JSON_DESCRIPTION"


def test_mapping_keys_must_be_strings() -> None:
    assert only_problem({"StartAt": "A", "States": {1: {}}}).path == "/States"


def test_other_types_are_refused() -> None:
    assert only_problem(42).message == "Definition must be a valid JSON object"


# --- nesting ---------------------------------------------------------------------------------


def parallel_text(depth: int) -> str:
    """A Parallel in a Parallel ... ``depth`` times, as text (json.dumps would recurse)."""
    opening = '{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":['
    core = '{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}'
    return opening * depth + core + "]}}}" * depth


def parallel_value(depth: int) -> dict[str, Any]:
    machine: dict[str, Any] = {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    for _ in range(depth):
        state = {"Type": "Parallel", "Branches": [machine], "End": True}
        machine = {"StartAt": "P", "States": {"P": state}}
    return machine


def parameters_value(depth: int) -> dict[str, Any]:
    value: Any = {"x": 1}
    for _ in range(depth):
        value = {"a": value}
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": value, "End": True}}}


def choice_value(depth: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"Variable": "$.x", "IsPresent": True}
    for _ in range(depth):
        rule = {"Not": rule}
    rule["Next"] = "S"
    choice = {"Type": "Choice", "Choices": [rule], "Default": "S"}
    return {"StartAt": "C", "States": {"C": choice, "S": {"Type": "Succeed"}}}


@pytest.mark.parametrize("depth", [5_000, 100_000])
@pytest.mark.parametrize(
    "source",
    [
        lambda n: parallel_text(n),
        lambda n: parallel_value(n),
        lambda n: parameters_value(n),
        lambda n: choice_value(n),
        lambda n: (
            '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Result":'
            + "[" * n
            + "]" * n
            + "}}}"
        ),
        lambda n: "x: " + "[" * n + "]" * n,  # not JSON, so read as YAML
    ],
    ids=["parallel-text", "parallel", "parameters", "choice-not", "result-text", "yaml-flow"],
)
def test_a_definition_nested_too_deep_is_a_definition_error(source, depth):
    problem = only_problem(source(depth))
    assert problem.code == INVALID_JSON
    assert problem.message == "Document nesting depth exceeds the maximum allowed (256 levels)"


def test_a_deep_yaml_block_is_a_definition_error_not_a_recursion_error():
    # Block style has no brackets to count; PyYAML's own recursion gives out first.
    problem = only_problem("x:\n  " + "- " * 5_000 + "1\n")  # a list in a list in ...
    assert problem.message == "Document nesting depth exceeds the maximum allowed (256 levels)"


def test_a_definition_just_inside_the_limit_parses():
    assert parse_definition(parameters_value(250))["States"]["P"]["Type"] == "Pass"
    assert parse_definition(parallel_text(60))["StartAt"] == "P"
