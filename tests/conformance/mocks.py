"""Mocked answers for the ``local_mocking`` cases, as a Step Functions Local mock file.

LocalStack recorded these cases against AWS with real services; its own runs answer
the same tasks from a mock configuration. Here each case's mock configuration is made
from its recording: a table says, per Task state, where in AWS's recorded result the
state's answer lies (its ResultPath), and the configuration returns that (or throws the
recorded error). The case then runs as test case ``Recorded`` of the state machine
``stepfn`` (the name ``stepfn.run`` gives), so what is compared with AWS is what the
interpreter makes of mocked answers: the data flow, the events, Retry and Catch.
"""

from __future__ import annotations

import copy
from typing import Any

from stepfn.testing import MockConfig, parse_mock_config

from .cases import Case

STATE_MACHINE = "stepfn"
TEST_CASE = "Recorded"
TARGET = f"{STATE_MACHINE}#{TEST_CASE}"

# case id -> state -> ("return", path into the recorded output) or ("throw", path to an
# {"Error", "Cause"} object in it); a list gives one answer per invocation.
PLANS: dict[str, dict[str, Any]] = {
    "local_mocking/dynamodb_put_get_item": {
        "PutItem": ("return", "putItemOutput"),
        "GetItem": ("return", "getItemOutput"),
    },
    "local_mocking/events_put_events": {"PutEvents": ("return", "")},
    "local_mocking/sns_publish_base": {"Publish": ("return", "")},
    "local_mocking/sqs_send_message": {"SendSQS": ("return", "")},
    "local_mocking/sfn_start_execution_sync-SFN_SYNC2": {"StartExecution": ("return", "")},
    "local_mocking/sqs_wait_for_task_token": {"SendMessageWithWait": ("return", "")},
    "local_mocking/sqs_wait_for_task_token_task_failure": {
        "SendMessageWithWait": ("throw", "states_all_error")
    },
    # Numbered answers: the loop runs until the second invocation says "completed".
    "local_mocking/numbered_mock_responses_multiple_success_invocations": {
        "LambdaState": [("return-running", ""), ("return", "")]
    },
}


def has_plan(case: Case) -> bool:
    """Whether the case runs on mocked answers (its service needs are then met)."""
    return case.id in PLANS


def mock_config_for(case: Case) -> MockConfig | None:
    """The case's mock configuration, or None when its tasks run for real."""
    plan = PLANS.get(case.id)
    if plan is None:
        return None
    output = case.data["expected"].get("output")
    states: dict[str, str] = {}
    responses: dict[str, Any] = {}
    for state, answers in plan.items():
        answers = answers if isinstance(answers, list) else [answers]
        name = f"{state}Answer"
        states[state] = name
        responses[name] = {
            str(n): _answer(kind, path, output) for n, (kind, path) in enumerate(answers)
        }
    raw = {
        "StateMachines": {STATE_MACHINE: {"TestCases": {TEST_CASE: states}}},
        "MockedResponses": responses,
    }
    return parse_mock_config(raw, f"<mocks of {case.id}>")


def _answer(kind: str, path: str, output: Any) -> dict[str, Any]:
    value = copy.deepcopy(output)
    for key in filter(None, path.split(".")):
        value = value[key]
    if kind == "throw":
        return {"Throw": {"Error": value["Error"], "Cause": value["Cause"]}}
    if kind == "return-running":
        value["Payload"]["status"] = "running"
    return {"Return": value}
