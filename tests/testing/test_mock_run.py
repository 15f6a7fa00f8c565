"""Running test cases of a mock configuration with ``stepfn.run``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

import stepfn
from stepfn.durable.local import run as run_local
from stepfn.tasks.base import Registry, TaskOutcome, TaskRequest
from stepfn.testing import MockConfigError, parse_mock_config
from stepfn.testing.history import state_input, state_output, states_entered

DATA = Path(__file__).with_name("data")
AWS_FILE = DATA / "MockConfigFile.json"
DEFINITION = json.loads((DATA / "LambdaSQSIntegration.asl.json").read_text(encoding="utf-8"))
HELLO = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_ANSWER = {
    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
}


def types(ex: stepfn.Execution) -> list[str]:
    return [e["type"] for e in ex.history]


def test_happy_path_answers_both_states_from_the_file() -> None:
    ex = stepfn.run(DEFINITION, {"data": "x"}, mock_config=AWS_FILE, test_case="HappyPath")
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == SQS_ANSWER
    assert state_output(ex.history, "LambdaState") == HELLO
    assert state_input(ex.history, "SQSState") == HELLO
    assert states_entered(ex.history) == ["LambdaState", "SQSState"]
    # The same events as real calls: scheduled, started, succeeded, per task.
    assert types(ex).count("TaskScheduled") == 2 and types(ex).count("TaskSucceeded") == 2
    assert ":LambdaSQSIntegration:" in ex.execution_arn


def test_retry_path_fails_three_times_then_succeeds() -> None:
    ex = stepfn.run(
        DEFINITION, {"data": "x"}, mock_config=AWS_FILE, test_case="LambdaSQSIntegration#RetryPath"
    )
    assert ex.status == "SUCCEEDED", ex.cause
    failed = [e["taskFailedEventDetails"]["error"] for e in ex.history if e["type"] == "TaskFailed"]
    assert failed == [
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
    ]
    assert state_output(ex.history, "LambdaState") == HELLO
    # Retries back off 2, 4 and 8 seconds of simulated time.
    started = [e["timestamp"] for e in ex.history if e["type"] == "TaskScheduled"]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(started)]
    assert gaps[:3] == [2.0, 4.0, 8.0]


class RecordingSqs:
    """An in-process stand-in for SQS that keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def handles(self, resource: str) -> bool:
        return resource == "arn:aws:states:::sqs:sendMessage"

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        self.sent.append(request.payload)
        return TaskOutcome.success({"MessageId": f"real-{len(self.sent)}"})


def test_hybrid_path_calls_the_states_it_does_not_mock() -> None:
    sqs = RecordingSqs()
    ex = run_local(
        DEFINITION,
        {"data": "x"},
        registry=Registry([sqs]),
        mock_config=AWS_FILE,
        test_case="HybridPath",
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"MessageId": "real-1"}
    assert sqs.sent == [
        {"QueueUrl": "https://sqs.us-east-2.amazonaws.com/account-id/myQueue", "MessageBody": HELLO}
    ]


RANGED = parse_mock_config(
    {
        "StateMachines": {
            "M": {
                "TestCases": {
                    "Flaky": {"Call": "TwoFailures"},
                    "Short": {"Call": "OneAnswer"},
                    "Callback": {"Wait": "Approved"},
                    "Activity": {"Work": "Approved"},
                    "Sync": {"Child": "Approved"},
                    "Sdk": {"Get": "Approved"},
                    "Inner": {"Item": "PerItem", "Left": "Approved"},
                    "Rejected": {"Wait": "Rejected"},
                    "NoState": {"Nowhere": "Approved"},
                    "NotTask": {"Done": "Approved"},
                }
            }
        },
        "MockedResponses": {
            "TwoFailures": {
                "0-1": {"Throw": {"Error": "Boom", "Cause": "try again"}},
                "2": {"Return": {"ok": True}},
            },
            "OneAnswer": {"0": {"Throw": {"Error": "Boom", "Cause": "once"}}},
            "Approved": {"0": {"Return": {"approved": True}}},
            "Rejected": {"0": {"Throw": {"Error": "Rejected", "Cause": "no"}}},
            "PerItem": {"0": {"Return": "a"}, "1": {"Return": "b"}, "2": {"Return": "c"}},
        },
    },
    "ranged.json",
)


def retrying(resource: str) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": resource,
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Result": "caught", "End": True},
        },
    }


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:flaky",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::aws-sdk:dynamodb:getItem",
    ],
)
def test_a_retry_over_ranged_throws_succeeds_on_the_third_attempt(resource: str) -> None:
    ex = stepfn.run(retrying(resource), {}, mock_config=RANGED, test_case="M#Flaky")
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"ok": True}
    assert states_entered(ex.history) == ["Call"]  # never the Catch
    fails = [t for t in types(ex) if t.endswith("Failed")]
    assert len(fails) == 2


def test_an_invocation_without_an_answer_fails_the_execution_clearly() -> None:
    ex = stepfn.run(
        retrying("arn:aws:states:::lambda:invoke"), {}, mock_config=RANGED, test_case="Short"
    )
    assert ex.status == "FAILED"
    assert ex.error == "States.Runtime"
    assert "no answer for invocation 1 of state 'Call'" in (ex.cause or "")
    assert "'OneAnswer'" in (ex.cause or "")


def one_task(name: str, resource: str, jsonata: bool = False) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if jsonata:
        state["Arguments"] = {"token": "{% $states.context.Task.Token %}"}
        state["Output"] = "{% $states.result.approved %}"
    else:
        state["Parameters"] = {"token.$": "$$.Task.Token"}
    machine: dict[str, Any] = {"StartAt": name, "States": {name: state}}
    if jsonata:
        machine["QueryLanguage"] = "JSONata"
    return machine


@pytest.mark.parametrize("jsonata", [False, True])
def test_a_callback_task_gets_its_mocked_answer(jsonata: bool) -> None:
    machine = one_task("Wait", "arn:aws:states:::sqs:sendMessage.waitForTaskToken", jsonata)
    ex = stepfn.run(machine, {}, mock_config=RANGED, test_case="Callback")
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == (True if jsonata else {"approved": True})
    scheduled = next(e for e in ex.history if e["type"] == "TaskScheduled")
    token = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["token"]
    assert len(token) > 10  # a token was made, as Step Functions Local makes one


def test_a_mocked_throw_goes_to_the_catch_of_a_callback() -> None:
    machine = one_task("Wait", "arn:aws:states:::sqs:sendMessage.waitForTaskToken")
    ex = stepfn.run(machine, {}, mock_config=RANGED, test_case="Rejected")
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "Rejected", "no")


def test_activities_and_sync_integrations_are_mocked() -> None:
    activity = one_task("Work", "arn:aws:states:us-east-1:123456789012:activity:review")
    ex = stepfn.run(activity, {}, mock_config=RANGED, test_case="Activity")
    assert ex.status == "SUCCEEDED", ex.cause
    assert "ActivitySucceeded" in types(ex)
    sync = one_task("Child", "arn:aws:states:::states:startExecution.sync:2")
    ex = stepfn.run(sync, {}, mock_config=RANGED, test_case="Sync")
    assert (ex.status, ex.output) == ("SUCCEEDED", {"approved": True})


def test_tasks_inside_map_and_parallel_are_mocked_per_invocation() -> None:
    machine = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "MaxConcurrency": 1,
                                "ItemProcessor": {
                                    "StartAt": "Item",
                                    "States": {
                                        "Item": {
                                            "Type": "Task",
                                            "Resource": "arn:aws:states:::lambda:invoke",
                                            "End": True,
                                        }
                                    },
                                },
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "Left",
                        "States": {
                            "Left": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                                "End": True,
                            }
                        },
                    },
                ],
                "End": True,
            }
        },
    }
    ex = stepfn.run(machine, [1, 2, 3], mock_config=RANGED, test_case="Inner")
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [["a", "b", "c"], {"approved": True}]


def test_a_test_case_must_name_task_states_of_the_machine() -> None:
    machine = one_task("Wait", "arn:aws:states:::lambda:invoke")
    with pytest.raises(MockConfigError, match="has no state 'Nowhere'"):
        stepfn.run(machine, {}, mock_config=RANGED, test_case="NoState")
    machine["States"]["Wait"].pop("End")
    machine["States"]["Wait"]["Next"] = "Done"
    machine["States"]["Done"] = {"Type": "Pass", "End": True}
    with pytest.raises(MockConfigError, match="only Task states are mocked; this is a Pass"):
        stepfn.run(machine, {}, mock_config=RANGED, test_case="NotTask")
    with pytest.raises(MockConfigError, match="no state machine has a test case 'Absent'"):
        stepfn.run(machine, {}, mock_config=RANGED, test_case="Absent")
