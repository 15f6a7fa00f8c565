"""Execution logs read with a real boto3 ``logs`` client from a real stepfn server.

State machines are created with logging configurations through boto3's Step Functions
client; what they write is read back as AWS users read it (DescribeLogStreams, then
GetLogEvents from the head; FilterLogEvents), and compared with what AWS writes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from stepfn.api.app import Request
from stepfn.api.sigv4 import SigV4
from stepfn.errors import ServiceError

from .helpers import KEY_ID, ROLE, SECRET, Live, finished, unique, wait_for

ON_EVERY_STORE = True  # on SQLite and on PostgreSQL (see conftest.py)

PASS_RESULT = {
    "Comment": "BASE_PASS_RESULT",
    "StartAt": "State_1",
    "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}},
}
RAISE_FAILURE = {
    "StartAt": "FailState",
    "States": {
        "FailState": {
            "Type": "Fail",
            "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure.",
        }
    },
}


@pytest.fixture(scope="module")
def logs(live: Live) -> Any:
    """A boto3 CloudWatch Logs client for the server."""
    return boto3.client(
        "logs",
        endpoint_url=live.url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def error_code(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def logged_machine(
    sfn: Any, logs: Any, definition: dict[str, Any], level: str, data: bool, **kw: Any
) -> tuple[str, str]:
    """A new log group and a state machine logging to it: (machine ARN, group name)."""
    group = unique("/aws/vendedlogs/states/test")
    logs.create_log_group(logGroupName=group)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    machine = sfn.create_state_machine(
        name=unique("logged"),
        definition=json.dumps(definition),
        roleArn=ROLE,
        loggingConfiguration={
            "level": level,
            "includeExecutionData": data,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
        },
        **kw,
    )["stateMachineArn"]
    return machine, group


def stream_events(logs: Any, group: str, count: int) -> list[dict[str, Any]]:
    """What AWS's own tests do: the group's last stream, read from its head, until it has
    ``count`` events; the messages parsed."""

    def read() -> list[dict[str, Any]]:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        if not streams:
            return []
        name = streams[-1]["logStreamName"]
        answer = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)
        return [json.loads(e["message"]) for e in answer["events"]]

    events: list[dict[str, Any]] = wait_for(read, lambda found: len(found) >= count)
    return events


def run_to_end(sfn: Any, machine: str) -> str:
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    finished(sfn, execution)
    return str(execution)


def test_an_express_execution_logs_every_event_as_aws_does(sfn: Any, logs: Any) -> None:
    machine, group = logged_machine(sfn, logs, PASS_RESULT, "ALL", True, type="EXPRESS")
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    events = stream_events(logs, group, 4)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    end = events[-1]
    # The recorded end event of AWS for this machine, its placeholders filled.
    assert set(end) == {
        "id",
        "type",
        "details",
        "previous_event_id",
        "event_timestamp",
        "execution_arn",
        "redrive_count",
    }
    assert (end["id"], end["previous_event_id"], end["redrive_count"]) == ("4", "3", "0")
    assert end["execution_arn"] == execution and ":express:" in execution
    assert re.fullmatch(r"\d{13}", end["event_timestamp"])
    assert abs(int(end["event_timestamp"]) / 1000 - time.time()) < 60
    # The output is JSON text, as in the history (AWS's recording shows it parsed).
    assert isinstance(end["details"]["output"], str)
    assert json.loads(end["details"]["output"]) == {"Arg1": "argument1"}
    assert end["details"]["outputDetails"] == {"truncated": False}
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    name = machine.rsplit(":", 1)[1]
    assert re.fullmatch(
        rf"states/{name}/\d{{4}}-\d\d-\d\d-\d\d-\d\d/[0-9a-f]{{8}}", stream["logStreamName"]
    )


def test_error_level_logs_only_the_failures_of_a_standard_execution(sfn: Any, logs: Any) -> None:
    machine, group = logged_machine(sfn, logs, RAISE_FAILURE, "ERROR", True)
    execution = run_to_end(sfn, machine)
    events = stream_events(logs, group, 2)
    assert [(e["id"], e["type"]) for e in events] == [
        ("2", "FailStateEntered"),
        ("3", "ExecutionFailed"),
    ]
    assert events[0]["details"] == {
        "name": "FailState",
        "input": "{}",
        "inputDetails": {"truncated": False},
    }
    assert events[1]["details"] == {
        "error": "SomeFailure",
        "cause": "This state machines raises a 'SomeFailure' failure.",
    }
    assert {e["execution_arn"] for e in events} == {execution}


def test_fatal_level_logs_only_the_execution_failing(sfn: Any, logs: Any) -> None:
    machine, group = logged_machine(sfn, logs, RAISE_FAILURE, "FATAL", False)
    run_to_end(sfn, machine)
    events = stream_events(logs, group, 1)
    assert [e["type"] for e in events] == ["ExecutionFailed"]
    passing, quiet = logged_machine(sfn, logs, PASS_RESULT, "FATAL", True)
    run_to_end(sfn, passing)
    assert logs.describe_log_streams(logGroupName=quiet)["logStreams"] == []


def test_without_execution_data_inputs_and_outputs_are_left_out(sfn: Any, logs: Any) -> None:
    machine, group = logged_machine(sfn, logs, PASS_RESULT, "ALL", False)
    run_to_end(sfn, machine)
    events = stream_events(logs, group, 4)
    assert [(e["type"], e["details"]) for e in events] == [
        ("ExecutionStarted", {"roleArn": ROLE}),
        ("PassStateEntered", {"name": "State_1"}),
        ("PassStateExited", {"name": "State_1"}),
        ("ExecutionSucceeded", {}),
    ]


def test_logging_off_writes_nothing(sfn: Any, logs: Any) -> None:
    machine, group = logged_machine(sfn, logs, PASS_RESULT, "OFF", True)
    unlogged = sfn.create_state_machine(
        name=unique("plain"), definition=json.dumps(PASS_RESULT), roleArn=ROLE
    )["stateMachineArn"]
    run_to_end(sfn, machine)
    run_to_end(sfn, unlogged)
    assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
    assert logs.filter_log_events(logGroupName=group)["events"] == []


def test_filter_log_events_finds_one_execution_among_many(sfn: Any, logs: Any) -> None:
    machine, group = logged_machine(sfn, logs, PASS_RESULT, "ALL", True)
    executions = [run_to_end(sfn, machine) for _ in range(3)]
    wait_for(lambda: logs.filter_log_events(logGroupName=group)["events"], lambda e: len(e) == 12)
    quoted = json.dumps(f'"execution_arn":"{executions[1]}"')
    found = logs.filter_log_events(logGroupName=group, filterPattern=quoted)["events"]
    assert [json.loads(e["message"])["id"] for e in found] == ["1", "2", "3", "4"]
    paginator = logs.get_paginator("filter_log_events")
    pages = list(paginator.paginate(logGroupName=group, PaginationConfig={"PageSize": 5}))
    assert [len(p["events"]) for p in pages] == [5, 5, 2]


def test_log_groups_are_managed_as_terraform_manages_them(logs: Any) -> None:
    group = unique("/terraform/managed")
    logs.create_log_group(logGroupName=group, tags={"owner": "tf"})
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["retentionInDays"] == 7 and described["arn"].endswith(f":{group}:*")
    tags = logs.list_tags_for_resource(resourceArn=described["logGroupArn"])["tags"]
    assert tags == {"owner": "tf"}
    assert error_code(logs.create_log_group, logGroupName=group) == (
        "ResourceAlreadyExistsException",
        "The specified log group already exists",
    )
    logs.delete_log_group(logGroupName=group)
    assert error_code(logs.delete_log_group, logGroupName=group) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )


def test_the_logs_protocol_is_json_1_1_with_aws_errors(live: Live) -> None:
    status, headers, body = live.post(
        "{}",
        target="Logs_20140328.DescribeLogGroups",
        headers={"Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 200 and headers["content-type"] == "application/x-amz-json-1.1"
    assert "logGroups" in body
    status, _, body = live.post("{}", target="Logs_20140328.StartQuery")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, _, body = live.post("not json", target="Logs_20140328.DescribeLogGroups")
    assert status == 400 and body["__type"] == "SerializationException"
    status, _, body = live.post(
        '{"logGroupName": "nope", "logStreamName": "s"}', target="Logs_20140328.GetLogEvents"
    )
    assert (status, body) == (
        400,
        {
            "__type": "ResourceNotFoundException",
            "message": "The specified log group does not exist.",
        },
    )
    # The Step Functions API answers as before, in JSON 1.0.
    status, headers, _ = live.post("{}")
    assert status == 200 and headers["content-type"] == "application/x-amz-json-1.0"


def _signed(service: str) -> Request:
    request = AWSRequest(
        method="POST",
        url="http://localhost:8083/",
        data=b"{}",
        headers={"X-Amz-Target": "Logs_20140328.DescribeLogGroups"},
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), service, "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "localhost:8083"
    return Request("POST", "/", headers, b"{}")


def test_logs_requests_are_signed_for_the_logs_service() -> None:
    verifier = SigV4({KEY_ID: SECRET})
    verifier.check(_signed("logs"))
    with pytest.raises(ServiceError) as info:
        verifier.check(_signed("states"))
    assert info.value.code == "InvalidSignatureException"
    assert "'logs'" in info.value.message


def test_the_aws_cli_reads_execution_logs(sfn: Any, logs: Any, live: Live, tmp_path: Path) -> None:
    pytest.importorskip("awscli", reason="the AWS CLI is not installed (pip install awscli)")
    machine, group = logged_machine(sfn, logs, RAISE_FAILURE, "ERROR", True)
    run_to_end(sfn, machine)
    stream_events(logs, group, 2)
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDCLI",
        "AWS_SECRET_ACCESS_KEY": "cli-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_PAGER": "",
    }
    command = [sys.executable, "-m", "awscli", "logs", "filter-log-events"]
    command += ["--log-group-name", group, "--filter-pattern", "ExecutionFailed"]
    command += ["--endpoint-url", live.url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout)["events"]
    assert json.loads(event["message"])["type"] == "ExecutionFailed"
