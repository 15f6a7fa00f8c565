"""The control plane: every operation, its answers and AWS's errors.

Expected error texts are AWS's own where its answers were recorded (the recordings'
placeholders replaced by this test's ARNs); the rest check our documented wording.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from stepfn.arns import parse_state_machine_arn
from stepfn.clock import VIRTUAL_EPOCH, IdSource, VirtualClock
from stepfn.errors import ServiceError
from stepfn.service import control_base
from stepfn.service.engine import Engine
from stepfn.store import open_store
from stepfn.store.base import ExecutionRecord, NewStart, Store

ROLE = "arn:aws:iam::123456789012:role/stepfn"
PREFIX = "arn:aws:states:us-east-1:123456789012"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:my-group:*"

PASS = {
    "Comment": "BASE_PASS_RESULT",
    "StartAt": "State_1",
    "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}},
}
DEFINITION = json.dumps(PASS)


def variant(comment: str) -> str:
    """The pass definition with another comment: another revision."""
    return json.dumps({**PASS, "Comment": comment})


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def cp(store: Store, clock: VirtualClock) -> Engine:
    # The control plane's services, as the Engine composes them, with no loop running.
    return Engine(store, clock=clock, ids=IdSource(7), read_only=True)


def raises(code: str, call: Callable[[], Any]) -> str:
    """Run ``call``, expect a ServiceError with ``code``, return its message."""
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.code == code, info.value.message
    return info.value.message


def create(cp: Engine, name: str = "sm", definition: str = DEFINITION, **kw: Any) -> str:
    arn: str = cp.create_state_machine(name=name, definition=definition, roleArn=ROLE, **kw)[
        "stateMachineArn"
    ]
    return arn


def alias_routes(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"stateMachineVersionArn": arn, "weight": weight} for arn, weight in pairs]


# --- CreateStateMachine / DescribeStateMachine -------------------------------------------------


def test_create_and_describe(cp: Engine) -> None:
    created = cp.create_state_machine(name="sm", definition=DEFINITION, roleArn=ROLE)
    assert created == {
        "stateMachineArn": f"{PREFIX}:stateMachine:sm",
        "creationDate": datetime.fromtimestamp(VIRTUAL_EPOCH, tz=UTC),
    }
    described = cp.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described == {
        "stateMachineArn": f"{PREFIX}:stateMachine:sm",
        "name": "sm",
        "status": "ACTIVE",
        "definition": DEFINITION,
        "roleArn": ROLE,
        "type": "STANDARD",
        "creationDate": created["creationDate"],
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": {"enabled": False},
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }
    assert described["creationDate"].tzinfo is UTC


def test_create_express(cp: Engine) -> None:
    arn = create(cp, type="EXPRESS")
    assert cp.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"


def test_describe_metadata_only_hides_the_definition(cp: Engine) -> None:
    arn = create(cp)
    described = cp.describe_state_machine(stateMachineArn=arn, includedData="METADATA_ONLY")
    assert described["definition"] == "{}"


def test_name_with_a_dot_is_valid(cp: Engine) -> None:
    assert create(cp, name="state.machine_1").endswith(":stateMachine:state.machine_1")


@pytest.mark.parametrize(
    "name", ["sm name", "sm<x", "sm{x", "sm[x", "sm?x", "sm*x", 'sm"x', "sm#x", "sm%x",
             "sm\\x", "sm^x", "sm|x", "sm~x", "sm`x", "sm$x", "sm&x", "sm,x", "sm;x", "sm:x",
             "sm/x", "\x00sm", "sm\x1f", "sm\x7f"],
)  # fmt: skip
def test_create_refuses_invalid_names(cp: Engine, name: str) -> None:
    message = raises("InvalidName", lambda: create(cp, name=name))
    assert message == f"Invalid Name: '{name}'"


def test_create_checks_the_model_constraints_all_at_once(cp: Engine) -> None:
    long_name = "A" * 81
    message = raises(
        "ValidationException",
        lambda: cp.create_state_machine(name=long_name, definition=DEFINITION, roleArn=ROLE),
    )
    assert message == (
        f"1 validation error detected: Value '{long_name}' at 'name' failed to satisfy "
        "constraint: Member must have length less than or equal to 80"
    )
    message = raises(
        "ValidationException",
        lambda: cp.create_state_machine(
            name=None,  # type: ignore[arg-type]
            definition=DEFINITION,
            roleArn=ROLE,
            type="standard",
        ),
    )
    assert message == (
        "2 validation errors detected: Value null at 'name' failed to satisfy constraint: "
        "Member must not be null; Value 'standard' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [STANDARD, EXPRESS]"
    )


def test_create_refuses_a_wrongly_typed_member(cp: Engine) -> None:
    raises(
        "SerializationException",
        lambda: cp.create_state_machine(name="sm", definition={"a": 1}, roleArn=ROLE),  # type: ignore[arg-type]
    )


def test_create_refuses_an_invalid_definition(cp: Engine) -> None:
    message = raises(
        "InvalidDefinition", lambda: create(cp, definition=json.dumps({"StartAt": "A"}))
    )
    assert message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are "
        "required: [States] at /'"
    )


def test_invalid_definition_lists_every_problem(cp: Engine) -> None:
    definition = {
        "StartAt": "pass1",
        "States": {
            "pass1": {"Type": "Pass", "Next": "pass3"},
            "pass2": {"Type": "Pass", "End": True},
        },
    }
    message = raises("InvalidDefinition", lambda: create(cp, definition=json.dumps(definition)))
    assert message == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        'pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not '
        "reachable. at /States/pass2'"
    )


def test_invalid_json_definition(cp: Engine) -> None:
    message = raises("InvalidDefinition", lambda: create(cp, definition="not a definition"))
    assert message == (
        "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: Unrecognized token "
        "'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or "
        "'false')\n at [Source: (String)\"not a definition\"; line: 1, column: 4]'"
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
             "Parameters": {"Message.$": "$$.Task.Token", "TopicArn": "t"}, "End": True},
            "Express state machine does not support '.waitForTaskToken' service integration "
            " at /States/S/Resource",
        ),
        (
            {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
             "Parameters": {"StateMachineArn": f"{PREFIX}:stateMachine:x"}, "End": True},
            "Express state machine does not support '.sync' service integration at "
            "/States/S/Resource",
        ),
        (
            {"Type": "Task", "Resource": f"{PREFIX}:activity:a", "End": True},
            "Express state machine does not support Activity ARN at /States/S/Resource",
        ),
    ],
)  # fmt: skip
def test_express_refuses_what_aws_refuses(cp: Engine, state: dict[str, Any], expected: str) -> None:
    definition = json.dumps({"StartAt": "S", "States": {"S": state}})
    message = raises("InvalidDefinition", lambda: create(cp, definition=definition, type="EXPRESS"))
    assert message == f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {expected}'"


def test_warnings_do_not_stop_a_definition(cp: Engine) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"a": "$.x"}, "End": True}},
    }
    create(cp, definition=json.dumps(definition))


def test_create_refuses_a_role_that_is_no_arn(cp: Engine) -> None:
    message = raises(
        "InvalidArn", lambda: cp.create_state_machine(name="a", definition=DEFINITION, roleArn="r")
    )
    assert message == "Invalid Arn: 'Invalid ARN prefix: r'"


def test_create_again_is_idempotent(cp: Engine, clock: VirtualClock) -> None:
    first = cp.create_state_machine(name="sm", definition=DEFINITION, roleArn=ROLE)
    clock.advance(60)
    # A different role (or tags) does not make a different request, as AWS documents.
    again = cp.create_state_machine(
        name="sm", definition=DEFINITION, roleArn=f"{ROLE}-2", tags=[{"key": "k", "value": "v"}]
    )
    assert again == first
    described = cp.describe_state_machine(stateMachineArn=first["stateMachineArn"])
    assert described["roleArn"] == ROLE
    assert cp.list_tags_for_resource(resourceArn=first["stateMachineArn"]) == {"tags": []}


@pytest.mark.parametrize(
    "change",
    [
        {"definition": json.dumps(PASS, indent=4)},
        {"definition": json.dumps({**PASS, "Comment": "other"})},
        {"type": "EXPRESS"},
        {"tracingConfiguration": {"enabled": True}},
        {"loggingConfiguration": {"level": "OFF", "includeExecutionData": True}},
        {"publish": True},
    ],
)
def test_create_again_differently_is_a_clash(cp: Engine, change: dict[str, Any]) -> None:
    arn = create(cp)
    request: dict[str, Any] = {"name": "sm", "definition": DEFINITION, "roleArn": ROLE, **change}
    message = raises("StateMachineAlreadyExists", lambda: cp.create_state_machine(**request))
    assert message == f"State Machine Already Exists: '{arn}'"


def test_create_with_publish(cp: Engine) -> None:
    created = cp.create_state_machine(
        name="sm", definition=DEFINITION, roleArn=ROLE, publish=True, versionDescription="Hi!"
    )
    assert created["stateMachineVersionArn"] == f"{PREFIX}:stateMachine:sm:1"
    version = cp.describe_state_machine(stateMachineArn=created["stateMachineVersionArn"])
    assert version["stateMachineArn"] == f"{PREFIX}:stateMachine:sm:1"
    assert version["name"] == "sm"
    assert version["description"] == "Hi!"
    assert "revisionId" not in version
    machine = cp.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert "description" not in machine
    again = cp.create_state_machine(
        name="sm", definition=DEFINITION, roleArn=ROLE, publish=True, versionDescription="Hi!"
    )
    assert again == created
    raises(
        "StateMachineAlreadyExists",
        lambda: cp.create_state_machine(
            name="sm", definition=DEFINITION, roleArn=ROLE, publish=True, versionDescription="x"
        ),
    )


def test_version_description_needs_publish(cp: Engine) -> None:
    message = raises("ValidationException", lambda: create(cp, versionDescription="HelloWorld!"))
    assert message == "Version description can only be set when publish is true"


def test_create_with_tags(cp: Engine) -> None:
    tags = [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "value2"}]
    arn = create(cp, tags=tags)
    assert cp.list_tags_for_resource(resourceArn=arn) == {"tags": tags}


def test_create_with_too_many_tags(cp: Engine) -> None:
    tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]
    raises("TooManyTags", lambda: create(cp, tags=tags))


# --- logging and tracing ---------------------------------------------------------------------


@pytest.mark.parametrize("level", ["ALL", "ERROR", "FATAL", "OFF"])
@pytest.mark.parametrize("include", [False, True])
def test_logging_configuration(cp: Engine, level: str, include: bool) -> None:
    logging = {
        "level": level,
        "includeExecutionData": include,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    arn = create(cp, loggingConfiguration=logging)
    assert cp.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"] == logging


@pytest.mark.parametrize(
    ("given", "described"),
    [
        ({}, {"level": "OFF", "includeExecutionData": False}),
        ({"destinations": []}, {"level": "OFF", "includeExecutionData": False, "destinations": []}),
    ],
)
def test_incomplete_logging_configuration(
    cp: Engine, given: dict[str, Any], described: dict[str, Any]
) -> None:
    arn = create(cp, loggingConfiguration=given)
    assert cp.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"] == described


@pytest.mark.parametrize(
    "logging",
    [
        {"level": "ALL"},
        {"level": "FATAL"},
        {"level": "ERROR"},
        {
            "level": "ALL",
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}},
                {"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP.replace("my", "other")}},
            ],
        },
    ],
)
def test_invalid_logging_configuration(cp: Engine, logging: dict[str, Any]) -> None:
    message = raises(
        "InvalidLoggingConfiguration", lambda: create(cp, loggingConfiguration=logging)
    )
    assert message == "Invalid Logging Configuration: Must specify exactly one Log Destination."


def test_logging_destination_must_be_a_log_group(cp: Engine) -> None:
    logging = {
        "level": "ALL",
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "my-group"}}],
    }
    message = raises(
        "InvalidLoggingConfiguration", lambda: create(cp, loggingConfiguration=logging)
    )
    assert message == "Invalid Logging Configuration: Log Destination not found."


def test_logging_level_must_be_known(cp: Engine) -> None:
    message = raises("ValidationException", lambda: create(cp, loggingConfiguration={"level": "x"}))
    assert message == (
        "1 validation error detected: Value 'x' at 'loggingConfiguration.level' failed to "
        "satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]"
    )


def test_tracing_and_encryption(cp: Engine) -> None:
    encryption = {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/k"}
    arn = create(cp, tracingConfiguration={"enabled": True}, encryptionConfiguration=encryption)
    described = cp.describe_state_machine(stateMachineArn=arn)
    assert described["tracingConfiguration"] == {"enabled": True}
    assert described["encryptionConfiguration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kmsKeyId": "alias/k",
        "kmsDataKeyReusePeriodSeconds": 300,
    }
    raises(
        "InvalidEncryptionConfiguration",
        lambda: create(cp, "b", encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY"}),
    )


# --- DescribeStateMachine errors -------------------------------------------------------------


def test_describe_errors(cp: Engine) -> None:
    arn = create(cp)
    message = raises(
        "InvalidArn", lambda: cp.describe_state_machine(stateMachineArn="not_a_valid_arn")
    )
    assert message == "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"
    missing = f"{PREFIX}:stateMachine:nope"
    message = raises(
        "StateMachineDoesNotExist", lambda: cp.describe_state_machine(stateMachineArn=missing)
    )
    assert message == f"State Machine Does Not Exist: '{missing}'"
    message = raises(
        "InvalidArn",
        lambda: cp.describe_state_machine(stateMachineArn=f"{PREFIX}:activity:a"),
    )
    assert message == "Invalid Arn: 'Resource type not valid in this context: activity'"
    raises("ValidationException", lambda: cp.describe_state_machine(stateMachineArn=f"{arn}/map"))
    raises(
        "StateMachineDoesNotExist", lambda: cp.describe_state_machine(stateMachineArn=f"{arn}:1")
    )
    raises(
        "StateMachineDoesNotExist", lambda: cp.describe_state_machine(stateMachineArn=f"{arn}:A")
    )
    raises("InvalidArn", lambda: cp.describe_state_machine(stateMachineArn=f"{arn}:1:2"))


def test_describe_lists_variable_references(cp: Engine) -> None:
    definition = {
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass", "Assign": {"guess": "g", "answer": "a"}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "Ok"}],
                "Default": "Wrong",
            },
            "Ok": {"Type": "Pass", "End": True},
            "Wrong": {"Type": "Pass", "Assign": {"guess.$": "$answer"}, "Next": "Check"},
        },
    }
    arn = create(cp, definition=json.dumps(definition))
    described = cp.describe_state_machine(stateMachineArn=arn)
    assert described["variableReferences"] == {"Check": ["answer", "guess"], "Wrong": ["answer"]}
    assert "variableReferences" not in cp.describe_state_machine(stateMachineArn=create(cp, "b"))


# --- UpdateStateMachine ----------------------------------------------------------------------


def test_update_gives_a_new_revision_only_for_a_change(cp: Engine, clock: VirtualClock) -> None:
    arn = create(cp)
    clock.advance(10)
    first = cp.update_state_machine(stateMachineArn=arn, roleArn=f"{ROLE}-1")
    assert first["updateDate"] == datetime.fromtimestamp(VIRTUAL_EPOCH + 10, tz=UTC)
    revision = first["revisionId"]
    assert len(revision) == 36
    described = cp.describe_state_machine(stateMachineArn=arn)
    assert described["revisionId"] == revision
    assert described["roleArn"] == f"{ROLE}-1"
    # The same parameters again: the revision stays.
    again = cp.update_state_machine(stateMachineArn=arn, roleArn=f"{ROLE}-1")
    assert again["revisionId"] == revision
    changed = cp.update_state_machine(stateMachineArn=arn, definition=variant("R2"))
    assert changed["revisionId"] != revision
    assert cp.describe_state_machine(stateMachineArn=arn)["definition"] == variant("R2")


def test_update_logging_configuration(cp: Engine) -> None:
    logging = {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    arn = create(cp, loggingConfiguration=logging)
    first = cp.update_state_machine(
        stateMachineArn=arn, loggingConfiguration={**logging, "level": "FATAL"}
    )
    same = cp.update_state_machine(
        stateMachineArn=arn, loggingConfiguration={**logging, "level": "FATAL"}
    )
    assert same["revisionId"] == first["revisionId"]
    flag = cp.update_state_machine(
        stateMachineArn=arn,
        loggingConfiguration={**logging, "level": "FATAL", "includeExecutionData": False},
    )
    assert flag["revisionId"] != first["revisionId"]
    message = raises(
        "InvalidLoggingConfiguration",
        lambda: cp.update_state_machine(stateMachineArn=arn, loggingConfiguration={"level": "ALL"}),
    )
    assert message == "Invalid Logging Configuration: Must specify exactly one Log Destination."


def test_update_needs_something_to_change(cp: Engine) -> None:
    arn = create(cp)
    message = raises(
        "MissingRequiredParameter", lambda: cp.update_state_machine(stateMachineArn=arn)
    )
    assert message == (
        "Either the definition, the role ARN, the LoggingConfiguration, or the "
        "TracingConfiguration must be specified"
    )


def test_update_of_a_version_arn_is_refused(cp: Engine) -> None:
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("R1"), publish=True)
    for publish in (False, True):
        message = raises(
            "StateMachineDoesNotExist",
            lambda publish=publish: cp.update_state_machine(  # type: ignore[misc]
                stateMachineArn=f"{arn}:2", definition=variant("R3"), publish=publish
            ),
        )
        assert message == f"State Machine Does Not Exist: '{arn}:2'"


def test_update_errors(cp: Engine) -> None:
    arn = create(cp)
    missing = f"{PREFIX}:stateMachine:nope"
    raises(
        "StateMachineDoesNotExist",
        lambda: cp.update_state_machine(stateMachineArn=missing, definition=DEFINITION),
    )
    raises(
        "InvalidDefinition",
        lambda: cp.update_state_machine(stateMachineArn=arn, definition="{}"),
    )
    raises(
        "ValidationException",
        lambda: cp.update_state_machine(
            stateMachineArn=arn, definition=DEFINITION, versionDescription="d"
        ),
    )
    raises("InvalidArn", lambda: cp.update_state_machine(stateMachineArn=arn, roleArn="role"))


def test_update_checks_the_definition_for_the_machine_type(cp: Engine) -> None:
    arn = create(cp, type="EXPRESS")
    definition = {
        "StartAt": "S",
        "States": {"S": {"Type": "Task", "Resource": f"{PREFIX}:activity:a", "End": True}},
    }
    raises(
        "InvalidDefinition",
        lambda: cp.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition)),
    )


def test_update_with_publish(cp: Engine) -> None:
    arn = create(cp)
    first = cp.update_state_machine(stateMachineArn=arn, definition=variant("R1"), publish=True)
    assert first["stateMachineVersionArn"] == f"{arn}:1"
    second = cp.update_state_machine(
        stateMachineArn=arn, definition=variant("R2"), publish=True, versionDescription="two"
    )
    assert second["stateMachineVersionArn"] == f"{arn}:2"
    assert second["revisionId"] != first["revisionId"]
    listed = cp.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2", f"{arn}:1"]
    version = cp.describe_state_machine(stateMachineArn=f"{arn}:2")
    assert version["description"] == "two"
    assert version["revisionId"] == second["revisionId"]
    assert version["definition"] == variant("R2")


@pytest.mark.parametrize("publish_on_creation", [False, True])
def test_update_without_change_publishes_the_same_version(
    cp: Engine, publish_on_creation: bool
) -> None:
    arn = create(cp, publish=publish_on_creation)
    for _ in range(2):
        updated = cp.update_state_machine(stateMachineArn=arn, definition=DEFINITION, publish=True)
        assert updated["stateMachineVersionArn"] == f"{arn}:1"
        assert "revisionId" not in updated


# --- DeleteStateMachine ----------------------------------------------------------------------


def test_delete(cp: Engine) -> None:
    arn = create(cp, publish=True, tags=[{"key": "k", "value": "v"}])
    cp.create_state_machine_alias(name="PROD", routingConfiguration=alias_routes((f"{arn}:1", 100)))
    assert cp.delete_state_machine(stateMachineArn=arn) == {}
    raises("StateMachineDoesNotExist", lambda: cp.describe_state_machine(stateMachineArn=arn))
    assert cp.list_state_machine_versions(stateMachineArn=arn) == {"stateMachineVersions": []}
    raises(
        "ResourceNotFound",
        lambda: cp.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:PROD"),
    )
    # Created again, it starts afresh: no tags, versions numbered from 1.
    again = cp.create_state_machine(name="sm", definition=DEFINITION, roleArn=ROLE, publish=True)
    assert again["stateMachineVersionArn"] == f"{arn}:1"
    assert cp.list_tags_for_resource(resourceArn=arn) == {"tags": []}


def test_delete_nonexistent_and_invalid(cp: Engine) -> None:
    assert cp.delete_state_machine(stateMachineArn=f"{PREFIX}:stateMachine:nope") == {}
    raises("InvalidArn", lambda: cp.delete_state_machine(stateMachineArn="nope"))
    arn = create(cp, publish=True)
    raises("ValidationException", lambda: cp.delete_state_machine(stateMachineArn=f"{arn}:1"))


def _running_execution(store: Store, machine_arn: str) -> ExecutionRecord:
    record = ExecutionRecord(
        arn=machine_arn.replace(":stateMachine:", ":execution:") + ":run",
        state_machine_arn=machine_arn,
        name="run",
        type="STANDARD",
        status="RUNNING",
        input="{}",
        start_date=VIRTUAL_EPOCH,
        definition=DEFINITION,
    )
    store.create_execution(NewStart(record, []))
    return record


def test_delete_waits_for_running_executions(cp: Engine, store: Store) -> None:
    arn = create(cp)
    execution = _running_execution(store, arn)
    cp.delete_state_machine(stateMachineArn=arn)
    assert cp.describe_state_machine(stateMachineArn=arn)["status"] == "DELETING"
    message = raises(
        "StateMachineDeleting",
        lambda: cp.update_state_machine(stateMachineArn=arn, definition=variant("x")),
    )
    assert arn in message
    raises("StateMachineDeleting", lambda: create(cp))
    raises("StateMachineDeleting", lambda: cp.resolve_target(arn))
    raises("StateMachineDeleting", lambda: cp.publish_state_machine_version(stateMachineArn=arn))
    assert cp.delete_state_machine(stateMachineArn=arn) == {}
    execution.status = "SUCCEEDED"
    store.update_execution(execution)
    raises("StateMachineDoesNotExist", lambda: cp.describe_state_machine(stateMachineArn=arn))
    assert cp.list_state_machines() == {"stateMachines": []}


# --- ListStateMachines -----------------------------------------------------------------------


def test_list_state_machines_by_name_in_pages(cp: Engine) -> None:
    names = [f"statemachine_{i}" for i in range(13)]
    for name in names:
        create(cp, name)
    seen: list[str] = []
    token = None
    while True:
        kw: dict[str, Any] = {"maxResults": 5}
        if token:
            kw["nextToken"] = token
        listed = cp.list_state_machines(**kw)
        assert 0 < len(listed["stateMachines"]) <= 5
        seen += [item["name"] for item in listed["stateMachines"]]
        token = listed.get("nextToken")
        if token is None:
            break
    # By name, as AWS lists them: statemachine_0, statemachine_10, ..., statemachine_9.
    assert seen == sorted(names)
    assert seen[:3] == ["statemachine_0", "statemachine_1", "statemachine_10"]
    item = cp.list_state_machines(maxResults=1)["stateMachines"][0]
    assert item == {
        "stateMachineArn": f"{PREFIX}:stateMachine:statemachine_0",
        "name": "statemachine_0",
        "type": "STANDARD",
        "creationDate": datetime.fromtimestamp(VIRTUAL_EPOCH, tz=UTC),
    }
    everything = cp.list_state_machines(maxResults=0)
    assert len(everything["stateMachines"]) == 13
    assert "nextToken" not in everything


def test_list_state_machines_errors(cp: Engine) -> None:
    message = raises("ValidationException", lambda: cp.list_state_machines(maxResults=1001))
    assert message == (
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 1000"
    )
    long_token = "x" * 1025
    message = raises("ValidationException", lambda: cp.list_state_machines(nextToken=long_token))
    assert message == (
        f"1 validation error detected: Value '{long_token}' at 'nextToken' failed to satisfy "
        "constraint: Member must have length less than or equal to 1024"
    )
    message = raises("InvalidToken", lambda: cp.list_state_machines(nextToken="InvalidToken"))
    assert message == "Invalid Token: 'Invalid token'"
    raises("ValidationException", lambda: cp.list_state_machines(maxResults=-1))


def test_a_token_of_another_listing_is_invalid(cp: Engine) -> None:
    for name in ("a", "b"):
        create(cp, name)
        cp.create_activity(name=name)
    token = cp.list_activities(maxResults=1)["nextToken"]
    raises("InvalidToken", lambda: cp.list_state_machines(nextToken=token))
    listed = cp.list_state_machines(maxResults=1)
    assert [
        m["name"] for m in cp.list_state_machines(nextToken=listed["nextToken"])["stateMachines"]
    ] == ["b"]


# --- versions --------------------------------------------------------------------------------


def test_publish_versions_of_revisions(cp: Engine) -> None:
    arn = create(cp)
    r1 = cp.update_state_machine(stateMachineArn=arn, definition=variant("R1"))["revisionId"]
    v1 = cp.publish_state_machine_version(stateMachineArn=arn)
    assert v1["stateMachineVersionArn"] == f"{arn}:1"
    described = cp.describe_state_machine(stateMachineArn=f"{arn}:1")
    assert described["revisionId"] == r1
    assert "description" not in described
    r2 = cp.update_state_machine(stateMachineArn=arn, definition=variant("R2"))["revisionId"]
    v2 = cp.publish_state_machine_version(stateMachineArn=arn, description="PublishedV2Description")
    assert v2["stateMachineVersionArn"] == f"{arn}:2"
    assert cp.describe_state_machine(stateMachineArn=f"{arn}:2")["description"] == (
        "PublishedV2Description"
    )
    r3 = cp.update_state_machine(stateMachineArn=arn, definition=variant("R3"))["revisionId"]
    message = raises(
        "ConflictException",
        lambda: cp.publish_state_machine_version(stateMachineArn=arn, revisionId=r2),
    )
    assert message == (
        f"Failed to publish the State Machine version for revision {r2}. "
        f"The current State Machine revision is {r3}."
    )
    v3 = cp.publish_state_machine_version(stateMachineArn=arn, revisionId=r3)
    assert v3["stateMachineVersionArn"] == f"{arn}:3"


def test_publish_is_idempotent(cp: Engine) -> None:
    arn = create(cp)
    first = cp.publish_state_machine_version(stateMachineArn=arn)
    again = cp.publish_state_machine_version(stateMachineArn=arn, revisionId="INITIAL")
    assert (
        again
        == first
        == {
            "creationDate": datetime.fromtimestamp(VIRTUAL_EPOCH, tz=UTC),
            "stateMachineVersionArn": f"{arn}:1",
        }
    )
    assert len(cp.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]) == 1


def test_version_numbers_are_never_reused(cp: Engine) -> None:
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("R2"), publish=True)
    cp.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2")
    published = cp.publish_state_machine_version(stateMachineArn=arn)
    assert published["stateMachineVersionArn"] == f"{arn}:3"
    # The counter never shows as a tag.
    assert cp.list_tags_for_resource(resourceArn=arn) == {"tags": []}


def test_publish_errors(cp: Engine) -> None:
    missing = f"{PREFIX}:stateMachine:nope"
    message = raises(
        "StateMachineDoesNotExist",
        lambda: cp.publish_state_machine_version(stateMachineArn=missing),
    )
    assert message == f"State Machine Does Not Exist: '{missing}'"
    message = raises(
        "InvalidArn", lambda: cp.publish_state_machine_version(stateMachineArn="invalid_arn")
    )
    assert message == "Invalid Arn: 'Invalid ARN prefix: invalid_arn'"
    arn = create(cp)
    raises(
        "ConflictException",
        lambda: cp.publish_state_machine_version(stateMachineArn=arn, revisionId="other"),
    )


def test_version_quota(cp: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_base, "MAX_VERSIONS", 2)
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("2"), publish=True)
    message = raises(
        "ServiceQuotaExceededException",
        lambda: cp.update_state_machine(stateMachineArn=arn, definition=variant("3"), publish=True),
    )
    assert "(2)" in message


def test_list_versions_in_pages(cp: Engine) -> None:
    arn = create(cp)
    for n in range(1, 14):
        cp.update_state_machine(stateMachineArn=arn, definition=variant(f"R{n}"), publish=True)
    first = cp.list_state_machine_versions(stateMachineArn=arn, maxResults=10)
    assert [v["stateMachineVersionArn"] for v in first["stateMachineVersions"]] == [
        f"{arn}:{n}" for n in range(13, 3, -1)
    ]
    second = cp.list_state_machine_versions(
        stateMachineArn=arn, maxResults=3, nextToken=first["nextToken"]
    )
    assert [v["stateMachineVersionArn"] for v in second["stateMachineVersions"]] == [
        f"{arn}:3",
        f"{arn}:2",
        f"{arn}:1",
    ]
    assert "nextToken" not in second
    everything = cp.list_state_machine_versions(stateMachineArn=arn, maxResults=0)
    assert len(everything["stateMachineVersions"]) == 13
    raises(
        "ValidationException",
        lambda: cp.list_state_machine_versions(stateMachineArn=arn, maxResults=1001),
    )
    raises(
        "ValidationException",
        lambda: cp.list_state_machine_versions(stateMachineArn=arn, nextToken="x" * 1025),
    )
    raises("InvalidArn", lambda: cp.list_state_machine_versions(stateMachineArn=f"{arn}:1"))
    missing = cp.list_state_machine_versions(stateMachineArn=f"{PREFIX}:stateMachine:nope")
    assert missing == {"stateMachineVersions": []}


def test_delete_version(cp: Engine) -> None:
    arn = create(cp, publish=True)
    assert cp.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1") == {}
    assert cp.list_state_machine_versions(stateMachineArn=arn) == {"stateMachineVersions": []}
    assert cp.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1") == {}
    raises("InvalidArn", lambda: cp.delete_state_machine_version(stateMachineVersionArn=arn))


def test_a_version_an_alias_uses_cannot_be_deleted(cp: Engine) -> None:
    arn = create(cp, publish=True)
    cp.create_state_machine_alias(name="PROD", routingConfiguration=alias_routes((f"{arn}:1", 100)))
    message = raises(
        "ConflictException",
        lambda: cp.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1"),
    )
    assert message == (
        "Version to be deleted must not be referenced by an alias. Current list of aliases "
        "referencing this version: [PROD]"
    )
    cp.update_state_machine(stateMachineArn=arn, definition=variant("v1"), publish=True)
    cp.update_state_machine_alias(
        stateMachineAliasArn=f"{arn}:PROD", routingConfiguration=alias_routes((f"{arn}:2", 100))
    )
    assert cp.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1") == {}


# --- aliases ---------------------------------------------------------------------------------


def test_alias_lifecycle(cp: Engine, clock: VirtualClock) -> None:
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("v2"), publish=True)
    assert cp.list_state_machine_aliases(stateMachineArn=arn) == {"stateMachineAliases": []}
    created = cp.create_state_machine_alias(
        name="PROD",
        description="create state machine alias description",
        routingConfiguration=alias_routes((f"{arn}:1", 100)),
    )
    alias_arn = f"{arn}:PROD"
    assert created == {
        "stateMachineAliasArn": alias_arn,
        "creationDate": datetime.fromtimestamp(VIRTUAL_EPOCH, tz=UTC),
    }
    clock.advance(5)
    updated = cp.update_state_machine_alias(stateMachineAliasArn=alias_arn, description="new")
    assert updated == {"updateDate": datetime.fromtimestamp(VIRTUAL_EPOCH + 5, tz=UTC)}
    routes = alias_routes((f"{arn}:1", 50), (f"{arn}:2", 50))
    cp.update_state_machine_alias(stateMachineAliasArn=alias_arn, routingConfiguration=routes)
    assert cp.describe_state_machine_alias(stateMachineAliasArn=alias_arn) == {
        "stateMachineAliasArn": alias_arn,
        "name": "PROD",
        "description": "new",
        "routingConfiguration": routes,
        "creationDate": datetime.fromtimestamp(VIRTUAL_EPOCH, tz=UTC),
        "updateDate": datetime.fromtimestamp(VIRTUAL_EPOCH + 5, tz=UTC),
    }
    assert cp.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"] == [
        {"stateMachineAliasArn": alias_arn, "creationDate": created["creationDate"]}
    ]
    assert cp.delete_state_machine_alias(stateMachineAliasArn=alias_arn) == {}
    assert cp.delete_state_machine_alias(stateMachineAliasArn=alias_arn) == {}
    message = raises(
        "ResourceNotFound",
        lambda: cp.update_state_machine_alias(stateMachineAliasArn=alias_arn, description="d"),
    )
    assert message == "Request references a resource that does not exist."
    raises(
        "ResourceNotFound", lambda: cp.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    )


def test_create_alias_is_idempotent(cp: Engine, clock: VirtualClock) -> None:
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("v1"), publish=True)
    routes = alias_routes((f"{arn}:1", 100))
    first = cp.create_state_machine_alias(name="A", description="d", routingConfiguration=routes)
    clock.advance(1)
    assert (
        cp.create_state_machine_alias(name="A", description="d", routingConfiguration=routes)
        == first
    )
    expected = (
        "Failed to create alias because an alias with the same name and a different routing "
        "configuration already exists."
    )
    message = raises(
        "ConflictException",
        lambda: cp.create_state_machine_alias(
            name="A", description="x", routingConfiguration=routes
        ),
    )
    assert message == expected
    other = alias_routes((f"{arn}:1", 50), (f"{arn}:2", 50))
    message = raises(
        "ConflictException",
        lambda: cp.create_state_machine_alias(
            name="A", description="d", routingConfiguration=other
        ),
    )
    assert message == expected


def test_alias_routing_must_name_versions(cp: Engine) -> None:
    arn = create(cp, publish=True)
    message = raises(
        "ValidationException",
        lambda: cp.create_state_machine_alias(
            name="A", routingConfiguration=alias_routes((arn, 100))
        ),
    )
    assert message == (
        f"Routing configuration must contain state machine version ARNs. Received: [{arn}]"
    )


def test_alias_routing_errors(cp: Engine) -> None:
    arn = create(cp, publish=True)
    for n in (2, 3):
        cp.update_state_machine(stateMachineArn=arn, definition=variant(f"{n}"), publish=True)
    v1, v2, v3 = (f"{arn}:{n}" for n in (1, 2, 3))

    def alias(*pairs: tuple[str, int]) -> Callable[[], Any]:
        return lambda: cp.create_state_machine_alias(
            name="A", routingConfiguration=alias_routes(*pairs)
        )

    assert raises("ValidationException", alias((v1, 50), (v2, 30), (v3, 20))) == (
        "1 validation error detected: Value '[RoutingConfigurationListItem("
        f"stateMachineVersionArn={v1}, weight=50), RoutingConfigurationListItem("
        f"stateMachineVersionArn={v2}, weight=30), RoutingConfigurationListItem("
        f"stateMachineVersionArn={v3}, weight=20)]' at 'routingConfiguration' failed to "
        "satisfy constraint: Member must have length less than or equal to 2"
    )
    assert raises("ValidationException", alias((v1, 50), (v1, 50))) == (
        "Routing configuration must contain distinct state machine version ARNs. "
        f"Received: [{v1}, {v1}]"
    )
    assert raises("ValidationException", alias((arn, 70), (v2, 30))) == (
        f"Routing configuration must contain state machine version ARNs. Received: [{arn}, {v2}]"
    )
    assert raises("ValidationException", alias((v1, 101))) == (
        "1 validation error detected: Value '101' at 'routingConfiguration.1.member.weight' "
        "failed to satisfy constraint: Member must have value less than or equal to 100"
    )
    assert raises("ValidationException", alias((v1, 70), (v2, 29))) == (
        "Sum of routing configuration weights must equal 100. Received: [70, 29]"
    )
    assert raises("ValidationException", alias((v1, 70), (v2, 31))) == (
        "Sum of routing configuration weights must equal 100. Received: [70, 31]"
    )
    raises("ValidationException", alias())
    other = create(cp, "other", publish=True)
    raises("ValidationException", alias((v1, 50), (f"{other}:1", 50)))
    raises("ResourceNotFound", alias((f"{arn}:9", 100)))


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("123", "pattern"),
        ("A" * 81, "length"),
        ("INVALID ALIAS", "pattern"),
        ("!INVALID", "pattern"),
        ("ALIAS@", "pattern"),
    ],
)
def test_alias_names(cp: Engine, name: str, constraint: str) -> None:
    arn = create(cp, publish=True)
    message = raises(
        "ValidationException",
        lambda: cp.create_state_machine_alias(
            name=name, routingConfiguration=alias_routes((f"{arn}:1", 100))
        ),
    )
    rule = (
        "Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"
        if constraint == "pattern"
        else "Member must have length less than or equal to 80"
    )
    assert message == (
        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
        f"{rule}"
    )


def test_list_aliases_in_pages(cp: Engine, clock: VirtualClock) -> None:
    arn = create(cp, publish=True)
    for n in (1, 2, 3):
        cp.create_state_machine_alias(
            name=f"AliasName-{n}", routingConfiguration=alias_routes((f"{arn}:1", 100))
        )
        clock.advance(1)
    first = cp.list_state_machine_aliases(stateMachineArn=arn, maxResults=1)
    assert [a["stateMachineAliasArn"] for a in first["stateMachineAliases"]] == [
        f"{arn}:AliasName-1"
    ]
    rest = cp.list_state_machine_aliases(stateMachineArn=arn, nextToken=first["nextToken"])
    assert [a["stateMachineAliasArn"] for a in rest["stateMachineAliases"]] == [
        f"{arn}:AliasName-2",
        f"{arn}:AliasName-3",
    ]
    message = raises(
        "InvalidToken",
        lambda: cp.list_state_machine_aliases(stateMachineArn=arn, nextToken="InvalidToken"),
    )
    assert message == "Invalid Token: 'Invalid token'"
    raises(
        "ValidationException",
        lambda: cp.list_state_machine_aliases(stateMachineArn=arn, maxResults=1001),
    )
    assert (
        len(cp.list_state_machine_aliases(stateMachineArn=arn, maxResults=0)["stateMachineAliases"])
        == 3
    )


def test_list_aliases_of_a_version(cp: Engine) -> None:
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("2"), publish=True)
    cp.create_state_machine_alias(name="one", routingConfiguration=alias_routes((f"{arn}:1", 100)))
    cp.create_state_machine_alias(name="two", routingConfiguration=alias_routes((f"{arn}:2", 100)))
    listed = cp.list_state_machine_aliases(stateMachineArn=f"{arn}:2")["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [f"{arn}:two"]
    missing = f"{PREFIX}:stateMachine:nope"
    message = raises(
        "StateMachineDoesNotExist", lambda: cp.list_state_machine_aliases(stateMachineArn=missing)
    )
    assert message == f"State Machine Does Not Exist: '{missing}'"
    raises("ResourceNotFound", lambda: cp.list_state_machine_aliases(stateMachineArn=f"{arn}:7"))


def test_alias_errors(cp: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = create(cp, publish=True)
    raises("InvalidArn", lambda: cp.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:1"))
    raises("InvalidArn", lambda: cp.delete_state_machine_alias(stateMachineAliasArn="nope"))
    cp.create_state_machine_alias(name="A", routingConfiguration=alias_routes((f"{arn}:1", 100)))
    raises(
        "ValidationException",
        lambda: cp.update_state_machine_alias(stateMachineAliasArn=f"{arn}:A"),
    )
    monkeypatch.setattr("stepfn.service.aliases.MAX_ALIASES", 1)
    raises(
        "ServiceQuotaExceededException",
        lambda: cp.create_state_machine_alias(
            name="B", routingConfiguration=alias_routes((f"{arn}:1", 100))
        ),
    )


# --- resolve_target --------------------------------------------------------------------------


class FixedDraw(random.Random):
    """A random source that always draws the same number."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_resolve_target(cp: Engine) -> None:
    arn = create(cp, publish=True)
    revision = cp.update_state_machine(stateMachineArn=arn, definition=variant("2"), publish=True)[
        "revisionId"
    ]
    cp.update_state_machine(stateMachineArn=arn, definition=variant("3"))
    target = cp.resolve_target(arn)
    assert (target.state_machine_arn, target.definition, target.version_arn) == (
        arn,
        variant("3"),
        None,
    )
    assert target.role_arn == ROLE and target.type == "STANDARD" and target.name == "sm"
    version = cp.resolve_target(f"{arn}:2")
    assert (version.definition, version.version_arn, version.revision_id) == (
        variant("2"),
        f"{arn}:2",
        revision,
    )
    routes = alias_routes((f"{arn}:1", 30), (f"{arn}:2", 70))
    cp.create_state_machine_alias(name="LIVE", routingConfiguration=routes)
    low = cp.resolve_target(f"{arn}:LIVE", rng=FixedDraw(0.29))
    high = cp.resolve_target(f"{arn}:LIVE", rng=FixedDraw(0.30))
    assert (low.version_arn, low.alias_arn) == (f"{arn}:1", f"{arn}:LIVE")
    assert (high.version_arn, high.definition) == (f"{arn}:2", variant("2"))
    # Without a random source the engine's ids draw, deterministically for a seed.
    picks = {cp.resolve_target(f"{arn}:LIVE").version_arn for _ in range(50)}
    assert picks == {f"{arn}:1", f"{arn}:2"}


def test_resolve_target_errors(cp: Engine) -> None:
    arn = create(cp)
    for missing in (f"{PREFIX}:stateMachine:nope", f"{arn}:4", f"{arn}:NOPE"):
        message = raises("StateMachineDoesNotExist", lambda m=missing: cp.resolve_target(m))  # type: ignore[misc]
        assert message == f"State Machine Does Not Exist: '{missing}'"
    message = raises("InvalidArn", lambda: cp.resolve_target(f"{PREFIX}:express:sm:e:1"))
    assert message == "Invalid Arn: 'Resource type not valid in this context: express'"
    raises("ValidationException", lambda: cp.resolve_target(f"{arn}/Map"))


# --- activities ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Activity1", "activity-name_123", "activity.name.v2", "a" * 80])
def test_activity_lifecycle(cp: Engine, clock: VirtualClock, name: str) -> None:
    created = cp.create_activity(name=name)
    arn = f"{PREFIX}:activity:{name}"
    assert created == {
        "activityArn": arn,
        "creationDate": datetime.fromtimestamp(VIRTUAL_EPOCH, tz=UTC),
    }
    clock.advance(3)
    assert cp.create_activity(name=name) == created
    assert cp.describe_activity(activityArn=arn) == {
        "activityArn": arn,
        "name": name,
        "creationDate": created["creationDate"],
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }
    assert cp.delete_activity(activityArn=arn) == {}
    assert cp.delete_activity(activityArn=arn) == {}
    message = raises("ActivityDoesNotExist", lambda: cp.describe_activity(activityArn=arn))
    assert message == f"Activity Does Not Exist: '{arn}'"


@pytest.mark.parametrize(
    "name", ["activity name", "activity<name", "activity>name", "activity{name", "activity}name",
             "activity[name", "activity]name", "activity?name", "activity*name", 'activity"name',
             "activity#name", "activity%name", "activity\\name", "activity^name", "activity|name",
             "activity~name", "activity`name", "activity$name", "activity&name", "activity,name",
             "activity;name", "activity:name", "activity/name", "\x00activity", "activity\x1f",
             "activity\x7f"],
)  # fmt: skip
def test_activity_invalid_names(cp: Engine, name: str) -> None:
    assert raises("InvalidName", lambda: cp.create_activity(name=name)) == f"Invalid Name: '{name}'"


def test_activity_errors(cp: Engine) -> None:
    message = raises("InvalidArn", lambda: cp.describe_activity(activityArn="no_an_activity_arn"))
    assert message == "Invalid Arn: 'Invalid ARN prefix: no_an_activity_arn'"
    message = raises(
        "InvalidArn", lambda: cp.delete_activity(activityArn=f"{PREFIX}:stateMachine:x")
    )
    assert message == "Invalid Arn: 'Resource type not valid in this context: stateMachine'"
    raises("ValidationException", lambda: cp.create_activity(name="a" * 81))


def test_list_activities(cp: Engine) -> None:
    for n in (2, 0, 1):
        cp.create_activity(name=f"activity_name_{n}", tags=[{"key": "n", "value": str(n)}])
    listed = cp.list_activities()
    assert [a["name"] for a in listed["activities"]] == [f"activity_name_{n}" for n in range(3)]
    assert listed["activities"][0]["activityArn"] == f"{PREFIX}:activity:activity_name_0"
    first = cp.list_activities(maxResults=2)
    rest = cp.list_activities(nextToken=first["nextToken"])
    assert [a["name"] for a in rest["activities"]] == ["activity_name_2"]
    arn = f"{PREFIX}:activity:activity_name_1"
    assert cp.list_tags_for_resource(resourceArn=arn) == {"tags": [{"key": "n", "value": "1"}]}


# --- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "listed"),
    [
        ([], []),
        ([{"key": "key1", "value": "value1"}], [{"key": "key1", "value": "value1"}]),
        ([{"key": "key1", "value": ""}], [{"key": "key1", "value": ""}]),
        (
            [{"key": "key1", "value": "value1"}, {"key": "key1", "value": "value1"}],
            [{"key": "key1", "value": "value1"}],
        ),
        (
            [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "value2"}],
            [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "value2"}],
        ),
    ],
)
def test_tag_state_machine(
    cp: Engine, tags: list[dict[str, str]], listed: list[dict[str, str]]
) -> None:
    arn = create(cp)
    assert cp.tag_resource(resourceArn=arn, tags=tags) == {}
    assert cp.list_tags_for_resource(resourceArn=arn) == {"tags": listed}


@pytest.mark.parametrize(
    ("keys", "left"),
    [([], [{"key": "key1", "value": "value1"}]), (["key1"], []), (["key1", "key1"], []),
     (["key1", "key2"], [])],
)  # fmt: skip
def test_untag_state_machine(cp: Engine, keys: list[str], left: list[dict[str, str]]) -> None:
    arn = create(cp)
    cp.tag_resource(resourceArn=arn, tags=[{"key": "key1", "value": "value1"}])
    assert cp.untag_resource(resourceArn=arn, tagKeys=keys) == {}
    assert cp.list_tags_for_resource(resourceArn=arn) == {"tags": left}


def test_tag_errors(cp: Engine) -> None:
    arn = create(cp, publish=True)
    message = raises(
        "ResourceNotFound",
        lambda: cp.tag_resource(resourceArn=f"{arn}:1", tags=[{"key": "key1", "value": "v"}]),
    )
    assert message == f"Resource not found: '{arn}:1'"
    missing = f"{PREFIX}:activity:nope"
    raises("ResourceNotFound", lambda: cp.list_tags_for_resource(resourceArn=missing))
    raises("InvalidArn", lambda: cp.untag_resource(resourceArn="nope", tagKeys=["a"]))
    message = raises(
        "ValidationException",
        lambda: cp.tag_resource(resourceArn=arn, tags=[{"key": "", "value": "v"}]),
    )
    assert message == (
        "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1"
    )
    raises("ValidationException", lambda: cp.tag_resource(resourceArn=arn, tags=None))  # type: ignore[arg-type]
    cp.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    raises(
        "TooManyTags", lambda: cp.tag_resource(resourceArn=arn, tags=[{"key": "x", "value": "v"}])
    )
    # Overwriting an existing key does not add one.
    cp.tag_resource(resourceArn=arn, tags=[{"key": "k0", "value": "w"}])


# --- ValidateStateMachineDefinition ----------------------------------------------------------


def _diagnostic(code: str, message: str, location: str | None = None) -> dict[str, str]:
    out = {"severity": "ERROR", "code": code, "message": message}
    if location is not None:
        out["location"] = location
    return out


@pytest.mark.parametrize(
    ("definition", "diagnostics"),
    [
        ("", [_diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]),
        (
            "not a definition",
            [
                _diagnostic(
                    "INVALID_JSON_DESCRIPTION",
                    "Unrecognized token 'not': was expecting (JSON String, Number, Array, "
                    "Object or token 'null', 'true' or 'false')\n at [Source: (String)\"not a "
                    'definition"; line: 1, column: 4]',
                    '[Source: (String)"not a definition"; line: 1, column: 4]',
                )
            ],
        ),
        (
            "{}",
            [
                _diagnostic(
                    "SCHEMA_VALIDATION_FAILED", "These fields are required: [States, StartAt]", "/"
                )
            ],
        ),
        (DEFINITION, []),
        (
            json.dumps({"States": PASS["States"]}),
            [_diagnostic("SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]", "/")],
        ),
        (
            json.dumps(
                {
                    "QueryLanguage": "JSONata",
                    "StartAt": "Pass",
                    "States": {"Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
                }
            ),
            [
                _diagnostic(
                    "SCHEMA_VALIDATION_FAILED",
                    "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state "
                    "machine",
                    "/States/Pass",
                )
            ],
        ),
    ],
)
@pytest.mark.parametrize("machine_type", ["STANDARD", "EXPRESS"])
def test_validate_definition(
    cp: Engine, definition: str, diagnostics: list[dict[str, str]], machine_type: str
) -> None:
    answer = cp.validate_state_machine_definition(definition=definition, type=machine_type)
    assert answer == {
        "result": "FAIL" if diagnostics else "OK",
        "diagnostics": diagnostics,
        "truncated": False,
    }


def test_validate_definition_for_express(cp: Engine) -> None:
    definition = {
        "StartAt": "SendMessageWithWait",
        "States": {
            "SendMessageWithWait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    text = json.dumps(definition)
    assert cp.validate_state_machine_definition(definition=text)["result"] == "OK"
    answer = cp.validate_state_machine_definition(definition=text, type="EXPRESS")
    assert answer["diagnostics"] == [
        _diagnostic(
            "SCHEMA_VALIDATION_FAILED",
            "Express state machine does not support '.waitForTaskToken' service integration ",
            "/States/SendMessageWithWait/Resource",
        )
    ]


def test_validate_definition_severity_and_truncation(cp: Engine) -> None:
    definition = json.dumps(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Parameters": {"a": "$.x"}, "Next": "B"},
                "C": {"Type": "Pass", "End": True},
            },
        }
    )
    errors = cp.validate_state_machine_definition(definition=definition)
    assert [d["code"] for d in errors["diagnostics"]] == ["MISSING_TRANSITION_TARGET"] * 2
    everything = cp.validate_state_machine_definition(definition=definition, severity="WARNING")
    assert [d["severity"] for d in everything["diagnostics"]] == ["WARNING", "ERROR", "ERROR"]
    cut = cp.validate_state_machine_definition(definition=definition, maxResults=1)
    assert (len(cut["diagnostics"]), cut["truncated"], cut["result"]) == (1, True, "FAIL")
    warning_only = json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a": "$.x"}, "End": True}}}
    )
    ok = cp.validate_state_machine_definition(definition=warning_only, severity="WARNING")
    assert (ok["result"], ok["diagnostics"][0]["severity"]) == ("OK", "WARNING")
    raises(
        "ValidationException",
        lambda: cp.validate_state_machine_definition(definition=definition, maxResults=101),
    )
    raises(
        "ValidationException",
        lambda: cp.validate_state_machine_definition(definition=definition, severity="INFO"),
    )


def test_a_version_with_no_weight_gets_no_execution(cp: Engine) -> None:
    arn = create(cp, publish=True)
    cp.update_state_machine(stateMachineArn=arn, definition=variant("2"), publish=True)
    routes = alias_routes((f"{arn}:1", 0), (f"{arn}:2", 100))
    cp.create_state_machine_alias(name="ALL_ON_2", routingConfiguration=routes)
    for draw in (0.0, 0.5, 0.999999):
        target = cp.resolve_target(f"{arn}:ALL_ON_2", rng=FixedDraw(draw))
        assert target.version_arn == f"{arn}:2"


# --- ARNs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "base", "version"),
    [
        (f"{PREFIX}:stateMachine:sm", "state_machine", f"{PREFIX}:stateMachine:sm", None),
        (f"{PREFIX}:stateMachine:sm:12", "version", f"{PREFIX}:stateMachine:sm", 12),
        (f"{PREFIX}:stateMachine:sm:PROD", "alias", f"{PREFIX}:stateMachine:sm", None),
        (f"{PREFIX}:stateMachine:sm:v.2", "alias", f"{PREFIX}:stateMachine:sm", None),
        (f"{PREFIX}:stateMachine:sm/Map", "labelled", f"{PREFIX}:stateMachine:sm", None),
    ],
)
def test_state_machine_arn_shapes(text: str, kind: str, base: str, version: int | None) -> None:
    ref = parse_state_machine_arn(text)
    assert (ref.kind, ref.base, ref.name, ref.version) == (kind, base, "sm", version)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("sm", "Invalid ARN prefix: sm"),
        (
            "arn:aws:lambda:us-east-1:1:function:f",
            "Invalid ARN prefix: arn:aws:lambda:us-east-1:1:function:f",
        ),
        (f"{PREFIX}:execution:sm:e", "Resource type not valid in this context: execution"),
        (f"{PREFIX}:stateMachine:", f"Resource name not valid: {PREFIX}:stateMachine:"),
        (f"{PREFIX}:stateMachine:sm::", f"Resource name not valid: {PREFIX}:stateMachine:sm::"),
    ],
)
def test_invalid_state_machine_arns(text: str, detail: str) -> None:
    message = raises("InvalidArn", lambda: parse_state_machine_arn(text))
    assert message == f"Invalid Arn: '{detail}'"
