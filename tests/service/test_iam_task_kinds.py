"""The role's policies checked for every kind of Task (``service/iam_tasks.py``): what each
needs of the role, how a refusal reads (the integration's own AccessDenied shape), and an
execution failing with that error in its history."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.interp.context import execution_info
from stepfn.service.engine import Engine
from stepfn.service.iam_tasks import Need, needs
from stepfn.tasks.base import TaskRequest

pytestmark = pytest.mark.unit

ACCOUNT, REGION = "123456789012", "us-east-1"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
QUEUE_URL = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders"
QUEUE = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
CHILD = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Child"


def request(resource: str, payload: Any, role_arn: str | None = None) -> TaskRequest:
    info = execution_info("run-1", {}, 0.0, state_machine_name="Parent", role_arn=role_arn)
    return TaskRequest("token", resource, payload, "Call", info)


def needed(resource: str, payload: Any) -> list[Need]:
    found = needs(request(resource, payload))
    assert found is not None
    return found[0]


@pytest.mark.parametrize(
    ("resource", "payload", "expected"),
    [
        (
            "arn:aws:states:::sqs:sendMessage",
            {"QueueUrl": QUEUE_URL, "MessageBody": "x"},
            [Need("sqs:SendMessage", QUEUE)],
        ),
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            {"QueueUrl": f"http://localhost:4566/{ACCOUNT}/orders", "MessageBody": "x"},
            [Need("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders")],
        ),
        (
            "arn:aws:states:::sns:publish",
            {"TopicArn": TOPIC, "Message": "x"},
            [Need("sns:Publish", TOPIC)],
        ),
        (
            "arn:aws:states:::dynamodb:putItem",
            {"TableName": "Orders", "Item": {}},
            [Need("dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders")],
        ),
        (
            "arn:aws:states:::events:putEvents",
            {"Entries": [{"Detail": {}}, {"EventBusName": "orders"}]},
            [
                Need("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"),
                Need("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"),
            ],
        ),
        (
            "arn:aws:states:::states:startExecution",
            {"StateMachineArn": CHILD, "Input": {}},
            [Need("states:StartExecution", CHILD)],
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            {"StateMachineArn": CHILD, "Name": "c-1"},
            [
                Need("states:StartExecution", CHILD),
                Need(
                    "states:DescribeExecution",
                    f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Child:c-1",
                ),
                Need(
                    "states:StopExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Child:c-1"
                ),
                *(
                    Need(
                        f"events:{action}",
                        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/"
                        "StepFunctionsGetEventsForStepFunctionsExecutionRule",
                    )
                    for action in ("PutTargets", "PutRule", "DescribeRule")
                ),
            ],
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"Bucket": "reports", "Key": "2026/12.csv"},
            [Need("s3:GetObject", "arn:aws:s3:::reports/2026/12.csv")],
        ),
        (
            "arn:aws:states:::aws-sdk:sfn:describeExecution",
            {"ExecutionArn": "arn:aws:states:us-east-1:1:execution:M:e"},
            [Need("states:DescribeExecution", "arn:aws:states:us-east-1:1:execution:M:e")],
        ),
        # A resource only the service knows: the action alone is checked.
        (
            "arn:aws:states:::aws-sdk:ec2:describeInstances",
            {},
            [Need("ec2:DescribeInstances", None)],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("arn:") else None,
)
def test_what_each_task_kind_needs_of_its_role(
    resource: str, payload: Any, expected: list[Need]
) -> None:
    assert needed(resource, payload) == expected


def test_an_activity_needs_nothing_of_the_role() -> None:
    assert needs(request(f"arn:aws:states:{REGION}:{ACCOUNT}:activity:approve", {})) is None


# -- enforcement through the Engine's registry --------------------------------------------


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine.open("memory://", clock=VirtualClock())
    try:
        yield engine
    finally:
        engine.close()


def role(engine: Engine, name: str, *statements: dict[str, Any]) -> str:
    arn: str = engine.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    if statements:
        document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
        engine.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document)
    return arn


def refusal(engine: Engine, resource: str, payload: Any, role_arn: str) -> Any:
    return engine.registry.refusal(request(resource, payload, role_arn))  # type: ignore[attr-defined]


SQS = "arn:aws:states:::sqs:sendMessage"
SEND = {"QueueUrl": QUEUE_URL, "MessageBody": "x"}


def test_a_queue_the_policy_names_is_allowed_another_is_refused(engine: Engine) -> None:
    arn = role(
        engine, "sender", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE}
    )
    assert refusal(engine, SQS, SEND, arn) is None
    other = {"QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/audit", "MessageBody": "x"}
    refused = refusal(engine, SQS, other, arn)
    assert refused.error == "SQS.AmazonSQSException"
    assert refused.cause.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/sender/stepfn-session is not authorized "
        f"to perform: sqs:sendmessage on resource: arn:aws:sqs:eu-west-1:{ACCOUNT}:audit "
        "because no identity-based policy allows the sqs:sendmessage action (Service: "
        "AmazonSQS; Status Code: 403; Error Code: AccessDenied; Request ID: "
    )


@pytest.mark.parametrize(
    ("resource", "payload", "error", "says"),
    [
        (
            "arn:aws:states:::sns:publish",
            {"TopicArn": TOPIC, "Message": "x"},
            "SNS.AuthorizationErrorException",
            "perform: sns:Publish on resource: " + TOPIC,
        ),
        (
            "arn:aws:states:::dynamodb:getItem",
            {"TableName": "Orders", "Key": {}},
            "DynamoDB.AmazonDynamoDBException",
            "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: AccessDeniedException;",
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            {"StateMachineArn": CHILD},
            "StepFunctions.AWSStepFunctionsException",
            f"perform: states:StartExecution on resource: {CHILD} because",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:putObject",
            {"Bucket": "reports", "Key": "k", "Body": "x"},
            "S3.S3Exception",
            "Access Denied (Service: S3, Status Code: 403, Request ID: ",
        ),
        (
            "arn:aws:states:::aws-sdk:dynamodb:query",
            {"TableName": "Orders"},
            "DynamoDb.DynamoDbException",
            "perform: dynamodb:Query on resource: "
            "arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
        ),
    ],
)
def test_a_role_without_the_permission_is_refused_as_the_service_refuses(
    engine: Engine, resource: str, payload: Any, error: str, says: str
) -> None:
    arn = role(
        engine, "nothing-but-lambda", {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}
    )
    refused = refusal(engine, resource, payload, arn)
    assert refused is not None and refused.error == error
    assert says in refused.cause


def test_a_nested_sync_execution_needs_the_events_rule_too(engine: Engine) -> None:
    start_only = role(
        engine, "starter", {"Effect": "Allow", "Action": "states:StartExecution", "Resource": CHILD}
    )
    sync = "arn:aws:states:::states:startExecution.sync:2"
    assert (
        refusal(
            engine, "arn:aws:states:::states:startExecution", {"StateMachineArn": CHILD}, start_only
        )
        is None
    )
    refused = refusal(engine, sync, {"StateMachineArn": CHILD}, start_only)
    assert "perform: states:DescribeExecution on resource: " in refused.cause
    full = role(
        engine,
        "sync-starter",
        {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": CHILD},
        {
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Resource": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Child:*",
        },
        {
            "Effect": "Allow",
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/"
            "StepFunctionsGetEventsForStepFunctionsExecutionRule",
        },
    )
    assert refusal(engine, sync, {"StateMachineArn": CHILD}, full) is None


def test_an_sdk_call_on_a_resource_only_the_service_knows(engine: Engine) -> None:
    describe = "arn:aws:states:::aws-sdk:ec2:describeInstances"
    scoped = role(
        engine,
        "scoped",
        {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "arn:aws:ec2:*:*:instance/*"},
    )
    assert refusal(engine, describe, {}, scoped) is None  # AWS might allow it: not refused
    denied = role(
        engine,
        "denied",
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ec2:DescribeInstances", "Resource": "*"},
    )
    assert refusal(engine, describe, {}, denied).error == "Ec2.Ec2Exception"
    assert refusal(engine, describe, {}, role(engine, "none")).error == "Ec2.Ec2Exception"


def test_an_activity_runs_for_a_role_with_no_policy(engine: Engine) -> None:
    activity = engine.create_activity(name="approve")["activityArn"]
    assert refusal(engine, activity, {}, role(engine, "no-policy")) is None


def test_the_refusal_is_in_the_history_as_the_tasks_failure(engine: Engine) -> None:
    arn = role(
        engine, "quiet", {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}
    )
    definition = {
        "StartAt": "Notify",
        "States": {
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": TOPIC, "Message": "order shipped"},
                "End": True,
            }
        },
    }
    machine = engine.create_state_machine(
        name="notifier", definition=json.dumps(definition), roleArn=arn
    )["stateMachineArn"]
    execution = engine.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + 30
    while engine.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        engine.run_until_idle()
    described = engine.describe_execution(executionArn=execution)
    assert (described["status"], described["error"]) == (
        "FAILED",
        "SNS.AuthorizationErrorException",
    )
    events = engine.get_execution_history(executionArn=execution)["events"]
    [failed] = [e for e in events if e["type"] == "TaskFailed"]
    details = failed["taskFailedEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("sns", "publish")
    assert details["error"] == "SNS.AuthorizationErrorException"
    assert "is not authorized to perform: sns:Publish on resource: " + TOPIC in details["cause"]
    assert (
        "(Service: AmazonSNS; Status Code: 403; Error Code: AuthorizationError;" in details["cause"]
    )
