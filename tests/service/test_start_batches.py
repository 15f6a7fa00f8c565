"""StartExecution calls answered together (``engine.batched``, as the server gathers
them): one group commit, and each call the answer it would have had alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = Engine.open(store_url, clock=VirtualClock())
    yield engine
    engine.close()


def create(engine: Engine, name: str, definition: dict[str, Any], **kw: Any) -> str:
    arn: str = engine.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, **kw
    )["stateMachineArn"]
    return arn


def test_each_call_of_a_batch_gets_its_own_answer(engine: Engine) -> None:
    standard = create(engine, "waits", WAIT)
    express = create(engine, "quick", PASS, type="EXPRESS")
    engine.start_execution(stateMachineArn=standard, name="taken", input='{"a":1}')
    commits: list[int] = []
    create_executions = engine.store.create_executions

    def counted(starts: Any) -> Any:
        commits.append(len(starts))
        return create_executions(starts)

    engine.store.create_executions = counted  # type: ignore[method-assign]
    calls: list[dict[str, Any]] = [
        {"stateMachineArn": standard, "name": "one", "input": '{"n":1}'},
        {"stateMachineArn": standard, "name": "taken", "input": '{"a":1}'},  # the same start
        {"stateMachineArn": standard, "name": "taken", "input": '{"a":2}'},  # another input
        {"stateMachineArn": standard + "-missing"},
        {"stateMachineArn": express, "name": "fast"},
        {"stateMachineArn": standard, "name": "two"},
        {"stateMachineArn": standard, "name": "one", "input": '{"n":9}'},  # one's name again
    ]
    answers = engine.batched["StartExecution"](calls)
    assert commits == [5]  # the Standard starts that got as far, in one call
    errors = [a.code if isinstance(a, ServiceError) else None for a in answers]
    assert errors == [
        None,
        None,
        "ExecutionAlreadyExists",
        "StateMachineDoesNotExist",
        None,
        None,
        "ExecutionAlreadyExists",
    ]
    arns = [a["executionArn"] for a in answers if isinstance(a, dict)]
    assert [arn.rsplit(":", 1)[-1] for arn in arns[:2]] == ["one", "taken"]
    assert ":express:" in arns[2] and arns[3].endswith(":two")
    one = engine.describe_execution(executionArn=arns[0])
    assert one["status"] == "RUNNING" and one["input"] == '{"n":1}'
    history = engine.get_execution_history(executionArn=arns[3])["events"]
    assert [e["type"] for e in history] == ["ExecutionStarted", "WaitStateEntered"]
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=arns[3])["status"] == "SUCCEEDED"


def test_a_read_only_engine_batches_nothing(store_url: str) -> None:
    engine = Engine.open(store_url, clock=VirtualClock(), read_only=True)
    try:
        assert "StartExecution" not in engine.batched
    finally:
        engine.close()
