"""Nested executions (``states:startExecution*``) through ``stepfn.run`` and through a
real server with boto3: a three-level ``.sync`` chain, ``.sync:2``, ``.waitForTaskToken``
answered by the child, a failing child, and a stopped parent stopping its child."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stepfn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.helpers import Live, client, finished, start_server, stop_server, unique, wait_for

ACCOUNT_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:"
PASS_CHILD = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"leaf": 1}, "End": True}}}
FAILING = {
    "StartAt": "F",
    "States": {"F": {"Type": "Fail", "Error": "Child.Broke", "Cause": "it broke"}},
}
WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
# The child answers its parent's .waitForTaskToken with the token it was given.
ANSWERING = {
    "StartAt": "Answer",
    "States": {
        "Answer": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
            "Parameters": {"TaskToken.$": "$.token", "Output": {"answered": True}},
            "End": True,
        }
    },
}


def starts(arn: str, pattern: str = ".sync", input_path: str = "$") -> dict[str, Any]:
    """A machine whose one Task starts ``arn`` with the pattern, passing its input on."""
    params: dict[str, Any] = {"StateMachineArn": arn, "Input.$": input_path}
    if pattern == ".waitForTaskToken":
        params = {
            "StateMachineArn": arn,
            "Input": {
                "token.$": "$$.Task.Token",
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
            },
        }
    return {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::states:startExecution{pattern}",
                "Parameters": params,
                "End": True,
            }
        },
    }


def types(history: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in history]


# --- stepfn.run ------------------------------------------------------------------------------


def test_a_sync_chain_three_levels_deep_runs_in_stepfn_run() -> None:
    machines = {
        ACCOUNT_ARN + "leaf": PASS_CHILD,
        ACCOUNT_ARN + "middle": starts(ACCOUNT_ARN + "leaf"),
    }
    ex = stepfn.run(starts(ACCOUNT_ARN + "middle"), {"x": 1}, state_machines=machines)
    assert ex.status == "SUCCEEDED", ex.cause
    middle = json.loads(ex.output["Output"])
    assert json.loads(middle["Output"]) == {"leaf": 1}
    assert middle["Status"] == "SUCCEEDED" and json.loads(middle["Input"]) == {"x": 1}
    assert ex.output["ExecutionArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:execution:middle:"
    )
    assert types(ex.history)[4:6] == ["TaskSubmitted", "TaskSucceeded"]


def test_sync2_gives_the_child_output_as_json() -> None:
    machines = {ACCOUNT_ARN + "leaf": PASS_CHILD}
    ex = stepfn.run(starts(ACCOUNT_ARN + "leaf", ".sync:2"), {"x": 1}, state_machines=machines)
    assert ex.status == "SUCCEEDED"
    assert ex.output["Output"] == {"leaf": 1} and ex.output["Input"] == {"x": 1}


def test_the_child_answers_wait_for_task_token_in_stepfn_run() -> None:
    machines = {ACCOUNT_ARN + "answering": ANSWERING}
    ex = stepfn.run(starts(ACCOUNT_ARN + "answering", ".waitForTaskToken"), state_machines=machines)
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"answered": True}
    submitted = [e for e in ex.history if e["type"] == "TaskSubmitted"]
    assert "ExecutionArn" in json.loads(submitted[0]["taskSubmittedEventDetails"]["output"])


def test_a_failing_child_fails_the_sync_task_with_its_description() -> None:
    machines = {ACCOUNT_ARN + "failing": FAILING}
    ex = stepfn.run(starts(ACCOUNT_ARN + "failing"), state_machines=machines)
    assert ex.status == "FAILED" and ex.error == "States.TaskFailed"
    cause = json.loads(ex.cause or "")
    assert cause["Status"] == "FAILED"
    assert (cause["Error"], cause["Cause"]) == ("Child.Broke", "it broke")


def test_an_unknown_state_machine_fails_the_task() -> None:
    ex = stepfn.run(starts(ACCOUNT_ARN + "missing"), state_machines={})
    assert ex.status == "FAILED"
    assert ex.error == "StepFunctions.StateMachineDoesNotExistException"
    assert ex.cause is not None and "State Machine Does Not Exist" in ex.cause


def test_request_response_returns_the_arn_and_start_date() -> None:
    machines = {ACCOUNT_ARN + "leaf": PASS_CHILD}
    ex = stepfn.run(starts(ACCOUNT_ARN + "leaf", ""), state_machines=machines)
    assert ex.status == "SUCCEEDED"
    assert set(ex.output) == {"ExecutionArn", "StartDate", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert "TaskSubmitted" not in types(ex.history)


# --- the server, through boto3 ---------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    served = start_server(tmp_path_factory.mktemp("stepfn-nested"))
    yield served
    stop_server(served)


@pytest.fixture(scope="module")
def sfn(live: Live) -> Any:
    return client(live.url)


def create(sfn: Any, definition: dict[str, Any]) -> str:
    made = sfn.create_state_machine(
        name=unique("nested"),
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/stepfn",
    )
    arn: str = made["stateMachineArn"]
    return arn


@pytest.mark.integration
def test_a_sync_chain_three_levels_deep_on_the_server(sfn: Any) -> None:
    leaf = create(sfn, PASS_CHILD)
    middle = create(sfn, starts(leaf))
    top = create(sfn, starts(middle))
    started = sfn.start_execution(stateMachineArn=top, input='{"x": 1}')
    done = finished(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done.get("cause")
    outer = json.loads(done["output"])
    inner = json.loads(outer["Output"])
    assert json.loads(inner["Output"]) == {"leaf": 1}
    # Each child is an execution of its own: listed and described like any other.
    for machine, arn in ((middle, outer["ExecutionArn"]), (leaf, inner["ExecutionArn"])):
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert [e["executionArn"] for e in listed] == [arn]
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert types(history)[4:6] == ["TaskSubmitted", "TaskSucceeded"]


@pytest.mark.integration
def test_sync2_on_the_server(sfn: Any) -> None:
    leaf = create(sfn, PASS_CHILD)
    started = sfn.start_execution(stateMachineArn=create(sfn, starts(leaf, ".sync:2")))
    done = finished(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["Output"] == {"leaf": 1}


@pytest.mark.integration
def test_the_child_answers_wait_for_task_token_on_the_server(sfn: Any) -> None:
    answering = create(sfn, ANSWERING)
    started = sfn.start_execution(
        stateMachineArn=create(sfn, starts(answering, ".waitForTaskToken"))
    )
    done = finished(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"]) == {"answered": True}
    child = sfn.list_executions(stateMachineArn=answering)["executions"][0]
    given = json.loads(sfn.describe_execution(executionArn=child["executionArn"])["input"])
    assert given["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == started["executionArn"]


@pytest.mark.integration
def test_a_failing_child_fails_the_parent_on_the_server(sfn: Any) -> None:
    failing = create(sfn, FAILING)
    started = sfn.start_execution(stateMachineArn=create(sfn, starts(failing)))
    done = finished(sfn, started["executionArn"])
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed")
    cause = json.loads(done["cause"])
    assert (cause["Status"], cause["Error"]) == ("FAILED", "Child.Broke")


@pytest.mark.integration
def test_stopping_the_parent_stops_its_sync_child(sfn: Any) -> None:
    waiting = create(sfn, WAITING)
    started = sfn.start_execution(stateMachineArn=create(sfn, starts(waiting)))
    children = wait_for(
        lambda: sfn.list_executions(stateMachineArn=waiting)["executions"], lambda found: found
    )
    sfn.stop_execution(executionArn=started["executionArn"])
    assert finished(sfn, started["executionArn"])["status"] == "ABORTED"
    assert finished(sfn, children[0]["executionArn"])["status"] == "ABORTED"


# --- a restart in the middle ----------------------------------------------------------------


@pytest.mark.parametrize("child_ends_before_the_restart", [False, True])
def test_a_sync_parent_goes_on_with_its_child_after_a_restart(
    tmp_path: Path, child_ends_before_the_restart: bool
) -> None:
    from stepfn.clock import VirtualClock
    from stepfn.service.engine import Engine

    path = str(tmp_path / "restart.db")
    clock = VirtualClock()
    first = Engine.open(path, clock=clock)
    role = "arn:aws:iam::123456789012:role/stepfn"
    child = first.create_state_machine(
        name="child",
        definition=json.dumps(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
        ),
        roleArn=role,
    )["stateMachineArn"]
    parent = first.create_state_machine(
        name="parent", definition=json.dumps(starts(child)), roleArn=role
    )["stateMachineArn"]
    arn = first.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    children = first.list_executions(stateMachineArn=child)["executions"]
    assert [c["status"] for c in children] == ["RUNNING"]
    first.close()  # the parent's watch on its child is gone with this process
    if child_ends_before_the_restart:
        # Another process moved the child on to its end meanwhile.
        other = Engine.open(path, clock=clock)
        other.run_until_idle()
        other.close()
    second = Engine.open(path, clock=clock)
    second.run_until_idle()
    done = second.describe_execution(executionArn=arn)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"])["ExecutionArn"] == children[0]["executionArn"]
    assert len(second.list_executions(stateMachineArn=child)["executions"]) == 1
    second.close()


# --- an Express child of a .sync task -------------------------------------------------------


def express_machine(sfn: Any, definition: dict[str, Any]) -> str:
    made = sfn.create_state_machine(
        name=unique("express"),
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/stepfn",
        type="EXPRESS",
    )
    arn: str = made["stateMachineArn"]
    return arn


def ended(engine: Any, arn: str, seconds: float = 20.0) -> dict[str, Any]:
    """The execution once it has ended (an Express child runs on its own pool)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        engine.run_until_idle()
        found: dict[str, Any] = engine.describe_execution(executionArn=arn)
        if found["status"] != "RUNNING" or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


@pytest.mark.parametrize("pattern", [".sync", ".sync:2"])
def test_an_express_child_of_a_sync_task_runs_and_gives_its_output(pattern: str) -> None:
    from stepfn.service.engine import Engine

    engine = Engine.open(":memory:")
    try:
        child = express_machine(engine, PASS_CHILD)
        parent = create(engine, starts(child, pattern))
        arn = engine.start_execution(stateMachineArn=parent, input='{"x": 1}')["executionArn"]
        done = ended(engine, arn)
        assert done["status"] == "SUCCEEDED", done.get("cause")
        output = json.loads(done["output"])
        name = child.rsplit(":", 1)[1]
        # An Express execution's ARN: ...:express:MACHINE:NAME:ID.
        assert output["ExecutionArn"].startswith(
            f"arn:aws:states:us-east-1:123456789012:express:{name}:"
        )
        assert len(output["ExecutionArn"].split(":")) == 9
        if pattern == ".sync:2":
            assert (output["Output"], output["Input"]) == ({"leaf": 1}, {"x": 1})
        else:
            assert (json.loads(output["Output"]), json.loads(output["Input"])) == (
                {"leaf": 1},
                {"x": 1},
            )
        assert output["Status"] == "SUCCEEDED" and output["StateMachineArn"] == child
        assert output["Name"] == output["ExecutionArn"].split(":")[7]
        assert set(output) == {
            "ExecutionArn",
            "StateMachineArn",
            "Name",
            "Status",
            "StartDate",
            "StopDate",
            "Input",
            "InputDetails",
            "Output",
            "OutputDetails",
        }
        history = engine.get_execution_history(executionArn=arn)["events"]
        assert types(history)[4:6] == ["TaskSubmitted", "TaskSucceeded"]
    finally:
        engine.close()


def test_a_failing_express_child_fails_the_sync_task() -> None:
    from stepfn.service.engine import Engine

    engine = Engine.open(":memory:")
    try:
        child = express_machine(engine, FAILING)
        parent = create(engine, starts(child, ".sync"))
        arn = engine.start_execution(stateMachineArn=parent)["executionArn"]
        done = ended(engine, arn)
        assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed")
        cause = json.loads(done["cause"])
        assert (cause["Status"], cause["Error"], cause["Cause"]) == (
            "FAILED",
            "Child.Broke",
            "it broke",
        )
        assert ":express:" in cause["ExecutionArn"]
    finally:
        engine.close()


@pytest.mark.integration
def test_an_express_child_of_a_sync2_task_on_the_server(sfn: Any) -> None:
    child = express_machine(sfn, PASS_CHILD)
    middle = create(sfn, starts(child, ".sync:2"))
    # Two levels: a Standard parent waits for a Standard child that waits for the Express one.
    started = sfn.start_execution(stateMachineArn=create(sfn, starts(middle, ".sync:2")))
    done = finished(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done.get("cause")
    inner = json.loads(done["output"])["Output"]
    assert inner["Output"] == {"leaf": 1}
    assert ":express:" in inner["ExecutionArn"]


def test_an_express_child_in_stepfn_run_has_the_same_fields() -> None:
    machines = {ACCOUNT_ARN + "leaf": {"definition": PASS_CHILD, "type": "EXPRESS"}}
    ex = stepfn.run(starts(ACCOUNT_ARN + "leaf", ".sync:2"), {"x": 1}, state_machines=machines)
    assert ex.status == "SUCCEEDED", ex.cause
    assert ":express:leaf:" in ex.output["ExecutionArn"]
    assert ex.output["Output"] == {"leaf": 1}
    assert not any(key.startswith("Redrive") for key in ex.output)
