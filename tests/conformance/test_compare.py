"""The comparison rules of the conformance runner, checked on made-up results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .compare import (
    Placeholders,
    compare_case,
    compare_cause,
    compare_history,
    compare_result,
    compare_values,
    parallel_branches,
)

# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (1, 1.0),
        (0.5, 0.5),
        ({"a": [1, "x", None, True]}, {"a": [1.0, "x", None, True]}),
        ([], []),
        ({}, {}),
    ],
)
def test_equal_values(expected: Any, actual: Any) -> None:
    assert compare_values(expected, actual) == []


@pytest.mark.parametrize(
    ("expected", "actual", "fragment"),
    [
        (1, True, "expected number 1, got boolean true"),
        (True, 1, "expected boolean true, got number 1"),
        (0, False, "expected number"),
        ("1", 1, "expected string"),
        (None, "null", "expected null"),
        ([1, 2], [1, 2, 3], "expected 2 items, got 3"),
        ({"a": 1}, {"a": 1, "b": 2}, "unexpected key 'b'"),
        ({"a": 1, "b": 2}, {"a": 1}, "missing key 'b'"),
        ({"a": {"b": [0, 1]}}, {"a": {"b": [0, 2]}}, "$.a.b[1]: expected 1, got 2"),
    ],
)
def test_different_values(expected: Any, actual: Any, fragment: str) -> None:
    diffs = compare_values(expected, actual)
    assert len(diffs) == 1
    assert fragment in diffs[0]


def test_standalone_placeholder_matches_any_value() -> None:
    ph = Placeholders(["<uuid:1>", "date"])
    assert compare_values({"id": "<uuid:1>", "at": "date"}, {"id": 42, "at": {"x": 1}}, ph) == []


def test_embedded_placeholders_match_any_run_of_characters() -> None:
    ph = Placeholders(["<partition>", "<region>", "111111111111", "<ArnPart_0idx>"])
    expected = "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>"
    actual = "arn:aws:states:us-east-1:123456789012:stateMachine:my-machine"
    assert compare_values(expected, actual, ph) == []
    assert compare_values(expected, actual.replace(":states:", ":lambda:"), ph) != []


def test_bare_word_placeholder_does_not_match_inside_a_word() -> None:
    ph = Placeholders(["date"])
    assert compare_values("HelloWorldUpdated", "HelloWorldUpXXXd", ph) != []
    assert compare_values("HelloWorldUpdated", "HelloWorldUpdated", ph) == []
    # Delimited by punctuation, it is a dynamic part.
    assert compare_values("at date.", "at 2024-01-01.", ph) == []


def test_longest_placeholder_wins() -> None:
    ph = Placeholders(["timestamp", "<timestamp>"])
    assert compare_values("t=<timestamp>!", "t=2024!", ph) == []


def test_strings_without_placeholders_compare_exactly() -> None:
    diffs = compare_values("abc", "abd", Placeholders(["x"]))
    assert diffs == ['$: expected "abc", got "abd"']


def test_regex_characters_in_expected_are_literal() -> None:
    ph = Placeholders(["<id>"])
    assert compare_values("a.b*<id>(c)", "a.b*42(c)", ph) == []
    assert compare_values("a.b*<id>(c)", "aXb*42(c)", ph) != []


def test_stack_trace_compares_present_or_absent() -> None:
    expected = {"errorMessage": "boom", "stackTrace": ['  File "/var/task/handler.py"']}
    assert compare_values(expected, {"errorMessage": "boom", "stackTrace": ["elsewhere"]}) == []
    assert compare_values(expected, {"errorMessage": "boom"}) != []
    assert compare_values({"errorMessage": "boom"}, expected) != []


def test_stack_trace_inside_json_text() -> None:
    ph = Placeholders(["<uuid:1>"])
    expected = (
        '{"errorMessage": "Some exception was raised.", "errorType": "Exception", '
        '"requestId": "<uuid:1>", "stackTrace": ["  File \\"/var/task/handler.py\\", '
        'line 2, in handler\\n    raise Exception(\\"Some exception was raised.\\")\\n"]}'
    )
    ours = json.dumps(
        {
            "errorMessage": "Some exception was raised.",
            "errorType": "Exception",
            "requestId": "0b9d2c2e-1111-4222-8333-444455556666",
            "stackTrace": ['  File "lambdas.py", line 30, in raise_exception\n'],
        }
    )
    assert compare_values(expected, ours, ph) == []
    without_trace = ours.replace(', "stackTrace": ["  File \\"lambdas.py\\", line 30, ', "")
    assert compare_values(expected, without_trace, ph) != []


# ------------------------------------------------------------------------- result, cause


def test_success_result() -> None:
    expected = {"status": "SUCCEEDED", "output": {"a": 1}}
    ok = compare_result(expected, status="SUCCEEDED", output={"a": 1.0}, error=None, cause=None)
    assert ok == []


def test_status_and_extra_fields_are_differences() -> None:
    expected = {"status": "FAILED", "error": "States.Runtime", "cause": "bad"}
    diffs = compare_result(expected, status="SUCCEEDED", output={}, error=None, cause=None)
    assert any(d.startswith("status: expected FAILED, got SUCCEEDED") for d in diffs)
    assert any(d.startswith("output: expected none") for d in diffs)
    assert any(d.startswith("error:") for d in diffs)
    assert any(d.startswith("cause:") for d in diffs)


def test_output_on_success_expected_null_output() -> None:
    expected = {"status": "SUCCEEDED", "output": None}
    assert compare_result(expected, status="SUCCEEDED", output=None, error=None, cause=None) == []


def test_cause_is_exact() -> None:
    expected = "An error occurred while executing the state 'X' (entered at the event id #2)."
    assert compare_cause(expected, expected, Placeholders()) == []
    assert compare_cause(expected, expected.replace("#2", "#3"), Placeholders()) != []


def test_cause_none() -> None:
    assert compare_cause(None, None, Placeholders()) == []
    assert compare_cause(None, "", Placeholders()) != []


def test_json_cause_is_parsed() -> None:
    expected = {"Entries": [{"EventId": "<uuid:1>"}], "FailedEntryCount": 1}
    ours = '{"FailedEntryCount":1,"Entries":[{"EventId":"abc"}]}'
    assert compare_cause(expected, ours, Placeholders(["<uuid:1>"])) == []
    assert compare_cause(expected, "not json", Placeholders()) != []
    assert compare_cause(expected, '{"FailedEntryCount": 2}', Placeholders()) != []


# ------------------------------------------------------------------------------ history


def _ours(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recorded-style events turned into GetExecutionHistory-shaped ones."""
    shaped = []
    for n, e in enumerate(events, start=1):
        event: dict[str, Any] = {"id": n, "previousEventId": n - 1, "type": e["type"]}
        t = e["type"]
        if t.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"name": e["name"], "input": "{}"}
        elif t.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"name": e["name"], "output": "{}"}
        elif t.startswith("MapIteration"):
            key = t[0].lower() + t[1:] + "EventDetails"
            event[key] = {"name": e["name"], "index": e["index"]}
        shaped.append(event)
    return shaped


def _h(*spec: str) -> list[dict[str, Any]]:
    """Compact history: "PassStateEntered:A", "MapIterationStarted:M:0", "ExecutionStarted"."""
    events: list[dict[str, Any]] = []
    for s in spec:
        parts = s.split(":")
        event: dict[str, Any] = {"type": parts[0]}
        if len(parts) > 1:
            event["name"] = parts[1]
        if len(parts) > 2:
            event["index"] = int(parts[2])
        events.append(event)
    return events


PARALLEL = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A1",
                    "States": {
                        "A1": {"Type": "Pass", "Next": "A2"},
                        "A2": {"Type": "Pass", "End": True},
                    },
                },
                {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        }
    },
}


def _parallel(*inner: str) -> list[dict[str, Any]]:
    return _h(
        "ExecutionStarted",
        "ParallelStateEntered:P",
        "ParallelStateStarted",
        *inner,
        "ParallelStateExited:P",
        "ExecutionSucceeded",
    )


AWS_PARALLEL = _parallel(
    "PassStateEntered:A1",
    "PassStateEntered:B1",
    "PassStateExited:A1",
    "PassStateExited:B1",
    "PassStateEntered:A2",
    "PassStateExited:A2",
)


def test_identical_histories() -> None:
    assert compare_history(AWS_PARALLEL, _ours(AWS_PARALLEL), PARALLEL) == []


def test_parallel_branches_may_interleave() -> None:
    ours = _parallel(
        "PassStateEntered:A1",
        "PassStateExited:A1",
        "PassStateEntered:A2",
        "PassStateExited:A2",
        "PassStateEntered:B1",
        "PassStateExited:B1",
    )
    assert compare_history(AWS_PARALLEL, _ours(ours), PARALLEL) == []


def test_order_within_a_branch_is_checked() -> None:
    ours = _parallel(
        "PassStateEntered:A2",
        "PassStateExited:A2",
        "PassStateEntered:A1",
        "PassStateExited:A1",
        "PassStateEntered:B1",
        "PassStateExited:B1",
    )
    diffs = compare_history(AWS_PARALLEL, _ours(ours), PARALLEL)
    assert diffs
    assert any("branch 0" in d for d in diffs)


def test_missing_event_in_a_region() -> None:
    ours = _parallel(
        "PassStateEntered:A1",
        "PassStateExited:A1",
        "PassStateEntered:A2",
        "PassStateExited:A2",
        "PassStateEntered:B1",
    )
    diffs = compare_history(AWS_PARALLEL, _ours(ours), PARALLEL)
    assert any("missing events PassStateExited 'B1'" in d for d in diffs)


def test_outer_sequence_is_exact() -> None:
    ours = [e for e in AWS_PARALLEL if e["type"] != "ExecutionSucceeded"]
    ours.append({"type": "ExecutionFailed"})
    diffs = compare_history(AWS_PARALLEL, _ours(ours), PARALLEL)
    assert diffs == ["history[4]: expected ExecutionSucceeded; got ExecutionFailed"]


def test_unnamed_events_are_counted() -> None:
    aws = _parallel("TaskScheduled", "TaskScheduled", "TaskStarted", "TaskStarted")
    ours = _parallel("TaskScheduled", "TaskStarted", "TaskScheduled", "TaskStarted")
    assert compare_history(aws, _ours(ours), PARALLEL) == []
    fewer = _parallel("TaskScheduled", "TaskStarted", "TaskStarted")
    assert compare_history(aws, _ours(fewer), PARALLEL) != []


def test_first_event_of_a_region_is_anchored() -> None:
    aws = _parallel("PassStateEntered:B1", "PassStateExited:B1")
    # Same multiset, but the Started event moved after a branch event.
    ours = _h(
        "ExecutionStarted",
        "ParallelStateEntered:P",
        "PassStateEntered:B1",
        "ParallelStateStarted",
        "PassStateExited:B1",
        "ParallelStateExited:P",
        "ExecutionSucceeded",
    )
    diffs = compare_history(aws, _ours(ours), PARALLEL)
    assert any("first event" in d for d in diffs)


def test_region_failing_the_execution_runs_to_the_end() -> None:
    aws = _h(
        "ExecutionStarted",
        "ParallelStateEntered:P",
        "ParallelStateStarted",
        "FailStateEntered:A1",
        "PassStateEntered:B1",
        "ParallelStateFailed",
        "ExecutionFailed",
    )
    ours = _h(
        "ExecutionStarted",
        "ParallelStateEntered:P",
        "ParallelStateStarted",
        "PassStateEntered:B1",
        "FailStateEntered:A1",
        "ParallelStateFailed",
        "ExecutionFailed",
    )
    assert compare_history(aws, _ours(ours), PARALLEL) == []
    last_moved = _h(
        "ExecutionStarted",
        "ParallelStateEntered:P",
        "ParallelStateStarted",
        "FailStateEntered:A1",
        "ParallelStateFailed",
        "PassStateEntered:B1",
        "ExecutionFailed",
    )
    assert any("last event" in d for d in compare_history(aws, _ours(last_moved), PARALLEL))


MAP = {
    "StartAt": "M",
    "States": {
        "M": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
            "End": True,
        }
    },
}


def _map(*inner: str) -> list[dict[str, Any]]:
    return _h(
        "ExecutionStarted",
        "MapStateEntered:M",
        "MapStateStarted",
        *inner,
        "MapStateSucceeded",
        "MapStateExited:M",
        "ExecutionSucceeded",
    )


SEQUENTIAL_MAP = _map(
    "MapIterationStarted:M:0",
    "PassStateEntered:X",
    "PassStateExited:X",
    "MapIterationSucceeded:M:0",
    "MapIterationStarted:M:1",
    "PassStateEntered:X",
    "PassStateExited:X",
    "MapIterationSucceeded:M:1",
)


def test_map_iterations_may_interleave() -> None:
    ours = _map(
        "MapIterationStarted:M:0",
        "MapIterationStarted:M:1",
        "PassStateEntered:X",
        "PassStateEntered:X",
        "PassStateExited:X",
        "PassStateExited:X",
        "MapIterationSucceeded:M:1",
        "MapIterationSucceeded:M:0",
    )
    assert compare_history(SEQUENTIAL_MAP, _ours(ours), MAP) == []


def test_map_iteration_order_per_index() -> None:
    ours = _map(
        "MapIterationSucceeded:M:0",
        "PassStateEntered:X",
        "PassStateExited:X",
        "MapIterationStarted:M:0",
        "MapIterationStarted:M:1",
        "PassStateEntered:X",
        "PassStateExited:X",
        "MapIterationSucceeded:M:1",
    )
    diffs = compare_history(SEQUENTIAL_MAP, _ours(ours), MAP)
    assert any("iteration 0" in d for d in diffs)


def test_sequential_iterations_compare_their_own_events() -> None:
    # Same multiset as SEQUENTIAL_MAP, but iteration 0 ran X twice and iteration 1 never.
    ours = _map(
        "MapIterationStarted:M:0",
        "PassStateEntered:X",
        "PassStateExited:X",
        "PassStateEntered:X",
        "PassStateExited:X",
        "MapIterationSucceeded:M:0",
        "MapIterationStarted:M:1",
        "MapIterationSucceeded:M:1",
    )
    diffs = compare_history(SEQUENTIAL_MAP, _ours(ours), MAP)
    assert any("iteration 0" in d for d in diffs)
    assert any("iteration 1" in d for d in diffs)


def test_parallel_branches_from_definition() -> None:
    nested = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "ItemProcessor": {
                                    "StartAt": "Q",
                                    "States": {
                                        "Q": {
                                            "Type": "Parallel",
                                            "Branches": [
                                                {
                                                    "StartAt": "R",
                                                    "States": {"R": {"Type": "Succeed"}},
                                                }
                                            ],
                                            "End": True,
                                        }
                                    },
                                },
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                ],
                "End": True,
            }
        },
    }
    assert parallel_branches(nested) == {"P": [{"M", "Q", "R"}, {"B"}], "Q": [{"R"}]}
    assert parallel_branches(None) == {}


def test_compare_case_with_and_without_history() -> None:
    case = {
        "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        "expected": {"status": "SUCCEEDED", "output": {"id": "<uuid:1>"}},
        "placeholders": ["<uuid:1>"],
        "history": _h("ExecutionStarted", "PassStateEntered:A", "PassStateExited:A"),
    }
    history = _ours(case["history"])  # type: ignore[arg-type]
    result = {"status": "SUCCEEDED", "output": {"id": "x"}, "error": None, "cause": None}
    assert compare_case(case, **result, history=history) == []
    assert compare_case(case, **result, history=None) == ["history: expected events, got none"]
    assert compare_case({**case, "history": None}, **result, history=None) == []


# ------------------------------------------------------------------- the recorded cases


def _concrete(value: Any, names: list[str]) -> Any:
    """A result AWS could have given: each placeholder replaced by a made-up value."""
    if isinstance(value, dict):
        return {k: _concrete(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_concrete(v, names) for v in value]
    if isinstance(value, str):
        if value in names:
            return 12345
        for name in names:
            if name.startswith("<") and name.endswith(">"):
                value = value.replace(name, "dyn-value")
    return value


def test_every_recording_matches_itself_made_concrete() -> None:
    from .cases import cases_dir, load_cases, missing_message

    root = cases_dir()
    if root is None:
        pytest.skip(missing_message())
    for case in load_cases(root):
        data = case.data
        names = list(data["placeholders"])
        expected = data["expected"]
        cause = expected.get("cause")
        if isinstance(cause, dict | list):
            cause = json.dumps(_concrete(cause, names))
        elif isinstance(cause, str):
            cause = _concrete(cause, names)
            cause = cause if isinstance(cause, str) else "anything"
        history = _ours(data["history"]) if data["history"] is not None else None
        diffs = compare_case(
            data,
            status=expected["status"],
            output=_concrete(expected.get("output"), names),
            error=expected.get("error"),
            cause=cause,
            history=history,
        )
        assert diffs == [], case.id


def test_long_strings_show_where_they_part() -> None:
    prefix = "An error occurred while executing the state 'X' (entered at the event id #2). " * 3
    diffs = compare_values(
        prefix + "The JSONPath '$.a' failed", prefix + "The JSONPath '$.b' failed"
    )
    assert len(diffs) == 1
    assert diffs[0].startswith(f"$: differs from character {len(prefix) + 16}: expected ...")
    assert "$.a' failed" in diffs[0]
    assert "$.b' failed" in diffs[0]
