"""IAM and STS over the Query protocol: boto3's ``iam`` and ``sts`` clients against a real
server, and IAM enforced on the tasks of a state machine whose role IAM knows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .helpers import KEY_ID, SECRET, Live, finished, unique

ON_EVERY_STORE = True  # on SQLite and on PostgreSQL (see conftest.py)

pytestmark = pytest.mark.integration

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
            }
        ],
    }
)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


INVOKE_ALL = policy({"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": "*"})


def aws(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture(scope="module")
def iam(live: Live) -> Any:
    return aws("iam", live.url)


def code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_get_caller_identity(live: Live) -> None:
    identity = aws("sts", live.url).get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"


def test_role_lifecycle(iam: Any) -> None:
    name = unique("role")
    created = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=TRUST,
        Description="runs the orders",
        Tags=[{"Key": "team", "Value": "orders"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::123456789012:role/{name}"
    assert created["RoleId"].startswith("AROA")
    got = iam.get_role(RoleName=name)["Role"]
    # boto3 decodes the URL-encoded document IAM answers.
    assert got["AssumeRolePolicyDocument"] == json.loads(TRUST)
    assert got["Description"] == "runs the orders"
    assert got["Tags"] == [{"Key": "team", "Value": "orders"}]
    assert got["MaxSessionDuration"] == 3600
    assert name in [r["RoleName"] for r in iam.list_roles()["Roles"]]

    with pytest.raises(ClientError) as again:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    assert code(again) == ("EntityAlreadyExists", 409)

    other = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"Service": "x"}}
            ],
        }
    )
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=other)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(other)
    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "test"}])
    iam.untag_role(RoleName=name, TagKeys=["team"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "env", "Value": "test"}]
    assert iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"] == []

    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName=name)
    assert code(gone) == ("NoSuchEntity", 404)
    assert "cannot be found" in gone.value.response["Error"]["Message"]


def test_a_new_role_and_policy_are_found_at_the_first_look(iam: Any) -> None:
    # No eventual consistency to wait out: the SDK's waiters (and Terraform's retries on
    # NoSuchEntity after a create) end at their first look.
    name = unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    policy_arn = iam.create_policy(PolicyName=unique("policy"), PolicyDocument=INVOKE_ALL)[
        "Policy"
    ]["Arn"]
    once = {"Delay": 1, "MaxAttempts": 1}
    iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig=once)
    iam.get_waiter("policy_exists").wait(PolicyArn=policy_arn, WaiterConfig=once)
    iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [policy_arn]
    iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
    iam.delete_policy(PolicyArn=policy_arn)
    iam.delete_role(RoleName=name)


def test_malformed_documents_and_names_are_refused(iam: Any) -> None:
    with pytest.raises(ClientError) as bad:
        iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument="{not json")
    assert code(bad) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as name:
        iam.create_role(RoleName="no spaces allowed", AssumeRolePolicyDocument=TRUST)
    assert code(name) == ("ValidationError", 400)


def test_policy_versions_attachments_and_inline_policies(iam: Any) -> None:
    role = unique("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    created = iam.create_policy(
        PolicyName=unique("policy"), PolicyDocument=INVOKE_ALL, Description="invoke"
    )["Policy"]
    arn = created["Arn"]
    assert created["DefaultVersionId"] == "v1" and created["PolicyId"].startswith("ANPA")
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["Description"] == "invoke" and got["AttachmentCount"] == 0
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(INVOKE_ALL) and version["IsDefaultVersion"]

    second = policy({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    made = iam.create_policy_version(PolicyArn=arn, PolicyDocument=second, SetAsDefault=True)
    assert made["PolicyVersion"]["VersionId"] == "v2"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v2", True),
        ("v1", False),
    ]

    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": created["PolicyName"], "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    with pytest.raises(ClientError) as attached_policy:
        iam.delete_policy(PolicyArn=arn)
    assert code(attached_policy) == ("DeleteConflict", 409)

    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=INVOKE_ALL)
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["inline"]
    inline = iam.get_role_policy(RoleName=role, PolicyName="inline")
    assert inline["PolicyDocument"] == json.loads(INVOKE_ALL)
    with pytest.raises(ClientError) as busy:
        iam.delete_role(RoleName=role)
    assert code(busy) == ("DeleteConflict", 409)

    iam.delete_role_policy(RoleName=role, PolicyName="inline")
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    with pytest.raises(ClientError) as versioned:
        iam.delete_policy(PolicyArn=arn)
    assert code(versioned) == ("DeleteConflict", 409)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as gone:
        iam.get_policy(PolicyArn=arn)
    assert code(gone) == ("NoSuchEntity", 404)


def test_unknown_action_is_refused(live: Live) -> None:
    status, _, body = live.post(
        "Action=MakeCoffee&Version=2010-05-08",
        target=None,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400
    assert "<Code>InvalidAction</Code>" in body


# --- enforcement -------------------------------------------------------------------------


@pytest.fixture
def machine(live: Live, iam: Any, sfn: Any) -> Iterator[Any]:
    """Makes a state machine calling the ``flaky`` function as a role with a policy."""
    made: list[tuple[str, str]] = []

    def make(document: str | None) -> str:
        role = unique("sfn-role")
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        if document is not None:
            iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=document)
        definition = {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                    "End": True,
                }
            },
        }
        machine_arn = sfn.create_state_machine(
            name=unique("m"), definition=json.dumps(definition), roleArn=arn
        )["stateMachineArn"]
        made.append((role, machine_arn))
        return str(machine_arn)

    yield make
    for role, machine_arn in made:
        sfn.delete_state_machine(stateMachineArn=machine_arn)
        iam.delete_role_policy(RoleName=role, PolicyName="p")
        iam.delete_role(RoleName=role)


def run(live: Live, sfn: Any, machine_arn: str) -> dict[str, Any]:
    marker = live.tmp / unique("marker")
    marker.write_text("seen")  # ``flaky`` succeeds at once when its marker exists
    started = sfn.start_execution(
        stateMachineArn=machine_arn, input=json.dumps({"marker": str(marker)})
    )
    return finished(sfn, started["executionArn"])


def test_a_role_allowed_to_invoke_runs_the_task(live: Live, sfn: Any, machine: Any) -> None:
    result = run(live, sfn, machine(INVOKE_ALL))
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"ok": True}


def test_a_role_without_the_permission_fails_the_task(live: Live, sfn: Any, machine: Any) -> None:
    other = policy(
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:other-*",
        }
    )
    result = run(live, sfn, machine(other))
    assert result["status"] == "FAILED"
    assert result["error"] == "Lambda.AWSLambdaException"
    assert "is not authorized to perform: lambda:InvokeFunction on resource: " in result["cause"]
    assert "function:flaky" in result["cause"] and "assumed-role/sfn-role-" in result["cause"]


def test_an_explicit_deny_wins(live: Live, sfn: Any, machine: Any) -> None:
    both = policy(
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "lambda:Invoke?unction", "Resource": "*:function:fl*"},
    )
    assert run(live, sfn, machine(both))["error"] == "Lambda.AWSLambdaException"


def test_a_role_iam_does_not_know_is_not_checked(live: Live, sfn: Any) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                "End": True,
            }
        },
    }
    arn = sfn.create_state_machine(
        name=unique("m"),
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/not-in-iam",
    )["stateMachineArn"]
    assert run(live, sfn, arn)["status"] == "SUCCEEDED"
