"""Test cases of a mock file through the Engine: ``StartExecution`` on ``arn#TestCase``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine
from stepfn.testing import parse_mock_config
from stepfn.testing.history import state_output, states_entered

DATA = Path(__file__).with_name("data")
AWS_FILE = DATA / "MockConfigFile.json"
DEFINITION = (DATA / "LambdaSQSIntegration.asl.json").read_text(encoding="utf-8")
ROLE = "arn:aws:iam::123456789012:role/test"


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine.open("memory://", clock=VirtualClock(), mock_config=AWS_FILE)
    try:
        yield engine
    finally:
        engine.close()


def run(engine: Engine, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    started = engine.start_execution(stateMachineArn=arn, input='{"data": "x"}')
    engine.run_until_idle()
    execution = started["executionArn"]
    events = engine.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return engine.describe_execution(executionArn=execution), events


def test_start_execution_on_a_test_case_runs_its_mocks(engine: Engine) -> None:
    sm = engine.create_state_machine(
        name="LambdaSQSIntegration", definition=DEFINITION, roleArn=ROLE
    )["stateMachineArn"]
    described, events = run(engine, sm + "#RetryPath")
    assert described["status"] == "SUCCEEDED"
    assert described["stateMachineArn"] == sm  # the test case is not part of the ARN
    assert json.loads(described["output"])["MessageId"].startswith("3bcb6e8e")
    assert [e["type"] for e in events].count("TaskFailed") == 3
    assert state_output(events, "LambdaState")["Payload"]["body"] == "Hello from Lambda!"
    # Without a test case the same machine calls for real (nothing handles Lambda here).
    plain, _ = run(engine, sm)
    assert plain["status"] == "FAILED"


def test_an_unknown_test_case_is_refused_at_start(engine: Engine) -> None:
    sm = engine.create_state_machine(
        name="LambdaSQSIntegration", definition=DEFINITION, roleArn=ROLE
    )["stateMachineArn"]
    with pytest.raises(ServiceError, match="no test case 'Nope'") as info:
        engine.start_execution(stateMachineArn=sm + "#Nope")
    assert info.value.code == "ValidationException"
    other = engine.create_state_machine(name="Other", definition=DEFINITION, roleArn=ROLE)
    with pytest.raises(ServiceError, match="no state machine 'Other'"):
        engine.start_execution(stateMachineArn=other["stateMachineArn"] + "#HappyPath")


def test_an_engine_without_a_mock_file_says_what_is_missing() -> None:
    with Engine.open("memory://", clock=VirtualClock()) as plain:
        sm = plain.create_state_machine(name="M", definition=DEFINITION, roleArn=ROLE)
        with pytest.raises(ServiceError, match="needs a mock configuration") as info:
            plain.start_execution(stateMachineArn=sm["stateMachineArn"] + "#HappyPath")
        assert info.value.code == "StateMachineDoesNotExist"


MOCKS = parse_mock_config(
    {
        "StateMachines": {
            "Flow": {"TestCases": {"All": {"Work": "Done", "Wait": "Done", "Sync": "Done"}}}
        },
        "MockedResponses": {"Done": {"0": {"Return": {"done": True}}}},
    }
)
FLOW = json.dumps(
    {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:us-east-1:123456789012:activity:review",
                "ResultPath": "$.work",
                "Next": "Wait",
            },
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 60,
                "ResultPath": "$.wait",
                "Next": "Sync",
            },
            "Sync": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x"},
                "ResultPath": "$.sync",
                "End": True,
            },
        },
    }
)


def test_activities_callbacks_and_sync_tasks_are_answered_by_the_mock() -> None:
    with Engine.open("memory://", clock=VirtualClock(), mock_config=MOCKS) as engine:
        activity = engine.create_activity(name="review")["activityArn"]
        sm = engine.create_state_machine(name="Flow", definition=FLOW, roleArn=ROLE)
        described, events = run(engine, sm["stateMachineArn"] + "#All")
        assert described["status"] == "SUCCEEDED", described
        assert states_entered(events) == ["Work", "Wait", "Sync"]
        assert "ActivitySucceeded" in [e["type"] for e in events]
        done = {"done": True}
        assert json.loads(described["output"]) == {
            "data": "x",
            "work": done,
            "wait": done,
            "sync": done,
        }
        # The mocked activity was never offered to activity workers.
        assert not engine.get_activity_task(activityArn=activity).get("taskToken")


def test_express_executions_run_test_cases_too(engine: Engine) -> None:
    sm = engine.create_state_machine(
        name="LambdaSQSIntegration", definition=DEFINITION, roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    result = engine.start_sync_execution(stateMachineArn=sm + "#HappyPath", input="{}")
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"])["MessageId"].startswith("3bcb6e8e-8b51")
