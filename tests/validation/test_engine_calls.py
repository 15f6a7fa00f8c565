"""The Engine's methods check their arguments with the API's validator: Python callers
get the answers an SDK gets over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stepfn.clock import IdSource, VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine
from stepfn.store.memory import MemoryStore
from stepfn.validation.requests import checking, default_validator


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine(MemoryStore(), clock=VirtualClock(), ids=IdSource(3), read_only=True)
    yield engine
    engine.close()


def _refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value.code, info.value.message


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("ListStateMachines", {"maxResults": 1001}),
        ("DescribeExecution", {"executionArn": "", "includedData": "SOME"}),
        ("SendTaskFailure", {"taskToken": "t" * 2049, "error": "e" * 257}),
        ("CreateStateMachineAlias", {"name": "9", "routingConfiguration": []}),
        ("ListExecutions", {"statusFilter": "done", "maxResults": True}),
        ("TestState", {"definition": "{}", "inspectionLevel": "LOUD"}),
        ("UpdateMapRun", {"mapRunArn": "arn", "toleratedFailurePercentage": 101.5}),
    ],
)
def test_a_python_call_is_refused_as_the_http_request_is(
    engine: Engine, operation: str, params: dict[str, Any]
) -> None:
    over_http = _refusal(lambda: default_validator().request(operation, params))
    method = engine.operations[operation]
    from_python = _refusal(lambda: getattr(engine, method.__name__)(**params))
    assert from_python == over_http


def test_the_engines_table_is_what_the_api_calls_its_attributes_check(engine: Engine) -> None:
    # The API checks each request before it calls the table: its methods do not again.
    assert engine.operations["ListStateMachines"](maxResults=5) == {"stateMachines": []}
    with pytest.raises(ServiceError):
        engine.list_state_machines(maxResults=-1)


def test_an_unknown_keyword_is_pythons_error_not_dropped(engine: Engine) -> None:
    with pytest.raises(TypeError):
        engine.list_state_machines(maxResult=5)


def test_positional_arguments_are_checked_by_their_names() -> None:
    calls: list[dict[str, Any]] = []

    def describe_activity(activityArn: str) -> dict[str, Any]:
        calls.append({"activityArn": activityArn})
        return {}

    checked = checking(default_validator(), "DescribeActivity", describe_activity)
    checked("arn:aws:states:us-east-1:123456789012:activity:a")
    assert calls == [{"activityArn": "arn:aws:states:us-east-1:123456789012:activity:a"}]
    code, message = _refusal(lambda: checked("a" * 257))
    assert code == "ValidationException" and "'activityArn'" in message


def test_a_tag_without_a_key_is_a_missing_member(engine: Engine) -> None:
    # The model leaves Tag.key optional; AWS refuses a tag without one (a named rule).
    code, message = _refusal(lambda: engine.create_activity(name="a", tags=[{"value": "v"}]))
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value null at 'tags.1.member.key' failed to satisfy "
        "constraint: Member must not be null",
    )
