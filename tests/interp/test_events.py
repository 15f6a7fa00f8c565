"""History events render as GetExecutionHistory shapes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stepfn.interp import events as events_module
from stepfn.interp.events import Event, TextMemo, details_key


def test_details_keys_follow_aws_names() -> None:
    assert details_key("PassStateEntered") == "stateEnteredEventDetails"
    assert details_key("MapStateExited") == "stateExitedEventDetails"
    assert details_key("TaskScheduled") == "taskScheduledEventDetails"
    assert details_key("LambdaFunctionFailed") == "lambdaFunctionFailedEventDetails"
    assert details_key("ExecutionSucceeded") == "executionSucceededEventDetails"


def test_payloads_render_as_compact_json_text() -> None:
    event = Event(2, 1, 0.5, "PassStateEntered", {"name": "A", "input": {"é": [1, 2]}})
    assert event.render() == {
        "timestamp": datetime.fromtimestamp(0.5, tz=UTC),
        "type": "PassStateEntered",
        "id": 2,
        "previousEventId": 1,
        "stateEnteredEventDetails": {
            "name": "A",
            "input": '{"é":[1,2]}',
            "inputDetails": {"truncated": False},
        },
    }


def test_task_parameters_render_as_text_and_no_details_is_no_key() -> None:
    scheduled = Event(3, 2, 0.0, "TaskScheduled", {"resource": "invoke", "parameters": {"a": 1}})
    assert scheduled.render()["taskScheduledEventDetails"]["parameters"] == '{"a":1}'
    started = Event(4, 3, 0.0, "MapStateSucceeded").render()
    assert set(started) == {"timestamp", "type", "id", "previousEventId"}


def test_a_text_memo_renders_each_payload_object_once(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = {"order": [1, 2]}
    other = {"order": [1, 2]}  # equal, but another object
    events = [
        Event(2, 1, 0.0, "PassStateExited", {"name": "A", "output": shared}),
        Event(3, 2, 0.0, "PassStateEntered", {"name": "B", "input": shared}),
        Event(4, 3, 0.0, "PassStateExited", {"name": "B", "output": other}),
    ]
    calls: list[object] = []
    real = events_module.to_json_text

    def counting(value: object) -> str:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(events_module, "to_json_text", counting)
    texts = TextMemo()
    rendered = [event.rendered_details(texts) for event in events]
    assert [len(calls), calls[0] is shared, calls[1] is other] == [2, True, True]
    assert rendered == [event.rendered_details() for event in events]
    assert texts.text("plain") == '"plain"'
    # A text the caller already has (the stored input) is taken, not computed again.
    given = {"a": 1}
    texts.remember(given, '{"a":1}')
    before = len(calls)
    assert texts.text(given) == '{"a":1}' and len(calls) == before
