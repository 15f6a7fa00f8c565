"""``stepfn.run``: the in-process driver with virtual and real clocks."""

from __future__ import annotations

import time
from typing import Any

import pytest

import stepfn
from stepfn.clock import VIRTUAL_EPOCH

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


def test_a_day_long_wait_finishes_at_once_in_simulated_time() -> None:
    definition = {
        "StartAt": "Nap",
        "States": {"Nap": {"Type": "Wait", "Seconds": 86400, "End": True}},
    }
    started = time.perf_counter()
    ex = stepfn.run(definition, {"a": 1})
    assert time.perf_counter() - started < 5  # generous: it must not really wait a day
    assert ex.status == "SUCCEEDED" and ex.output == {"a": 1}
    stamps = [e["timestamp"].timestamp() for e in ex.history]
    assert stamps[-1] - stamps[0] == 86400


def test_real_clock_really_waits() -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    started = time.monotonic()
    ex = stepfn.run(definition, clock=stepfn.Clock())
    assert ex.status == "SUCCEEDED"
    assert time.monotonic() - started >= 0.9


def test_functions_are_called_and_retried() -> None:
    calls: list[Any] = []

    def flaky(event: Any, context: Any) -> Any:
        calls.append(event)
        if len(calls) < 3:
            raise TimeoutError("try again")
        return {"ok": len(calls)}

    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": LAMBDA + "flaky",
                "Retry": [{"ErrorEquals": ["TimeoutError"], "IntervalSeconds": 10}],
                "End": True,
            }
        },
    }
    ex = stepfn.run(definition, {"x": 1}, functions={"flaky": flaky})
    assert ex.status == "SUCCEEDED" and ex.output == {"ok": 3}
    assert calls == [{"x": 1}] * 3
    stamps = [e["timestamp"].timestamp() - VIRTUAL_EPOCH for e in ex.history]
    assert stamps[-1] == 30.0  # 10 s, then 20 s of backoff


def test_json_text_definition_and_execution_name() -> None:
    text = (
        '{"StartAt": "P", "States": {"P": {"Type": "Pass",'
        ' "Parameters": {"n.$": "$$.Execution.Name"}, "End": true}}}'
    )
    ex = stepfn.run(text, name="order-42")
    assert ex.output == {"n": "order-42"}
    assert ex.execution_arn.endswith(":execution:stepfn:order-42")


def test_invalid_definition_lists_its_problems() -> None:
    with pytest.raises(stepfn.DefinitionError) as info:
        stepfn.run({"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    paths = [p.path for p in info.value.problems]
    assert "/StartAt" in paths and "/States/A/Next" in paths


def test_a_task_without_an_answer_leaves_the_execution_running() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "End": True,
            }
        },
    }
    ex = stepfn.run(definition)
    assert ex.status == "FAILED"
    assert ex.error == "States.TaskFailed"


def test_a_missing_path_inside_an_intrinsic_fails_cleanly() -> None:
    definition = {
        "StartAt": "H",
        "States": {
            "H": {
                "Type": "Pass",
                "Parameters": {"h.$": "States.Hash($.missing, 'MD5')"},
                "End": True,
            }
        },
    }
    ex = stepfn.run(definition, {})
    assert ex.status == "FAILED" and ex.error == "States.Runtime"
    assert ex.cause is not None
    assert ex.cause.endswith(
        "The JSONPath '$.missing' specified for the field 'h.$' could not be found in the "
        "input '{}'"
    )


def test_a_variable_over_256_kib_is_a_data_limit_error() -> None:
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Pass",
                "Assign": {"blob.$": "$.text"},
                "End": True,
            }
        },
    }
    small = stepfn.run(definition, {"text": "a" * 1000})
    assert small.status == "SUCCEEDED"
    big = stepfn.run(definition, {"text": "a" * (256 * 1024)})
    assert big.status == "FAILED"
    assert big.error == "States.DataLimitExceeded"
    assert big.cause is not None and "'blob'" in big.cause


def test_express_executions_end_after_five_minutes() -> None:
    definition = {
        "StartAt": "Long",
        "States": {"Long": {"Type": "Wait", "Seconds": 600, "End": True}},
    }
    express = stepfn.run(definition, state_machine_type="EXPRESS")
    assert (express.status, express.error) == ("TIMED_OUT", "States.Timeout")
    ended = [e["timestamp"].timestamp() for e in express.history]
    assert ended[-1] - ended[0] == 300
    assert stepfn.run(definition).status == "SUCCEEDED"


def _deep(depth: int) -> Any:
    value: Any = {"x": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_definition_nested_too_deep_is_a_definition_error(depth: int) -> None:
    machine: dict[str, Any] = {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    for _ in range(depth // 4):  # each Parallel is four levels of JSON
        state = {"Type": "Parallel", "Branches": [machine], "End": True}
        machine = {"StartAt": "P", "States": {"P": state}}
    with pytest.raises(stepfn.DefinitionError) as caught:
        stepfn.run(machine)
    assert "nesting depth exceeds the maximum allowed (256 levels)" in str(caught.value)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_an_input_nested_too_deep_is_refused(depth: int) -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    with pytest.raises(ValueError, match=r"Invalid execution input: .*\(256 levels\)"):
        stepfn.run(definition, _deep(depth))


def test_an_input_at_the_limit_runs_through_deep_walks() -> None:
    # JSONPath's deep scan, a payload template and a Choice all walk the whole input.
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$..x", "IsPresent": True, "Next": "P"}],
            },
            "P": {"Type": "Pass", "Parameters": {"found.$": "$..x", "all.$": "$"}, "End": True},
        },
    }
    execution = stepfn.run(definition, _deep(256))
    assert execution.status == "SUCCEEDED"
    assert execution.output["found"] == [1]


def test_a_pass_result_over_256_kib_is_a_data_limit_error() -> None:
    big = {"x": "é" * (130 * 1024)}  # 130 Ki characters, 260 KiB in UTF-8
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": big, "End": True}}}
    execution = stepfn.run(definition, {})
    assert execution.status == "FAILED"
    assert execution.error == "States.DataLimitExceeded"
    assert "The state/task 'P' returned a result" in (execution.cause or "")


def test_a_pass_result_just_under_the_limit_is_passed_on() -> None:
    result = {"x": "a" * (256 * 1024 - 16)}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}
    assert stepfn.run(definition, {}).output == result


LAMBDA_F = "arn:aws:lambda:us-east-1:123456789012:function:f"


@pytest.mark.parametrize(
    "inner",
    [
        {
            "Type": "Task",
            "Resource": LAMBDA_F,
            "End": True,
        },
        {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": LAMBDA_F,
                        "End": True,
                    }
                },
            },
            "End": True,
        },
    ],
    ids=["task", "task-in-a-map"],
)
def test_a_machine_that_calls_out_still_reaches_the_adapters(inner: dict[str, Any]) -> None:
    # Task-free machines share one registry of no adapters; one with a Task anywhere
    # (here nested in a Parallel) must get the real ones: its unrouted Task says how to route.
    definition = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "I", "States": {"I": inner}}],
                "End": True,
            }
        },
    }
    execution = stepfn.run(definition, [1])
    assert execution.status == "FAILED"
    # The Lambda adapter's answer for a function it does not know (no adapters at all
    # would give the catch-all's States.TaskFailed instead).
    assert execution.error == "Lambda.ResourceNotFoundException"
    assert "Function not found" in (execution.cause or "")


def test_unseeded_id_sources_never_repeat_one_another() -> None:
    from stepfn.clock import IdSource

    ids = {IdSource().uuid() for _ in range(2000)}
    assert len(ids) == 2000
    seeded = [IdSource(7).uuid() for _ in range(2)]
    assert seeded[0] == seeded[1]  # a seed still gives its own, repeatable sequence
