"""A Task's ``Credentials``: its calls are made as the role, through STS AssumeRole on the
routed STS endpoint (moto's server here), cached until near expiry; a refused AssumeRole
fails the Task."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import stepfn
from moto_server import MotoServer
from stepfn.tasks.base import TaskOutcome, TaskRequest
from stepfn.tasks.credentials import (
    AssumedRoles,
    AssumeRoleRefused,
    loaded_payload,
    session_name,
    stored_payload,
)
from stepfn.tasks.routing import Route

ROLE = "arn:aws:iam::123456789012:role/target"
WHO_AM_I = "arn:aws:states:::aws-sdk:sts:getCallerIdentity"


def identity_task(credentials: dict[str, Any] | None, jsonata: bool = False) -> dict[str, Any]:
    """A machine whose Task asks STS who is calling (moto answers with the caller's ARN)."""
    state: dict[str, Any] = {"Type": "Task", "Resource": WHO_AM_I, "End": True}
    if jsonata:
        state["Arguments"] = {}
    else:
        state["Parameters"] = {}
    if credentials is not None:
        state["Credentials"] = credentials
    definition: dict[str, Any] = {"StartAt": "Who", "States": {"Who": state}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


def routing(moto: MotoServer) -> dict[str, Any]:
    return {"routes": [{"resource": "arn:aws:states:::*", "endpoint_url": moto.url}]}


# --- what the interpreter gives the adapter -------------------------------------------------


class Recorder:
    """An adapter that keeps the requests it gets."""

    def __init__(self) -> None:
        self.requests: list[TaskRequest] = []

    def handles(self, resource: str) -> bool:
        return True

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        self.requests.append(request)
        return TaskOutcome.success({})


@pytest.mark.parametrize(
    ("credentials", "jsonata"),
    [
        ({"RoleArn": ROLE}, False),
        ({"RoleArn.$": "$.role"}, False),
        ({"RoleArn.$": "States.Format('{}', $.role)"}, False),
        ({"RoleArn": "{% $states.input.role %}"}, True),
    ],
)
def test_the_role_reaches_the_adapter_and_task_scheduled(
    credentials: dict[str, Any], jsonata: bool
) -> None:
    recorder = Recorder()
    routes = {"routes": [{"resource": "*", "adapter": recorder}]}
    ex = stepfn.run(identity_task(credentials, jsonata), {"role": ROLE}, routing=routes)
    assert ex.status == "SUCCEEDED", ex.cause
    assert [request.role_arn for request in recorder.requests] == [ROLE]
    scheduled = next(e for e in ex.history if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["taskCredentials"] == {"roleArn": ROLE}


def test_a_task_without_credentials_has_no_role() -> None:
    recorder = Recorder()
    routes = {"routes": [{"resource": "*", "adapter": recorder}]}
    ex = stepfn.run(identity_task(None), {}, routing=routes)
    assert ex.status == "SUCCEEDED", ex.cause
    assert recorder.requests[0].role_arn is None
    scheduled = next(e for e in ex.history if e["type"] == "TaskScheduled")
    assert "taskCredentials" not in scheduled["taskScheduledEventDetails"]


def test_a_role_arn_that_is_not_a_string_fails_the_state() -> None:
    ex = stepfn.run(identity_task({"RoleArn.$": "$.role"}), {"role": 7})
    assert ex.status == "FAILED"
    assert ex.error == "States.Runtime"
    assert "'RoleArn' must be a non-empty string" in (ex.cause or "")
    assert "TaskScheduled" not in [e["type"] for e in ex.history]


def test_a_task_row_keeps_its_role_with_its_payload() -> None:
    assert loaded_payload(stored_payload({"a": 1}, ROLE)) == ({"a": 1}, ROLE)
    assert loaded_payload(stored_payload({"a": 1}, None)) == ({"a": 1}, None)
    assert stored_payload([1], None) == "[1]"


def test_session_names_are_what_sts_takes() -> None:
    assert session_name("Orders v2") == "Orders-v2"
    assert session_name("x") == "x-"
    assert len(session_name("n" * 80)) == 64


# --- the cache ----------------------------------------------------------------------------


class FakeSts:
    """STS's AssumeRole answering with credentials that expire in an hour of ``clock``."""

    def __init__(self, clock: list[float], refuse: bool = False) -> None:
        self.clock = clock
        self.refuse = refuse
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.refuse:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDenied", "Message": "not authorized"},
                    "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": "req-1"},
                },
                "AssumeRole",
            )
        n = len(self.calls)
        expires = dt.datetime.fromtimestamp(self.clock[0] + 3600, tz=dt.UTC)
        return {
            "Credentials": {
                "AccessKeyId": f"AK{n}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": expires,
            }
        }


def test_credentials_are_kept_until_near_expiry() -> None:
    clock = [1_000_000.0]
    sts = FakeSts(clock)
    roles = AssumedRoles(lambda region: sts, lambda: clock[0])
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
    first = roles.credentials(ROLE, machine, "Orders", "us-east-1")
    assert roles.credentials(ROLE, machine, "Orders", "us-east-1") is first
    clock[0] += 3600 - 301  # still more than five minutes to go
    assert roles.credentials(ROLE, machine, "Orders", "us-east-1") is first
    clock[0] += 2  # now within five minutes of the expiry: asked again
    assert roles.credentials(ROLE, machine, "Orders", "us-east-1").access_key_id == "AK2"
    assert len(sts.calls) == 2
    assert sts.calls[0] == {
        "RoleArn": ROLE,
        "RoleSessionName": "Orders",
        "ExternalId": machine,
        "DurationSeconds": 3600,
    }


def test_a_refused_assume_role_is_a_task_failure() -> None:
    roles = AssumedRoles(lambda region: FakeSts([0.0], refuse=True), lambda: 0.0)
    with pytest.raises(AssumeRoleRefused) as caught:
        roles.credentials(ROLE, "arn:sm", "sm", "us-east-1")
    assert caught.value.outcome.error == "States.TaskFailed"
    assert caught.value.outcome.cause == (
        "not authorized (Service: AWSSecurityTokenService; Status Code: 403; "
        "Error Code: AccessDenied; Request ID: req-1; Proxy: null)"
    )


def test_an_unrouted_sts_fails_the_task_saying_how_to_route_it(moto: MotoServer) -> None:
    # Only SQS is routed: the AssumeRole has nowhere to go.
    routes = {
        "routes": [
            {"resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "endpoint_url": moto.url}
        ]
    }
    ex = stepfn.run(identity_task({"RoleArn": ROLE}), {}, routing=routes)
    assert ex.status == "FAILED"
    assert ex.error == "States.TaskFailed"
    assert "AWS_ENDPOINT_URL_STS" in (ex.cause or "")


# --- against moto's server --------------------------------------------------------------------


@pytest.mark.integration
def test_the_call_is_made_as_the_assumed_role(moto: MotoServer) -> None:
    ex = stepfn.run(identity_task({"RoleArn": ROLE}), {}, routing=routing(moto))
    assert ex.status == "SUCCEEDED", ex.cause
    # The session is named after the state machine (stepfn.run's is "stepfn").
    assert ex.output["Arn"] == "arn:aws:sts::123456789012:assumed-role/target/stepfn"
    # Without Credentials the same call is made as the caller's own identity.
    plain = stepfn.run(identity_task(None), {}, routing=routing(moto))
    assert plain.status == "SUCCEEDED", plain.cause
    assert "assumed-role/target" not in plain.output["Arn"]


@pytest.mark.integration
def test_an_optimized_integration_runs_as_the_role_and_one_assume_role_serves_many(
    moto: MotoServer,
) -> None:
    from stepfn.tasks.aws_calls import AwsClients
    from stepfn.tasks.optimized import OptimizedTasks
    from stepfn.tasks.routing import Routing

    sqs = boto3.client("sqs", endpoint_url=moto.url, region_name="us-east-1")
    url = sqs.create_queue(QueueName="as-role")["QueueUrl"]
    routes = Routing([Route("arn:aws:states:::*", moto.url)])
    clients = AwsClients(routes)
    adapter = OptimizedTasks(routes, clients)
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": url, "MessageBody.$": "$"},
        "Credentials": {"RoleArn": ROLE},
        "End": True,
    }
    definition = {"StartAt": "Send", "States": {"Send": state}}
    registry_routes = {"routes": [{"resource": "arn:aws:states:::sqs:*", "adapter": adapter}]}
    for n in range(3):
        ex = stepfn.run(definition, {"n": n}, routing=registry_routes)
        assert ex.status == "SUCCEEDED", ex.cause
    assert clients.roles.calls == 1
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    bodies = [message["Body"] for message in received]
    assert sorted(bodies) == ['{"n":0}', '{"n":1}', '{"n":2}']


@pytest.fixture
def enforcing_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MotoServer, Any]]:
    """A moto server that checks IAM: the caller is a user allowed SQS only (not
    sts:AssumeRole), whose keys are the process's credentials."""
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3")
    server = MotoServer().start()
    try:
        iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1")
        iam.create_user(UserName="sfn")
        key = iam.create_access_key(UserName="sfn")["AccessKey"]
        allow_sqs = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="sfn", PolicyName="p", PolicyDocument=json.dumps(allow_sqs))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        yield server, key
    finally:
        server.stop()


@pytest.mark.integration
def test_a_refused_assume_role_fails_the_task(enforcing_moto: tuple[MotoServer, Any]) -> None:
    server, _key = enforcing_moto
    ex = stepfn.run(identity_task({"RoleArn": ROLE}), {}, routing=routing(server))
    assert ex.status == "FAILED"
    assert ex.error == "States.TaskFailed"
    assert "sts:AssumeRole" in (ex.cause or "")
    assert "(Service: AWSSecurityTokenService; Status Code: 403; Error Code: AccessDenied;" in (
        ex.cause or ""
    )
    failed = [e for e in ex.history if e["type"] == "TaskFailed"]
    assert len(failed) == 1
    # The same user's own call (no Credentials) is allowed: it was the role that was refused.
    plain = stepfn.run(identity_task(None), {}, routing=routing(server))
    assert plain.status == "SUCCEEDED", plain.cause


class Silent:
    """An adapter that takes a task and never answers (its server is about to go)."""

    def handles(self, resource: str) -> bool:
        return True

    def start(self, request: TaskRequest, done: Any) -> Any:
        from stepfn.tasks.base import NOT_CANCELLABLE

        return NOT_CANCELLABLE


@pytest.mark.integration
def test_a_task_dispatched_again_after_a_restart_runs_as_the_same_role(
    tmp_path: Any, moto: MotoServer
) -> None:
    from stepfn.clock import VirtualClock
    from stepfn.service.engine import Engine

    path = str(tmp_path / "roles.db")
    clock = VirtualClock()
    first = Engine.open(
        path, clock=clock, routing={"routes": [{"resource": "*", "adapter": Silent()}]}
    )
    machine = first.create_state_machine(
        name="Orders",
        definition=json.dumps(identity_task({"RoleArn.$": "$.role"})),
        roleArn="arn:aws:iam::123456789012:role/stepfn",
    )["stateMachineArn"]
    arn = first.start_execution(stateMachineArn=machine, input=json.dumps({"role": ROLE}))[
        "executionArn"
    ]
    # Started and dispatched (to an adapter that never answers): RUNNING when it stops.
    assert first.describe_execution(executionArn=arn)["status"] == "RUNNING"
    first.close()
    second = Engine.open(path, clock=clock, routing=routing(moto))
    try:
        second.run_until_idle()  # recovery dispatches the task again, then it ends
        done = second.describe_execution(executionArn=arn)
        assert done["status"] == "SUCCEEDED", done.get("cause")
        assert json.loads(done["output"])["Arn"].endswith(":assumed-role/target/Orders")
        events = second.get_execution_history(executionArn=arn)["events"]
        scheduled = next(e for e in events if e["type"] == "TaskScheduled")
        assert scheduled["taskScheduledEventDetails"]["taskCredentials"] == {"roleArn": ROLE}
    finally:
        second.close()
