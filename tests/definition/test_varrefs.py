"""variableReferences as AWS's DescribeStateMachine answers were recorded."""

from __future__ import annotations

from typing import Any

import pytest

from stepfn.definition.varrefs import variable_references


def machine(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states, **top}


def inline_map(states: dict[str, Any], **fields: Any) -> dict[str, Any]:
    processor = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": next(iter(states))}
    return {"Type": "Map", "ItemProcessor": {**processor, "States": states}, "End": True, **fields}


CASES: list[tuple[str, dict[str, Any], dict[str, list[str]]]] = [
    (
        "a literal in Parameters is no reference, a .$ field is",
        machine(
            {
                "S0": {"Type": "Pass", "Parameters": {"r": "$result"}, "Next": "S1"},
                "S1": {"Type": "Pass", "Parameters": {"r.$": "$result"}, "End": True},
            }
        ),
        {"S1": ["result"]},
    ),
    (
        "wait paths",
        machine(
            {
                "W1": {"Type": "Wait", "SecondsPath": "$waitTime", "Next": "W2"},
                "W2": {"Type": "Wait", "TimestampPath": "$startAt", "End": True},
            }
        ),
        {"W1": ["waitTime"], "W2": ["startAt"]},
    ),
    (
        "input and output paths, not the state's own Assign",
        machine(
            {
                "S": {
                    "Type": "Pass",
                    "InputPath": "$answer",
                    "ResultPath": "$.theAnswer",
                    "OutputPath": "$answer",
                    "Assign": {"answer": "<omitted>"},
                    "End": True,
                }
            }
        ),
        {"S": ["answer"]},
    ),
    (
        "intrinsic functions, quoted text skipped",
        machine(
            {
                "S": {
                    "Type": "Pass",
                    "Parameters": {
                        "a": {"h.$": "States.Hash($inputString, 'SHA-256')"},
                        "b.$": "States.Format('Hello {}, $notme {}!', $name, $place)",
                        "c.$": "States.UUID()",
                        "d.$": "States.JsonMerge($json1, $json2, false)",
                    },
                    "End": True,
                }
            }
        ),
        {"S": ["inputString", "json1", "json2", "name", "place"]},
    ),
    (
        "nested Map processors, by the inner state's name",
        machine(
            {
                "Outer": inline_map(
                    {
                        "Inner": inline_map(
                            {
                                "Summate": {
                                    "Type": "Pass",
                                    "Assign": {
                                        "Sum.$": "States.MathAdd(States.MathAdd($y, $x), $bias)"
                                    },
                                    "End": True,
                                }
                            }
                        )
                    },
                    ItemsPath="$items",
                    ItemSelector={"v.$": "States.Format($tpl, $$.Map.Item.Value)", "b": "$b"},
                )
            }
        ),
        {"Outer": ["items", "tpl"], "Summate": ["bias", "x", "y"]},
    ),
    (
        "choice rules, nested and with Assign",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [
                                {"Variable": "$a", "IsPresent": True},
                                {"Not": {"Variable": "$.x", "StringEqualsPath": "$b"}},
                            ],
                            "Assign": {"z.$": "$c"},
                            "Next": "E",
                        }
                    ],
                    "Default": "E",
                },
                "E": {"Type": "Succeed"},
            }
        ),
        {"C": ["a", "b", "c"]},
    ),
    (
        "map paths and a fail state",
        machine(
            {
                "M": inline_map(
                    {"P": {"Type": "Pass", "End": True}},
                    MaxConcurrencyPath="$maxConcurrency",
                    ToleratedFailureCountPath="$count",
                ),
                "F": {"Type": "Fail", "CausePath": "$causeVar", "ErrorPath": "$errorVar"},
            }
        ),
        {"F": ["causeVar", "errorVar"], "M": ["count", "maxConcurrency"]},
    ),
    (
        "JSONata: variables read, not $states, functions or bound names",
        machine(
            {
                "S": {
                    "Type": "Pass",
                    "Output": "{% ($n := $count + 1; $string($n) & $states.input.x & $label) %}",
                    "End": True,
                }
            },
            QueryLanguage="JSONata",
        ),
        {"S": ["count", "label"]},
    ),
    (
        "no variables at all",
        machine(
            {"S": {"Type": "Pass", "Result": {"a": "$x"}, "Assign": {"r.$": "$.in"}, "End": True}}
        ),
        {},
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_variable_references(definition: dict[str, Any], expected: dict[str, list[str]]) -> None:
    assert variable_references(definition) == expected


def test_text_definitions_and_nonsense() -> None:
    assert variable_references(
        '{"StartAt": "S", "States": {"S": {"Type": "Wait", "SecondsPath": "$w", "End": true}}}'
    ) == {"S": ["w"]}
    assert variable_references("not json") == {}
    assert variable_references("[]") == {}
