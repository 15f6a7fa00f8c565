"""The context object (``$$`` in JSONPath, ``$states.context`` in JSONata).

It is built on demand: most states never read it, and building it for every state would
cost a dict and an ISO-8601 timestamp each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stepfn.arns import EXECUTION, EXPRESS, ArnBuilder
from stepfn.clock import iso8601

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """What the context object says about the execution and its state machine."""

    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    role_arn: str
    start_time: float
    input: Any
    redrive_count: int = 0
    state_machine_type: str = "STANDARD"
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    # Set when the execution was started through a version or an alias of the machine.
    version_arn: str | None = None
    alias_arn: str | None = None


def execution_info(
    name: str,
    input: Any,
    start_time: float,
    *,
    state_machine_name: str = "stepfn",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    state_machine_type: str = "STANDARD",
    role_arn: str | None = None,
) -> ExecutionInfo:
    """ARNs as AWS forms them for a state machine and one of its executions."""
    arns = ArnBuilder(region, account)
    # stepfn.run's Express executions keep the plain ``express:<machine>:<name>`` form.
    kind = EXPRESS if state_machine_type == "EXPRESS" else EXECUTION
    return ExecutionInfo(
        execution_arn=f"{arns.prefix}:{kind}:{state_machine_name}:{name}",
        name=name,
        state_machine_arn=arns.state_machine(state_machine_name),
        state_machine_name=state_machine_name,
        role_arn=role_arn or arns.role("stepfn-execution-role"),
        start_time=start_time,
        input=input,
        state_machine_type=state_machine_type,
        region=region,
        account=account,
    )


def child_execution_info(
    parent: ExecutionInfo,
    label: str,
    arn: str,
    name: str,
    input: Any,
    start_time: float,
    redrive_count: int = 0,
) -> ExecutionInfo:
    """What a child execution of a distributed Map (labelled ``label``) knows of itself.

    It is an execution of its own (its ARN, name, input and start), of the labelled state
    machine ``<parent's state machine>/<label>`` that AWS names its map run's children
    after; it was started by no version or alias, and is redriven (``redrive_count``)
    only with its map run."""
    return replace(
        parent,
        execution_arn=arn,
        name=name,
        state_machine_arn=f"{parent.state_machine_arn}/{label}",
        state_machine_name=f"{parent.state_machine_name}/{label}",
        start_time=start_time,
        input=input,
        redrive_count=redrive_count,
        state_machine_type="STANDARD",
        version_arn=None,
        alias_arn=None,
    )


def context_object(
    info: ExecutionInfo,
    state_name: str,
    entered_time: float,
    retry_count: int | None = None,
    task_token: str | None = None,
    map_item: tuple[int, Any] | None = None,
) -> dict[str, Any]:
    """The context object as a state sees it."""
    ctx: dict[str, Any] = {
        "Execution": {
            "Id": info.execution_arn,
            "Input": info.input,
            "StartTime": iso8601(info.start_time),
            "Name": info.name,
            "RoleArn": info.role_arn,
            "RedriveCount": info.redrive_count,
        },
        "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
        "State": {"EnteredTime": iso8601(entered_time), "Name": state_name},
    }
    if retry_count is not None:
        # AWS shows RetryCount in the context of Task states only.
        ctx["State"]["RetryCount"] = retry_count
    if task_token is not None:
        ctx["Task"] = {"Token": task_token}
    if map_item is not None:
        ctx["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
    return ctx
