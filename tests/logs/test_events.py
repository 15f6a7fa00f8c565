"""History events to CloudWatch log events: levels, execution data, truncation, shape.

The expected messages are what AWS wrote for the same executions (recorded log events of
a Pass machine and a Fail machine at each level, with and without execution data).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.logs.events import (
    ERROR_EVENTS,
    FATAL_EVENTS,
    MAX_PAYLOAD_BYTES,
    LoggedExecution,
    LogSettings,
    escaped_size,
    log_details,
    log_events,
    log_group_name,
    log_message,
    log_settings,
    log_stream_name,
    truncate,
)
from stepfn.store.base import StoredEvent

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Orders:run-1"
ROLE = "arn:aws:iam::123456789012:role/run"
GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/orders:*"
START = 1_716_992_192.441  # 2024-05-29T14:16:32.441Z


def config(level: str, data: bool = True, arn: str = GROUP_ARN) -> dict[str, Any]:
    return {
        "level": level,
        "includeExecutionData": data,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
    }


def pass_history() -> list[StoredEvent]:
    """A Pass machine's history as stepfn stores it (details rendered)."""
    return [
        StoredEvent(
            1,
            0,
            START,
            "ExecutionStarted",
            {
                "input": "{}",
                "inputDetails": {"truncated": False},
                "roleArn": ROLE,
            },
        ),
        StoredEvent(
            2,
            0,
            START + 0.01,
            "PassStateEntered",
            {"name": "State_1", "input": "{}", "inputDetails": {"truncated": False}},
        ),
        StoredEvent(
            3,
            2,
            START + 0.02,
            "PassStateExited",
            {
                "name": "State_1",
                "output": '{"Arg1":"argument1"}',
                "outputDetails": {"truncated": False},
            },
        ),
        StoredEvent(
            4,
            3,
            START + 0.03,
            "ExecutionSucceeded",
            {"output": '{"Arg1":"argument1"}', "outputDetails": {"truncated": False}},
        ),
    ]


def fail_history() -> list[StoredEvent]:
    cause = "This state machines raises a 'SomeFailure' failure."
    return [
        pass_history()[0],
        StoredEvent(
            2,
            0,
            START,
            "FailStateEntered",
            {"name": "FailState", "input": "{}", "inputDetails": {"truncated": False}},
        ),
        StoredEvent(3, 2, START, "ExecutionFailed", {"cause": cause, "error": "SomeFailure"}),
    ]


def logged(level: str, data: bool, history: list[StoredEvent]) -> list[dict[str, Any]]:
    settings = log_settings(config(level, data))
    assert settings is not None
    execution = LoggedExecution(EXECUTION, SM, START)
    return [json.loads(e.message) for e in log_events(settings, execution, history, 1)]


# --- settings ------------------------------------------------------------------------------------


def test_settings_come_from_the_configuration() -> None:
    assert log_settings(config("ERROR", False)) == LogSettings(
        "ERROR", False, "/aws/vendedlogs/states/orders"
    )
    assert log_settings(config("ALL", True)) == LogSettings(
        "ALL", True, "/aws/vendedlogs/states/orders"
    )


@pytest.mark.parametrize(
    "configuration",
    [
        None,
        {},
        {"level": "OFF", "includeExecutionData": False},
        config("OFF"),
        {"level": "ALL", "includeExecutionData": True, "destinations": []},
        config("ALL", arn="arn:aws:logs:us-east-1:123456789012:not-a-group"),
    ],
)
def test_nothing_is_logged_when_off_or_without_a_log_group(configuration: Any) -> None:
    assert log_settings(configuration) is None


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:logs:us-east-1:123456789012:log-group:my-group:*", "my-group"),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/x_y.z#1", "/aws/x_y.z#1"),
        ("arn:aws:logs:us-east-1:123456789012:log-group::*", None),
        ("my-group", None),
    ],
)
def test_log_group_names_come_from_their_arns(arn: str, name: str | None) -> None:
    assert log_group_name(arn) == name


# --- levels --------------------------------------------------------------------------------------


def test_level_all_logs_every_event_in_aws_shape() -> None:
    assert logged("ALL", True, pass_history()) == [
        {
            "id": "1",
            "type": "ExecutionStarted",
            "details": {"input": "{}", "inputDetails": {"truncated": False}, "roleArn": ROLE},
            "previous_event_id": "0",
            "event_timestamp": "1716992192441",
            "execution_arn": EXECUTION,
            "redrive_count": "0",
        },
        {
            "id": "2",
            "type": "PassStateEntered",
            "details": {"name": "State_1", "input": "{}", "inputDetails": {"truncated": False}},
            "previous_event_id": "0",
            "event_timestamp": "1716992192451",
            "execution_arn": EXECUTION,
            "redrive_count": "0",
        },
        {
            "id": "3",
            "type": "PassStateExited",
            "details": {
                "name": "State_1",
                "output": '{"Arg1":"argument1"}',
                "outputDetails": {"truncated": False},
            },
            "previous_event_id": "2",
            "event_timestamp": "1716992192461",
            "execution_arn": EXECUTION,
            "redrive_count": "0",
        },
        {
            "id": "4",
            "type": "ExecutionSucceeded",
            "details": {"output": '{"Arg1":"argument1"}', "outputDetails": {"truncated": False}},
            "previous_event_id": "3",
            "event_timestamp": "1716992192471",
            "execution_arn": EXECUTION,
            "redrive_count": "0",
        },
    ]


def test_messages_are_compact_json_with_aws_key_order() -> None:
    event = pass_history()[3]
    text = log_message(event, EXECUTION, 2, True)
    assert text == (
        '{"id":"4","type":"ExecutionSucceeded","details":{"output":"{\\"Arg1\\":\\"argument1\\"}",'
        '"outputDetails":{"truncated":false}},"previous_event_id":"3",'
        f'"event_timestamp":"1716992192471","execution_arn":"{EXECUTION}","redrive_count":"2"}}'
    )


def test_without_execution_data_payloads_are_left_out() -> None:
    assert [(m["type"], m["details"]) for m in logged("ALL", False, pass_history())] == [
        ("ExecutionStarted", {"roleArn": ROLE}),
        ("PassStateEntered", {"name": "State_1"}),
        ("PassStateExited", {"name": "State_1"}),
        ("ExecutionSucceeded", {}),
    ]
    # Errors and causes are not execution data.
    failed = logged("ALL", False, fail_history())[-1]
    assert failed["details"] == {
        "cause": "This state machines raises a 'SomeFailure' failure.",
        "error": "SomeFailure",
    }
    scheduled = log_details(
        "TaskScheduled",
        {"resource": "invoke", "resourceType": "lambda", "parameters": '{"secret":1}'},
        False,
    )
    assert scheduled == {"resource": "invoke", "resourceType": "lambda"}


@pytest.mark.parametrize("data", [True, False])
def test_level_error_logs_the_failures(data: bool) -> None:
    messages = logged("ERROR", data, fail_history())
    assert [(m["id"], m["type"]) for m in messages] == [
        ("2", "FailStateEntered"),
        ("3", "ExecutionFailed"),
    ]
    assert ("input" in messages[0]["details"]) is data
    assert logged("ERROR", data, pass_history()) == []


@pytest.mark.parametrize("data", [True, False])
def test_level_fatal_logs_only_the_execution_failing(data: bool) -> None:
    assert [m["type"] for m in logged("FATAL", data, fail_history())] == ["ExecutionFailed"]
    assert logged("FATAL", data, pass_history()) == []


def test_the_levels_nest() -> None:
    assert FATAL_EVENTS < ERROR_EVENTS
    every = LogSettings("ALL", True, "g")
    error = LogSettings("ERROR", True, "g")
    fatal = LogSettings("FATAL", True, "g")
    off = LogSettings("OFF", True, "g")
    for event_type in (*ERROR_EVENTS, "TaskSucceeded", "MapIterationStarted", "ExecutionRedriven"):
        assert every.logs(event_type)
        assert error.logs(event_type) == (event_type in ERROR_EVENTS)
        assert fatal.logs(event_type) == (event_type in FATAL_EVENTS)
        assert not off.logs(event_type)


# --- payload size, streams, records --------------------------------------------------------------


def test_payloads_over_248_kb_are_truncated_and_say_so() -> None:
    # Quotes escape to two bytes each and "é" is two UTF-8 bytes: the limit counts the
    # escaped text as it is sent.
    big = json.dumps({"text": 'é"' * 70_000})
    details = log_details(
        "TaskSucceeded", {"output": big, "outputDetails": {"truncated": False}}, True
    )
    assert details["outputDetails"] == {"truncated": True}
    assert big.startswith(details["output"])
    assert escaped_size(details["output"]) <= MAX_PAYLOAD_BYTES
    assert escaped_size(big[: len(details["output"]) + 1]) > MAX_PAYLOAD_BYTES
    small = {"input": '{"a":1}', "inputDetails": {"truncated": False}}
    assert log_details("TaskStateEntered", small, True) == small


def test_truncate_keeps_the_longest_fitting_beginning() -> None:
    assert truncate("abc", 10) == "abc"
    assert truncate('a"b', 3) == 'a"'
    assert truncate('a"b', 2) == "a"
    assert truncate("\n\n", 3) == "\n"
    assert escaped_size('a"\n') == 5


def test_streams_are_named_by_machine_and_start_minute() -> None:
    stream = log_stream_name(SM, START)
    assert stream.startswith("states/Orders/2024-05-29-14-16/")
    digits = stream.rsplit("/", 1)[1]
    assert len(digits) == 8 and int(digits, 16) >= 0
    # The same machine and minute share a stream; another minute or machine does not.
    assert log_stream_name(SM, START + 20) == stream
    assert log_stream_name(SM, START + 60) != stream
    other = log_stream_name(SM.replace("Orders", "Refunds"), START)
    assert other.startswith("states/Refunds/2024-05-29-14-16/") and other != stream


def test_log_events_are_filed_in_the_group_and_stream() -> None:
    settings = LogSettings("ALL", True, "group")
    execution = LoggedExecution(EXECUTION, SM, START, redrive_count=1)
    records = log_events(settings, execution, pass_history(), ingestion_time=1_716_992_200_000)
    assert [r.timestamp for r in records] == [
        1716992192441,
        1716992192451,
        1716992192461,
        1716992192471,
    ]
    assert {(r.log_group_name, r.log_stream_name, r.ingestion_time) for r in records} == {
        ("group", log_stream_name(SM, START), 1_716_992_200_000)
    }
    assert {json.loads(r.message)["redrive_count"] for r in records} == {"1"}
