"""Each resource type deploy makes: how it is created or updated, and how it is removed.

Every ``apply_*`` takes the deployment and the block and returns what ``destroy`` needs
(kept in the state file); every ``destroy_*`` takes that record. A missing resource at
destroy time is not an error (someone removed it already).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from stepfn.deploy.config import Block, DeployError

_MISSING = {
    "NoSuchEntity",
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "ActivityDoesNotExist",
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _refused(block: Block, exc: ClientError) -> DeployError:
    error = exc.response.get("Error", {})
    return DeployError(f"{block.where()}: {error.get('Code')}: {error.get('Message')}")


@contextmanager
def _refusals(block: Block) -> Iterator[None]:
    """Turn a refusal of the service (a ClientError) into the block's DeployError."""
    try:
        yield
    except ClientError as exc:
        raise _refused(block, exc) from None


def _quietly(call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as exc:
        if _code(exc) not in _MISSING:
            raise


def _document(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _same_json(a: Any, b: Any) -> bool:
    def parse(x: Any) -> Any:
        try:
            return json.loads(x) if isinstance(x, str) else x
        except ValueError:
            return x

    return bool(parse(a) == parse(b))


# --- IAM --------------------------------------------------------------------------------


def apply_role(d: Any, block: Block) -> dict[str, Any]:
    """aws_iam_role: CreateRole, or UpdateAssumeRolePolicy when it exists."""
    iam = d.client("iam")
    name = d.need(block, "name")
    trust = _document(d.need(block, "assume_role_policy"))
    try:
        found = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise _refused(block, exc) from None
        found = None
    with _refusals(block):
        if found is None:
            options: dict[str, Any] = {"Path": d.attr(block, "path", "/")}
            description = d.attr(block, "description")
            if description:
                options["Description"] = description
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **options)
            d.report(f"created {block.address}")
        elif not _same_json(found["AssumeRolePolicyDocument"], trust):
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
            d.report(f"updated {block.address}")
    return {"name": name}


def destroy_role(d: Any, record: dict[str, Any]) -> None:
    """Delete a role, after what is still attached to it."""
    iam = d.client("iam")
    try:
        attached = iam.list_attached_role_policies(RoleName=record["name"])
        inline = iam.list_role_policies(RoleName=record["name"])
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return
        raise
    for policy in attached["AttachedPolicies"]:
        _quietly(iam.detach_role_policy, RoleName=record["name"], PolicyArn=policy["PolicyArn"])
    for name in inline["PolicyNames"]:
        _quietly(iam.delete_role_policy, RoleName=record["name"], PolicyName=name)
    _quietly(iam.delete_role, RoleName=record["name"])


def apply_policy(d: Any, block: Block) -> dict[str, Any]:
    """aws_iam_policy: CreatePolicy, or a new default version when the document changed."""
    iam = d.client("iam")
    arn = d.known(block)["arn"]
    document = _document(d.need(block, "policy"))
    with _refusals(block):
        try:
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            options: dict[str, Any] = {"Path": d.attr(block, "path", "/")}
            description = d.attr(block, "description")
            if description:
                options["Description"] = description
            iam.create_policy(PolicyName=d.need(block, "name"), PolicyDocument=document, **options)
            d.report(f"created {block.address}")
            return {"arn": arn}
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        if not _same_json(version["PolicyVersion"]["Document"], document):
            versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
            if len(versions) >= 5:
                oldest = [v for v in versions if not v["IsDefaultVersion"]][-1]
                iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
            d.report(f"updated {block.address}")
    return {"arn": arn}


def destroy_policy(d: Any, record: dict[str, Any]) -> None:
    """Delete a policy: its other versions first."""
    iam = d.client("iam")
    try:
        versions = iam.list_policy_versions(PolicyArn=record["arn"])["Versions"]
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return
        raise
    for version in versions:
        if not version["IsDefaultVersion"]:
            _quietly(
                iam.delete_policy_version, PolicyArn=record["arn"], VersionId=version["VersionId"]
            )
    _quietly(iam.delete_policy, PolicyArn=record["arn"])


def apply_attachment(d: Any, block: Block) -> dict[str, Any]:
    """aws_iam_role_policy_attachment: AttachRolePolicy (attaching again is nothing)."""
    role, arn = d.need(block, "role"), d.need(block, "policy_arn")
    with _refusals(block):
        d.client("iam").attach_role_policy(RoleName=role, PolicyArn=arn)
    return {"role": role, "policy_arn": arn}


def destroy_attachment(d: Any, record: dict[str, Any]) -> None:
    """DetachRolePolicy."""
    iam = d.client("iam")
    _quietly(iam.detach_role_policy, RoleName=record["role"], PolicyArn=record["policy_arn"])


def apply_role_policy(d: Any, block: Block) -> dict[str, Any]:
    """aws_iam_role_policy: PutRolePolicy."""
    role, name = d.need(block, "role"), d.need(block, "name")
    document = _document(d.need(block, "policy"))
    with _refusals(block):
        d.client("iam").put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)
    return {"role": role, "name": name}


def destroy_role_policy(d: Any, record: dict[str, Any]) -> None:
    """DeleteRolePolicy."""
    iam = d.client("iam")
    _quietly(iam.delete_role_policy, RoleName=record["role"], PolicyName=record["name"])


# --- Lambda, logs, activities -----------------------------------------------------------


def apply_function(d: Any, block: Block) -> dict[str, Any]:
    """aws_lambda_function: CreateFunction, or new code and configuration."""
    functions = d.client("lambda")
    name = d.need(block, "function_name")
    filename = d.need(block, "filename")
    path = Path(filename) if Path(filename).is_absolute() else block.file.parent / filename
    if not path.is_file():
        raise DeployError(f"{block.where()}: filename {filename}: no such file")
    code = path.read_bytes()
    settings: dict[str, Any] = {
        "Role": d.need(block, "role"),
        "Handler": d.attr(block, "handler", "index.handler"),
        "Runtime": d.need(block, "runtime"),
        "Timeout": int(d.attr(block, "timeout", 3)),
        "MemorySize": int(d.attr(block, "memory_size", 128)),
    }
    environment = d.attr(block, "environment")
    if isinstance(environment, list):
        environment = environment[0] if environment else None
    if isinstance(environment, dict) and isinstance(environment.get("variables"), dict):
        variables = {k: str(v) for k, v in environment["variables"].items()}
        settings["Environment"] = {"Variables": variables}
    with _refusals(block):
        try:
            functions.get_function(FunctionName=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            functions.create_function(FunctionName=name, Code={"ZipFile": code}, **settings)
            d.report(f"created {block.address}")
            return {"name": name}
        functions.update_function_code(FunctionName=name, ZipFile=code)
        functions.update_function_configuration(FunctionName=name, **settings)
        d.report(f"updated {block.address}")
    return {"name": name}


def destroy_function(d: Any, record: dict[str, Any]) -> None:
    """DeleteFunction."""
    _quietly(d.client("lambda").delete_function, FunctionName=record["name"])


def apply_log_group(d: Any, block: Block) -> dict[str, Any]:
    """aws_cloudwatch_log_group: CreateLogGroup (and its retention)."""
    logs = d.client("logs")
    name = d.need(block, "name")
    with _refusals(block):
        try:
            logs.create_log_group(logGroupName=name)
            d.report(f"created {block.address}")
        except ClientError as exc:
            if _code(exc) != "ResourceAlreadyExistsException":
                raise
        retention = d.attr(block, "retention_in_days")
        if retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(retention))
    return {"name": name}


def destroy_log_group(d: Any, record: dict[str, Any]) -> None:
    """DeleteLogGroup."""
    _quietly(d.client("logs").delete_log_group, logGroupName=record["name"])


def apply_activity(d: Any, block: Block) -> dict[str, Any]:
    """aws_sfn_activity: CreateActivity (which AWS makes idempotent)."""
    with _refusals(block):
        arn = d.client("stepfunctions").create_activity(name=d.need(block, "name"))["activityArn"]
    d.report(f"deployed {block.address}")
    return {"arn": arn}


def destroy_activity(d: Any, record: dict[str, Any]) -> None:
    """DeleteActivity."""
    _quietly(d.client("stepfunctions").delete_activity, activityArn=record["arn"])


# --- state machines ---------------------------------------------------------------------


def apply_state_machine(d: Any, block: Block) -> dict[str, Any]:
    """aws_sfn_state_machine: CreateStateMachine, or UpdateStateMachine when the
    definition or role changed (publishing a version when ``publish = true``)."""
    sfn = d.client("stepfunctions")
    arn = d.known(block)["arn"]
    definition = _document(d.need(block, "definition"))
    try:
        json.loads(definition)
    except ValueError as exc:
        raise DeployError(f"{block.where()}: definition: not JSON: {exc}") from None
    role = d.need(block, "role_arn")
    publish = bool(d.attr(block, "publish", False))
    with _refusals(block):
        try:
            found = sfn.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if _code(exc) != "StateMachineDoesNotExist":
                raise
            sfn.create_state_machine(
                name=d.need(block, "name"),
                definition=definition,
                roleArn=role,
                type=d.attr(block, "type", "STANDARD"),
                publish=publish,
            )
            d.report(f"created {block.address}")
            return {"arn": arn}
        if found["definition"] != definition or found["roleArn"] != role:
            sfn.update_state_machine(
                stateMachineArn=arn, definition=definition, roleArn=role, publish=publish
            )
            d.report(f"updated {block.address}")
    return {"arn": arn}


def destroy_state_machine(d: Any, record: dict[str, Any]) -> None:
    """DeleteStateMachine."""
    _quietly(d.client("stepfunctions").delete_state_machine, stateMachineArn=record["arn"])


APPLY: dict[str, Callable[[Any, Block], dict[str, Any]]] = {
    "aws_cloudwatch_log_group": apply_log_group,
    "aws_iam_role": apply_role,
    "aws_iam_policy": apply_policy,
    "aws_iam_role_policy_attachment": apply_attachment,
    "aws_iam_role_policy": apply_role_policy,
    "aws_lambda_function": apply_function,
    "aws_sfn_activity": apply_activity,
    "aws_sfn_state_machine": apply_state_machine,
}
DESTROY: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "aws_cloudwatch_log_group": destroy_log_group,
    "aws_iam_role": destroy_role,
    "aws_iam_policy": destroy_policy,
    "aws_iam_role_policy_attachment": destroy_attachment,
    "aws_iam_role_policy": destroy_role_policy,
    "aws_lambda_function": destroy_function,
    "aws_sfn_activity": destroy_activity,
    "aws_sfn_state_machine": destroy_state_machine,
}
