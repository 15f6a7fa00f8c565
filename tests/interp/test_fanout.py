"""Map and Parallel: ordering, concurrency, failure tolerance and aborts."""

from __future__ import annotations

from typing import Any

import pytest

import stepfn
from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp.context import execution_info
from stepfn.interp.machine import Interpreter, InvokeTask, RunState, Start, TaskSucceeded

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"


def map_machine(processor_state: dict[str, Any], **map_fields: Any) -> dict[str, Any]:
    state = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "Item", "States": {"Item": processor_state}},
        "End": True,
    }
    state.update(map_fields)
    return {"StartAt": "M", "States": {"M": state}}


def test_map_results_come_in_item_order_whatever_the_finish_order() -> None:
    definition = map_machine({"Type": "Task", "Resource": LAMBDA, "End": True})
    interp = Interpreter(build(definition), execution_info("e", [1, 2, 3], 0.0), IdSource(1))
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    invokes = [c for c in result.commands if isinstance(c, InvokeTask)]
    assert [c.payload for c in invokes] == [1, 2, 3]
    for command in reversed(invokes):
        interp.step(run, TaskSucceeded(command.token, command.payload * 10), 1.0)
    assert run.status == "SUCCEEDED"
    assert run.output == [10, 20, 30]


def test_max_concurrency_limits_running_iterations() -> None:
    definition = map_machine({"Type": "Task", "Resource": LAMBDA, "End": True}, MaxConcurrency=2)
    interp = Interpreter(build(definition), execution_info("e", [1, 2, 3], 0.0), IdSource(1))
    run = RunState()
    result = interp.step(run, Start(), 0.0)
    invokes = [c for c in result.commands if isinstance(c, InvokeTask)]
    assert [c.payload for c in invokes] == [1, 2]
    result = interp.step(run, TaskSucceeded(invokes[0].token, "a"), 1.0)
    (third,) = [c for c in result.commands if isinstance(c, InvokeTask)]
    assert third.payload == 3


def test_item_selector_sees_the_map_item_in_the_context() -> None:
    definition = map_machine(
        {"Type": "Pass", "End": True},
        ItemsPath="$.items",
        ItemSelector={"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
    )
    ex = stepfn.run(definition, {"items": ["a", "b"], "k": 7})
    assert ex.output == [{"i": 0, "v": "a", "k": 7}, {"i": 1, "v": "b", "k": 7}]


def test_tolerated_failures_keep_the_error_output() -> None:
    definition = map_machine(
        {"Type": "Fail", "Error": "Bad", "Cause": "item"}, ToleratedFailureCount=5
    )
    ex = stepfn.run(definition, [1, 2])
    assert ex.status == "SUCCEEDED"
    assert ex.output == [{"Error": "Bad", "Cause": "item"}] * 2


def test_exceeding_the_tolerance_fails_the_map() -> None:
    definition = map_machine({"Type": "Fail", "Error": "Bad"}, ToleratedFailureCount=1)
    ex = stepfn.run(definition, [1, 2, 3])
    assert ex.status == "FAILED"
    assert ex.error == "States.ExceedToleratedFailureThreshold"


def test_a_failing_iteration_aborts_the_others() -> None:
    definition = map_machine(
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}],
            "Default": "Slow",
        }
    )
    processor = definition["States"]["M"]["ItemProcessor"]["States"]
    processor["Slow"] = {"Type": "Wait", "Seconds": 100, "End": True}
    processor["Boom"] = {"Type": "Fail", "Error": "Bad"}
    ex = stepfn.run(definition, [1, 2, 3])
    assert ex.status == "FAILED" and ex.error == "Bad"
    kinds = [e["type"] for e in ex.history]
    # Item 0 was waiting and is aborted; item 2 had not started, so it never shows.
    assert kinds.count("MapIterationStarted") == 2
    assert kinds.count("MapIterationAborted") == 1
    assert kinds[-2:] == ["MapStateFailed", "ExecutionFailed"]


def test_parallel_outputs_in_branch_order_and_catch() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}},
                ],
                "ResultPath": "$.p",
                "Next": "Q",
            },
            "Q": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}],
                "Catch": [{"ErrorEquals": ["E"], "ResultPath": "$.caught", "Next": "End"}],
                "End": True,
            },
            "End": {"Type": "Succeed"},
        },
    }
    ex = stepfn.run(definition, {})
    assert ex.status == "SUCCEEDED"
    assert ex.output == {"p": ["a", "b"], "caught": {"Error": "E"}}


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("MaxConcurrencyPath", "integer"),
        ("ToleratedFailureCountPath", "integer"),
        ("ToleratedFailurePercentagePath", "float"),
    ],
)
@pytest.mark.parametrize(("value", "shown"), [("NoNumber", "NoNumber"), ({}, "{}"), ([1], "[1]")])
def test_a_path_field_that_is_not_a_number_quotes_the_value_once(
    field: str, kind: str, value: Any, shown: str
) -> None:
    definition = map_machine({"Type": "Pass", "End": True}, **{field: "$.n"}, ItemsPath="$.items")
    ex = stepfn.run(definition, {"items": [1], "n": value})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    assert ex.cause == (
        "An error occurred while executing the state 'M' (entered at the event id #2). "
        f'The {field} field refers to value "{shown}" which is not a valid {kind}: $.n'
    )
