"""Every operation of the service model, through boto3 over HTTP: what succeeds, and
the errors AWS answers, with AWS's texts where a recorded answer holds them.

The expected error strings marked *recorded* are AWS's own answers (the recordings in
the shared ``aws-recordings``), with our ARNs in place of the recordings' placeholders.
``test_every_operation_has_a_test_here`` keeps this file complete: each operation of
the service model needs a test named after it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from stepfn.api.app import method_name
from stepfn.api.server import Server
from stepfn.clock import IdSource
from stepfn.validation.model import load

from .helpers import PASS, ROLE, WAIT_LONG, Live, client, finished, unique, wait_for

ON_EVERY_STORE = True  # on SQLite and on PostgreSQL (see conftest.py)

CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"},
            "HeartbeatSeconds": 600,
            "End": True,
        }
    },
}


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def machine(sfn: Any, definition: dict[str, Any] = PASS, **kwargs: Any) -> str:
    """Create a state machine; its ARN."""
    response = sfn.create_state_machine(
        name=kwargs.pop("name", unique("m")),
        definition=json.dumps(definition),
        roleArn=ROLE,
        **kwargs,
    )
    arn: str = response["stateMachineArn"]
    return arn


def task_token(sfn: Any, execution_arn: str) -> str:
    """The task token a waiting ``.waitForTaskToken`` task was given."""
    events = wait_for(
        lambda: sfn.get_execution_history(executionArn=execution_arn)["events"],
        lambda events: any(e["type"] == "TaskScheduled" for e in events),
    )
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    token: str = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["token"]
    return token


def test_every_operation_has_a_test_here() -> None:
    module = sys.modules[__name__]
    tests = [name for name in dir(module) if name.startswith("test_")]
    missing = [
        op
        for op in load().operations
        if not any(t.startswith(f"test_{method_name(op)}") for t in tests)
    ]
    assert missing == []
    assert len(load().operations) == 37


# --- state machines -----------------------------------------------------------------------


def test_create_state_machine_and_its_errors(sfn: Any) -> None:
    name = unique("create")
    arn = machine(sfn, name=name)
    assert arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    # Recorded: the same name with another definition.
    assert error_of(
        sfn.create_state_machine,
        name=name,
        definition=json.dumps(WAIT_LONG),
        roleArn=ROLE,
    ) == ("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'", 400)
    # Recorded: a definition without States.
    assert error_of(
        sfn.create_state_machine, name=unique("bad"), definition='{"StartAt": "A"}', roleArn=ROLE
    ) == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are "
        "required: [States] at /'",
        400,
    )
    # Recorded: a version description without publishing.
    assert error_of(
        sfn.create_state_machine,
        name=unique("v"),
        definition=json.dumps(PASS),
        roleArn=ROLE,
        versionDescription="first",
    ) == ("ValidationException", "Version description can only be set when publish is true", 400)


def test_create_state_machine_alias_and_the_alias_operations(sfn: Any) -> None:
    arn = machine(sfn, publish=True)
    version = f"{arn}:1"
    alias = sfn.create_state_machine_alias(
        name="PROD", routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}]
    )["stateMachineAliasArn"]
    assert alias == f"{arn}:PROD"
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["routingConfiguration"] == [{"stateMachineVersionArn": version, "weight": 100}]
    assert [
        a["stateMachineAliasArn"]
        for a in sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    ] == [alias]
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, description="live")
    assert sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["description"] == "live"
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"] == []


def test_create_state_machine_alias_name_pattern(raw: Any, sfn: Any) -> None:
    arn = machine(sfn, publish=True)
    code, message, status = error_of(
        raw.create_state_machine_alias,
        name="INVALID ALIAS",
        routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}],
    )
    # Recorded (conformance cases).
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "1 validation error detected: Value 'INVALID ALIAS' at 'name' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$"
    )


def test_describe_state_machine(sfn: Any) -> None:
    arn = machine(sfn)
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["status"], described["type"]) == ("ACTIVE", "STANDARD")
    assert json.loads(described["definition"]) == PASS
    missing = f"{arn}-gone"
    # Recorded shape: State Machine Does Not Exist: '<arn>'.
    assert error_of(sfn.describe_state_machine, stateMachineArn=missing) == (
        "StateMachineDoesNotExist",
        f"State Machine Does Not Exist: '{missing}'",
        400,
    )


def test_update_state_machine(sfn: Any) -> None:
    arn = machine(sfn)
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT_LONG))
    assert "revisionId" in updated
    # Recorded.
    assert error_of(sfn.update_state_machine, stateMachineArn=arn) == (
        "MissingRequiredParameter",
        "Either the definition, the role ARN, the LoggingConfiguration, or the "
        "TracingConfiguration must be specified",
        400,
    )


def test_delete_state_machine(sfn: Any) -> None:
    arn = machine(sfn)
    sfn.delete_state_machine(stateMachineArn=arn)
    sfn.delete_state_machine(stateMachineArn=arn)  # gone already: still fine
    assert error_of(sfn.describe_state_machine, stateMachineArn=arn)[0] == (
        "StateMachineDoesNotExist"
    )


def test_list_state_machines_pages(sfn: Any) -> None:
    for _ in range(3):
        machine(sfn)
    first = sfn.list_state_machines(maxResults=2)
    assert len(first["stateMachines"]) == 2 and "nextToken" in first
    second = sfn.list_state_machines(maxResults=2, nextToken=first["nextToken"])
    assert second["stateMachines"][0] != first["stateMachines"][-1]


def test_validate_state_machine_definition(sfn: Any) -> None:
    assert sfn.validate_state_machine_definition(definition=json.dumps(PASS))["result"] == "OK"
    failed = sfn.validate_state_machine_definition(definition='{"StartAt": "A"}')
    assert failed["result"] == "FAIL"
    assert failed["diagnostics"][0]["message"] == "These fields are required: [States]"


def test_publish_state_machine_version_and_versions(sfn: Any, raw: Any) -> None:
    arn = machine(sfn)
    version = sfn.publish_state_machine_version(stateMachineArn=arn, description="v1")
    assert version["stateMachineVersionArn"] == f"{arn}:1"
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:1"]
    # Recorded.
    assert error_of(raw.list_state_machine_versions, stateMachineArn=arn, maxResults=1001) == (
        "ValidationException",
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 1000",
        400,
    )
    token = "t" * 1025
    assert error_of(raw.list_state_machine_versions, stateMachineArn=arn, nextToken=token) == (
        "ValidationException",
        f"1 validation error detected: Value '{token}' at 'nextToken' failed to satisfy "
        "constraint: Member must have length less than or equal to 1024",
        400,
    )


def test_list_state_machine_versions_is_empty_without_publishing(sfn: Any) -> None:
    arn = machine(sfn)
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []


def test_delete_state_machine_version(sfn: Any) -> None:
    arn = machine(sfn, publish=True)
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1")
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []


def test_describe_state_machine_alias_missing(sfn: Any) -> None:
    arn = machine(sfn)
    code, _, status = error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=f"{arn}:NOPE")
    assert (code, status) == ("ResourceNotFound", 400)


def test_delete_state_machine_alias_missing_is_fine(sfn: Any) -> None:
    arn = machine(sfn)
    sfn.delete_state_machine_alias(stateMachineAliasArn=f"{arn}:NOPE")


def test_list_state_machine_aliases_of_missing_machine(sfn: Any) -> None:
    code, _, _ = error_of(
        sfn.list_state_machine_aliases,
        stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope",
    )
    assert code == "StateMachineDoesNotExist"


def test_update_state_machine_alias_missing(sfn: Any) -> None:
    arn = machine(sfn)
    code, _, _ = error_of(
        sfn.update_state_machine_alias, stateMachineAliasArn=f"{arn}:NOPE", description="x"
    )
    assert code == "ResourceNotFound"


# --- activities and tags ------------------------------------------------------------------


def test_create_activity_and_describe_list_delete(sfn: Any) -> None:
    name = unique("act")
    arn = sfn.create_activity(name=name)["activityArn"]
    assert sfn.describe_activity(activityArn=arn)["name"] == name
    assert arn in [a["activityArn"] for a in sfn.list_activities()["activities"]]
    sfn.delete_activity(activityArn=arn)
    # Recorded shape: Activity Does Not Exist: '<arn>'.
    assert error_of(sfn.describe_activity, activityArn=arn) == (
        "ActivityDoesNotExist",
        f"Activity Does Not Exist: '{arn}'",
        400,
    )


def test_create_activity_invalid_name(sfn: Any) -> None:
    # Recorded.
    assert error_of(sfn.create_activity, name="activity~name") == (
        "InvalidName",
        "Invalid Name: 'activity~name'",
        400,
    )


def test_describe_activity_invalid_arn(sfn: Any) -> None:
    code, _, _ = error_of(sfn.describe_activity, activityArn="not-an-arn")
    assert code == "InvalidArn"


def test_delete_activity_twice(sfn: Any) -> None:
    arn = sfn.create_activity(name=unique("gone"))["activityArn"]
    sfn.delete_activity(activityArn=arn)
    sfn.delete_activity(activityArn=arn)


def test_list_activities_pages(sfn: Any) -> None:
    for _ in range(3):
        sfn.create_activity(name=unique("page"))
    first = sfn.list_activities(maxResults=2)
    assert len(first["activities"]) == 2 and "nextToken" in first


def test_get_activity_task_runs_an_activity(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("worker"))["activityArn"]
    arn = machine(
        sfn,
        {
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
        },
    )
    execution = sfn.start_execution(stateMachineArn=arn, input='{"job": 7}')["executionArn"]
    task = wait_for(
        lambda: sfn.get_activity_task(activityArn=activity, workerName="w1"),
        lambda t: "taskToken" in t,
    )
    assert json.loads(task["input"]) == {"job": 7}
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    described = finished(sfn, execution)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"done": True})


def test_get_activity_task_of_missing_activity(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:activity:nope"
    assert error_of(sfn.get_activity_task, activityArn=missing) == (
        "ActivityDoesNotExist",
        f"Activity Does Not Exist: '{missing}'",
        400,
    )


def test_tag_resource_list_tags_for_resource_untag_resource(sfn: Any) -> None:
    arn = machine(sfn)
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "orders"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "orders"}
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_list_tags_for_resource_missing(sfn: Any) -> None:
    code, _, _ = error_of(
        sfn.list_tags_for_resource,
        resourceArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope",
    )
    assert code == "ResourceNotFound"


def test_untag_resource_missing(sfn: Any) -> None:
    code, _, _ = error_of(
        sfn.untag_resource,
        resourceArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope",
        tagKeys=["k"],
    )
    assert code == "ResourceNotFound"


# --- executions ----------------------------------------------------------------------------


def test_start_execution_describe_and_history(sfn: Any) -> None:
    arn = machine(sfn)
    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"a": 1}')
    assert started["executionArn"].endswith(":first")
    described = finished(sfn, started["executionArn"])
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"a": 1})
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    # Recorded.
    assert described["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_start_execution_recorded_errors(sfn: Any, raw: Any) -> None:
    arn = machine(sfn, WAIT_LONG)
    first = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    assert again["executionArn"] == first["executionArn"]
    # Recorded.
    assert error_of(sfn.start_execution, stateMachineArn=arn, name="once", input='{"x": 1}') == (
        "ExecutionAlreadyExists",
        f"Execution Already Exists: '{first['executionArn']}'",
        400,
    )
    expected = {
        "not json": "Unrecognized token 'not': was expecting (JSON String, Number, Array, "
        "Object or token 'null', 'true' or 'false')",
        "{'not': 'json'}": "Unexpected character (''' (code 39)): was expecting double-quote "
        "to start field name",
        "": "Invalid execution input.",
    }
    for text, problem in expected.items():
        assert error_of(raw.start_execution, stateMachineArn=arn, input=text) == (
            "InvalidExecutionInput",
            f"Invalid State Machine Execution Input: '{problem}'",
            400,
        )
    missing = arn.replace(":stateMachine:", ":stateMachine:statemachine_invalid_")
    assert error_of(sfn.start_execution, stateMachineArn=missing) == (
        "StateMachineDoesNotExist",
        f"State Machine Does Not Exist: '{missing}'",
        400,
    )
    sfn.stop_execution(executionArn=first["executionArn"])


def test_start_execution_inputs_aws_accepts(sfn: Any) -> None:
    arn = machine(sfn)
    for text in ("1", '"text"', "null"):  # recorded: numbers, strings and null start
        execution = sfn.start_execution(stateMachineArn=arn, input=text)["executionArn"]
        assert json.loads(finished(sfn, execution)["output"]) == json.loads(text)


def test_describe_execution_missing_and_express_arns(sfn: Any) -> None:
    arn = machine(sfn)
    missing = arn.replace(":stateMachine:", ":execution:") + ":nope"
    assert error_of(sfn.describe_execution, executionArn=missing) == (
        "ExecutionDoesNotExist",
        f"Execution Does Not Exist: '{missing}'",
        400,
    )
    express = arn.replace(":stateMachine:", ":express:") + ":x:y"
    # Recorded.
    assert error_of(sfn.describe_execution, executionArn=express) == (
        "InvalidArn",
        "Invalid Arn: 'Resource type not valid in this context: express'",
        400,
    )


def test_describe_state_machine_for_execution(sfn: Any) -> None:
    arn = machine(sfn)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT_LONG))
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert json.loads(described["definition"]) == PASS  # what it ran, not what is now
    assert described["stateMachineArn"] == arn


def test_list_executions_filters_and_recorded_errors(sfn: Any, raw: Any) -> None:
    arn = machine(sfn, WAIT_LONG)
    arns = [sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(3)]
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert sorted(e["executionArn"] for e in running) == sorted(arns)
    page = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    assert len(page["executions"]) == 2 and "nextToken" in page
    assert sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"] == []
    # Recorded.
    assert error_of(raw.list_executions, stateMachineArn=arn, statusFilter="succeeded") == (
        "ValidationException",
        "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy "
        "constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, "
        "PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
        400,
    )
    token = "t" * 3097
    assert error_of(raw.list_executions, stateMachineArn=arn, nextToken=token) == (
        "ValidationException",
        f"1 validation error detected: Value '{token}' at 'nextToken' failed to satisfy "
        "constraint: Member must have length less than or equal to 3096",
        400,
    )
    for execution in arns:
        sfn.stop_execution(executionArn=execution)


def test_list_executions_of_an_express_machine(sfn: Any) -> None:
    arn = machine(sfn, type="EXPRESS")
    # Recorded.
    assert error_of(sfn.list_executions, stateMachineArn=arn) == (
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
        400,
    )


def test_get_execution_history_pages_backwards(sfn: Any) -> None:
    arn = machine(sfn)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    finished(sfn, execution)
    newest = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=2)
    assert [e["id"] for e in newest["events"]] == [4, 3]
    rest = sfn.get_execution_history(
        executionArn=execution, reverseOrder=True, nextToken=newest["nextToken"]
    )
    assert [e["id"] for e in rest["events"]] == [2, 1]


def test_stop_execution(sfn: Any) -> None:
    arn = machine(sfn, WAIT_LONG)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.stop_execution(executionArn=execution, error="Halt", cause="by hand")
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED",
        "Halt",
        "by hand",
    )
    assert described["redriveStatus"] == "REDRIVABLE"


def test_start_sync_execution(sfn: Any) -> None:
    express = machine(
        sfn,
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": True}}},
        type="EXPRESS",
    )
    result = sfn.start_sync_execution(stateMachineArn=express, input="{}")
    assert (result["status"], result["output"]) == ("SUCCEEDED", "7")
    quiet = sfn.start_sync_execution(stateMachineArn=express, includedData="METADATA_ONLY")
    assert "output" not in quiet and quiet["outputDetails"] == {"included": False}
    standard = machine(sfn)
    # Recorded.
    assert error_of(sfn.start_sync_execution, stateMachineArn=standard) == (
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
        400,
    )


def test_send_task_success(sfn: Any) -> None:
    arn = machine(sfn, CALLBACK)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = task_token(sfn, execution)
    sfn.send_task_success(taskToken=token, output='{"answer": 42}')
    assert json.loads(finished(sfn, execution)["output"]) == {"answer": 42}
    assert error_of(sfn.send_task_success, taskToken=token, output="{}")[0] == "TaskTimedOut"


def test_send_task_failure(sfn: Any) -> None:
    arn = machine(sfn, CALLBACK)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.send_task_failure(taskToken=task_token(sfn, execution), error="Nope", cause="said no")
    described = finished(sfn, execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Nope",
        "said no",
    )


def test_send_task_heartbeat_of_unknown_token(sfn: Any) -> None:
    assert error_of(sfn.send_task_heartbeat, taskToken="no-such-token") == (
        "TaskDoesNotExist",
        "Task Does Not Exist: 'no-such-token'",
        400,
    )


def test_redrive_execution_runs_the_failed_state_again(sfn: Any, live: Live) -> None:
    marker = live.tmp / unique("marker")
    arn = machine(
        sfn,
        {
            "StartAt": "Before",
            "States": {
                "Before": {"Type": "Pass", "Next": "Call"},
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                    "End": True,
                },
            },
        },
    )
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"marker": str(marker)}))[
        "executionArn"
    ]
    failed = finished(sfn, execution)
    assert (failed["status"], failed["redriveStatus"]) == ("FAILED", "REDRIVABLE")
    redriven = sfn.redrive_execution(executionArn=execution, clientToken="once")
    again = sfn.redrive_execution(executionArn=execution, clientToken="once")
    assert again["redriveDate"] == redriven["redriveDate"]  # the same token: the same redrive
    described = finished(sfn, execution)
    assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 1)
    assert "redriveDate" in described and "error" not in described
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert types.count("ExecutionRedriven") == 1
    assert types.count("PassStateEntered") == 1  # the state before is not run again
    assert sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert error_of(sfn.redrive_execution, executionArn=execution) == (
        "ExecutionNotRedrivable",
        "Execution is SUCCEEDED and cannot be redriven",
        400,
    )


# --- map runs -------------------------------------------------------------------------------


def distributed(processor_states: dict[str, Any], start: str, **map_fields: Any) -> dict[str, Any]:
    """A definition with one Distributed Map labelled ``items``."""
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Label": "items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": start,
                    "States": processor_states,
                },
                "End": True,
                **map_fields,
            }
        },
    }


def test_list_map_runs_and_describe_map_run(sfn: Any) -> None:
    name = unique("dmap")
    arn = machine(
        sfn,
        distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo", MaxConcurrency=1),
        name=name,
    )
    execution = sfn.start_execution(stateMachineArn=arn, name="run", input="[1, 2]")["executionArn"]
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    runs = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    assert len(runs) == 1
    run = runs[0]
    assert run["executionArn"] == execution
    assert run["stateMachineArn"] == f"{arn}/items"
    assert {"startDate", "stopDate"} <= run.keys()
    described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    counts = {
        "aborted": 0,
        "failed": 0,
        "pending": 0,
        "resultsWritten": 2,
        "running": 0,
        "succeeded": 2,
        "timedOut": 0,
        "total": 2,
    }
    # The shape of the recorded answer.
    assert described["itemCounts"] == counts and described["executionCounts"] == counts
    assert (described["status"], described["maxConcurrency"]) == ("SUCCEEDED", 1)
    assert (described["toleratedFailureCount"], described["toleratedFailurePercentage"]) == (0, 0.0)
    children = sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    assert [child["status"] for child in children] == ["SUCCEEDED", "SUCCEEDED"]


def test_describe_map_run_missing_and_invalid(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:mapRun:m/items:nope"
    assert error_of(sfn.describe_map_run, mapRunArn=missing) == (
        "ResourceNotFound",
        f"Resource not found: '{missing}'",
        400,
    )
    assert error_of(sfn.describe_map_run, mapRunArn="nope")[0] == "InvalidArn"


def test_list_map_runs_of_missing_execution(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:m:nope"
    assert error_of(sfn.list_map_runs, executionArn=missing)[0] == "ExecutionDoesNotExist"


def test_update_map_run_running_and_completed(sfn: Any) -> None:
    arn = machine(
        sfn,
        distributed(
            {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}, "Nap", MaxConcurrency=1
        ),
    )
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    runs = wait_for(
        lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"], lambda runs: len(runs) == 1
    )
    map_run = runs[0]["mapRunArn"]
    running = sfn.describe_map_run(mapRunArn=map_run)
    assert running["status"] == "RUNNING" and "stopDate" not in running
    assert running["itemCounts"]["total"] == 3
    assert running["itemCounts"]["running"] + running["itemCounts"]["pending"] == 3
    code, message, status = error_of(sfn.update_map_run, mapRunArn=map_run, maxConcurrency=5)
    assert (code, status) == ("UnsupportedOperation", 400)
    assert message.startswith("UpdateMapRun on a running map run is not supported")
    sfn.stop_execution(executionArn=execution)
    aborted = sfn.describe_map_run(mapRunArn=map_run)
    # The running item is aborted; the others never started, and stay pending (as AWS
    # documents for a map run that stops).
    assert aborted["status"] == "ABORTED"
    assert (aborted["itemCounts"]["aborted"], aborted["itemCounts"]["pending"]) == (1, 2)
    with pytest.raises(ClientError) as info:
        sfn.update_map_run(mapRunArn=map_run, maxConcurrency=5)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["reason"] == "CANNOT_UPDATE_COMPLETED_MAP_RUN"


# --- TestState -------------------------------------------------------------------------------


def test_test_state(sfn: Any) -> None:
    definition = json.dumps({"Type": "Pass", "Result": {"x": 1}, "End": True})
    result = sfn.test_state(definition=definition, roleArn=ROLE, input="{}")
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"]) == {"x": 1}
    code, _, status = error_of(sfn.test_state, definition="{")
    assert (code, status) == ("InvalidDefinition", 400)


class EngineWithoutTestState:
    """An engine that lacks an operation (as stepfn's did before TestState)."""

    def __init__(self) -> None:
        self.ids = IdSource(seed=1)
        self.operations = {"ListActivities": self.list_activities}

    def list_activities(self, maxResults: int | None = None, nextToken: str | None = None) -> Any:
        return {"activities": []}


def test_test_state_without_engine_support_is_unsupported_operation() -> None:
    server = Server(EngineWithoutTestState(), "127.0.0.1", 0)
    server.start_background()
    try:
        sfn = client(server.url)
        assert sfn.list_activities()["activities"] == []
        definition = json.dumps({"Type": "Pass", "End": True})
        assert error_of(sfn.test_state, definition=definition) == (
            "UnsupportedOperation",
            "TestState is not supported by this stepfn server yet: its engine has no "
            "TestState support (test_state)",
            400,
        )
        assert error_of(sfn.list_executions)[0] == "UnsupportedOperation"
        assert "TestState" in server.api.unsupported()
    finally:
        server.drain(5)
