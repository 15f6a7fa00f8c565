"""The Lambda REST-JSON API on the stepfn endpoint, through boto3 and the AWS CLI.

Real Python and Node zips, a real server over HTTP, the functions run in warm workers.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .helpers import KEY_ID, PASS, ROLE, SECRET, Live, client, finished, unique

ON_EVERY_STORE = True  # on SQLite and on PostgreSQL (see conftest.py)

pytestmark = pytest.mark.integration

PY_HANDLER = """
def handler(event, context):
    print("python got", event)
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"python": event, "fn": context.function_name}
"""
NODE_HANDLER = """
exports.handler = async (event) => {
  console.log("node got", JSON.stringify(event));
  return { node: event };
};
"""


def zipped(name: str, text: str) -> bytes:
    """A zip holding one file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def lambda_client(url: str) -> Any:
    """A boto3 Lambda client for the stepfn endpoint."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture(scope="module")
def lam(live: Live) -> Iterator[Any]:
    lam = lambda_client(live.url)
    yield lam
    lam.close()


def create(lam: Any, runtime: str = "python3.12") -> str:
    name = unique("fn")
    if runtime.startswith("python"):
        code, handler = zipped("app.py", PY_HANDLER), "app.handler"
    else:
        code, handler = zipped("index.js", NODE_HANDLER), "index.handler"
    lam.create_function(
        FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE, Code={"ZipFile": code}
    )
    return name


def test_create_get_list_invoke_python(lam: Any) -> None:
    name = create(lam)
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Runtime"] == "python3.12" and config["Handler"] == "app.handler"
    assert config["CodeSize"] > 0 and config["Version"] == "$LATEST"
    assert name in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["FunctionArn"].endswith(f":function:{name}")
    answer = lam.invoke(FunctionName=name, Payload=json.dumps({"a": 1}), LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"python": {"a": 1}, "fn": name}
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "python got {'a': 1}" in base64.b64decode(answer["LogResult"]).decode()


def test_a_new_or_updated_function_is_ready_at_the_first_look(lam: Any) -> None:
    # The function is ready when CreateFunction answers, and says so: the SDKs' waiters
    # (and Terraform's, which read GetFunction) end at their first look, not a poll later.
    name = unique("fn")
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": zipped("app.py", PY_HANDLER)},
    )
    assert (created["State"], created["LastUpdateStatus"]) == ("Active", "Successful")
    once = {"Delay": 1, "MaxAttempts": 1}
    for waiter in ("function_exists", "function_active_v2", "function_updated_v2"):
        lam.get_waiter(waiter).wait(FunctionName=name, WaiterConfig=once)
    updated = lam.update_function_configuration(FunctionName=name, Timeout=7)
    assert updated["LastUpdateStatus"] == "Successful"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=once)
    published = lam.publish_version(FunctionName=name)["Version"]
    lam.get_waiter("published_version_active").wait(
        FunctionName=name, Qualifier=published, WaiterConfig=once
    )


def test_function_error_and_dry_run_and_event(lam: Any) -> None:
    name = create(lam)
    failed = lam.invoke(FunctionName=name, Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    document = json.loads(failed["Payload"].read())
    assert document["errorType"] == "ValueError" and document["errorMessage"] == "asked to fail"
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202


def test_node_function(lam: Any) -> None:
    name = create(lam, "nodejs20.x")
    answer = lam.invoke(FunctionName=name, Payload=json.dumps({"b": [1, 2]}))
    assert json.loads(answer["Payload"].read()) == {"node": {"b": [1, 2]}}


def test_errors_in_lambdas_shapes(lam: Any) -> None:
    with pytest.raises(ClientError) as missing:
        lam.get_function(FunctionName="no-such-function")
    error = missing.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Type"] == "User"
    name = create(lam)
    with pytest.raises(ClientError) as conflict:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Handler="app.handler",
            Role=ROLE,
            Code={"ZipFile": zipped("app.py", PY_HANDLER)},
        )
    assert conflict.value.response["Error"]["Code"] == "ResourceConflictException"
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as image:
        lam.create_function(
            FunctionName=unique("img"), Role=ROLE, Code={"ImageUri": "x"}, PackageType="Image"
        )
    assert image.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Image" in image.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as policy:
        lam.get_policy(FunctionName=name)
    assert policy.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_versions_aliases_tags_and_updates(lam: Any) -> None:
    name = create(lam)
    first = lam.publish_version(FunctionName=name)
    assert first["Version"] == "1"
    assert lam.publish_version(FunctionName=name)["Version"] == "1"  # unchanged: the same
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"K": "v"}}, Timeout=10
    )
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f"{name}:live")
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    answer = lam.invoke(FunctionName=name, Qualifier="live", Payload=b"{}")
    assert answer["ExecutedVersion"] == "2"
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live"]
    lam.delete_alias(FunctionName=name, Name="live")
    assert lam.list_aliases(FunctionName=name)["Aliases"] == []
    arn = first["FunctionArn"].rsplit(":", 1)[0]
    lam.tag_resource(Resource=arn, Tags={"team": "a", "env": "b"})
    lam.untag_resource(Resource=arn, TagKeys=["env"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "a"}
    lam.update_function_code(FunctionName=name, ZipFile=zipped("app.py", PY_HANDLER + "\n#"))
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] != first["CodeSha256"]
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError):
        lam.get_function_configuration(FunctionName=name)


def test_terraform_reads(lam: Any) -> None:
    name = create(lam)
    assert lam.get_function_code_signing_config(FunctionName=name)["FunctionName"] == name
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert lam.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Auto"
    for call in (lam.get_function_url_config, lam.get_function_event_invoke_config):
        with pytest.raises(ClientError) as none:
            call(FunctionName=name)
        assert none.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_task_runs_a_registered_function(live: Live, lam: Any) -> None:
    name = create(lam)
    sfn = client(live.url)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload": {"x": 1}},
                "OutputPath": "$.Payload",
                "Next": "Direct",
            },
            "Direct": {"Type": "Task", "Resource": arn, "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=machine, input="{}")
    done = finished(sfn, started["executionArn"])
    sfn.close()
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output == {"python": {"python": {"x": 1}, "fn": name}, "fn": name}
    assert PASS  # the shared fixtures' machine shape stays importable


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(live: Live, lam: Any, tmp_path: Any) -> None:
    name = create(lam)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    listed = subprocess.run(
        ["aws", "lambda", "list-functions", "--endpoint-url", live.url, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert name in [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]]
    out = tmp_path / "out.json"
    invoked = subprocess.run(
        [
            "aws", "lambda", "invoke", "--endpoint-url", live.url, "--function-name", name,
            "--payload", '{"c": 3}', str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(out.read_text())["python"] == {"c": 3}


SLOW = """
import time
def handler(event, context):
    time.sleep(60)
    return {}
"""


def test_task_timeout_stops_a_slow_function(live: Live, lam: Any) -> None:
    name = unique("slow")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Timeout=120,
        Code={"ZipFile": zipped("app.py", SLOW)},
    )
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": arn, "TimeoutSeconds": 1, "End": True}},
    }
    sfn = client(live.url)
    machine = sfn.create_state_machine(
        name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=machine, input="{}")
    done = finished(sfn, started["executionArn"])
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    sfn.close()
    assert done["status"] == "FAILED" and done["error"] == "States.Timeout"
    assert "LambdaFunctionTimedOut" in [e["type"] for e in history]


def test_permissions_as_terraforms_aws_lambda_permission_uses_them(lam: Any) -> None:
    name = create(lam)
    with pytest.raises(ClientError) as none:
        lam.get_policy(FunctionName=name)
    assert none.value.response["Error"]["Code"] == "ResourceNotFoundException"
    added = lam.add_permission(
        FunctionName=name,
        StatementId="AllowExecutionFromSNS",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn="arn:aws:sns:us-east-1:123456789012:topic",
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"])["Sid"] == "AllowExecutionFromSNS"
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["AllowExecutionFromSNS"]
    with pytest.raises(ClientError) as again:
        lam.add_permission(
            FunctionName=name,
            StatementId="AllowExecutionFromSNS",
            Action="lambda:InvokeFunction",
            Principal="sns.amazonaws.com",
        )
    assert again.value.response["Error"]["Code"] == "ResourceConflictException"
    assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    removed = lam.remove_permission(FunctionName=name, StatementId="AllowExecutionFromSNS")
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        lam.remove_permission(FunctionName=name, StatementId="AllowExecutionFromSNS")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_functions_pages_through_the_sdks_paginator(lam: Any) -> None:
    names = {create(lam) for _ in range(3)}
    pages = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1}))
    listed = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert names <= set(listed) and len(listed) == len(set(listed))
    assert len(pages) == len(listed)
