"""The Engine facade on both stores: executions that survive, timers as data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepfn.clock import VIRTUAL_EPOCH, VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"

WAIT_A_YEAR = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 365 * 86400, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "woke", "ResultPath": "$.r", "End": True},
    },
}


def double(event: Any, context: Any) -> Any:
    return {"n": event["n"] * 2}


@pytest.fixture
def url(store_url: str) -> str:
    return store_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = Engine.open(url, clock=VirtualClock(), functions={"double": double})
    yield engine
    engine.close()


def create(engine: Engine, definition: dict[str, Any], name: str = "m", **kw: Any) -> str:
    response = engine.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, **kw
    )
    arn: str = response["stateMachineArn"]
    return arn


def test_a_one_year_wait_completes_at_once_in_virtual_time(engine: Engine) -> None:
    sm = create(engine, WAIT_A_YEAR)
    started = engine.start_execution(stateMachineArn=sm, name="nap", input='{"a": 1}')
    assert engine.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"a": 1, "r": "woke"}
    took = described["stopDate"].timestamp() - described["startDate"].timestamp()
    assert took == 365 * 86400
    assert described["startDate"].timestamp() == VIRTUAL_EPOCH


def test_history_pages_and_reverse(engine: Engine) -> None:
    sm = create(engine, WAIT_A_YEAR)
    arn = engine.start_execution(stateMachineArn=sm)["executionArn"]
    engine.run_until_idle()
    everything = engine.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in everything] == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in everything] == [1, 2, 3, 4, 5, 6]
    first = engine.get_execution_history(executionArn=arn, maxResults=4)
    rest = engine.get_execution_history(
        executionArn=arn, maxResults=4, nextToken=first["nextToken"]
    )
    assert [e["id"] for e in first["events"] + rest["events"]] == [1, 2, 3, 4, 5, 6]
    assert "nextToken" not in rest
    backwards = engine.get_execution_history(executionArn=arn, reverseOrder=True)["events"]
    assert [e["id"] for e in backwards] == [6, 5, 4, 3, 2, 1]


def test_lambda_tasks_run_through_the_worker(engine: Engine) -> None:
    sm = create(
        engine,
        {
            "StartAt": "D",
            "States": {"D": {"Type": "Task", "Resource": LAMBDA + "double", "End": True}},
        },
    )
    arn = engine.start_execution(stateMachineArn=sm, input='{"n": 21}')["executionArn"]
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"n": 42}


def test_start_commits_the_first_states_up_to_the_first_wait(engine: Engine) -> None:
    # StartExecution runs the states that need nothing from outside before it answers:
    # the engine has not been driven, yet the history reaches the Wait and its timer.
    sm = create(
        engine,
        {
            "StartAt": "Tag",
            "States": {
                "Tag": {"Type": "Pass", "Result": 1, "ResultPath": "$.tag", "Next": "Nap"},
                **WAIT_A_YEAR["States"],
            },
        },
    )
    arn = engine.start_execution(stateMachineArn=sm, input='{"a": 1}')["executionArn"]
    events = engine.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
    ]
    assert engine.store.next_timer_due() == VIRTUAL_EPOCH + 365 * 86400
    assert engine.describe_execution(executionArn=arn)["status"] == "RUNNING"


def test_an_execution_without_waits_has_ended_when_start_answers(engine: Engine) -> None:
    sm = create(engine, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arn = engine.start_execution(stateMachineArn=sm, input='{"a": 1}')["executionArn"]
    described = engine.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"a": 1}
    assert described["stopDate"] == described["startDate"]


def test_a_task_reached_at_start_is_stored_and_dispatched(engine: Engine) -> None:
    sm = create(
        engine,
        {
            "StartAt": "D",
            "States": {"D": {"Type": "Task", "Resource": LAMBDA + "double", "End": True}},
        },
    )
    arn = engine.start_execution(stateMachineArn=sm, input='{"n": 2}')["executionArn"]
    # Dispatched before StartExecution answered: the task's row was committed with it.
    # Unleased, its answer waits in the worker's memory and the step that applies it
    # marks the row; leased (a shared store), the answer marks it as it is queued.
    assert engine.worker.wait_idle(10)
    leased = engine.loop.leased
    status = "done" if leased else "dispatched"
    assert [t.resource for t in engine.store.tasks_with_status(status)] == [LAMBDA + "double"]
    assert engine.worker.answered_executions() == ([] if leased else [arn])
    engine.run_until_idle()
    assert json.loads(engine.describe_execution(executionArn=arn)["output"]) == {"n": 4}
    assert [t.resource for t in engine.store.tasks_with_status("done")] == [LAMBDA + "double"]
    assert engine.worker.answered_executions() == []


def test_a_start_after_a_change_runs_what_the_change_made(engine: Engine) -> None:
    # StartExecution caches what it runs; a change made through this engine shows at once.
    def result_of(value: str) -> dict[str, Any]:
        return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": value, "End": True}}}

    sm = create(engine, result_of("one"))
    published = engine.publish_state_machine_version(stateMachineArn=sm)
    version = published["stateMachineVersionArn"]

    def output(target: str) -> Any:
        arn = engine.start_execution(stateMachineArn=target)["executionArn"]
        return json.loads(engine.describe_execution(executionArn=arn)["output"])

    assert output(sm) == "one" and output(version) == "one"
    engine.update_state_machine(stateMachineArn=sm, definition=json.dumps(result_of("two")))
    assert output(sm) == "two" and output(version) == "one"
    engine.delete_state_machine_version(stateMachineVersionArn=version)
    with pytest.raises(ServiceError, match="StateMachineDoesNotExist"):
        engine.start_execution(stateMachineArn=version)
    engine.delete_state_machine(stateMachineArn=sm)
    with pytest.raises(ServiceError, match=r"StateMachineDoesNotExist|StateMachineDeleting"):
        engine.start_execution(stateMachineArn=sm)


def test_execution_started_names_the_version_and_alias_it_ran(engine: Engine) -> None:
    # AWS's ExecutionStartedEventDetails: input and role; the version and alias ARNs
    # when the start went through them; never the state machine's own ARN.
    sm = create(engine, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    version = engine.publish_state_machine_version(stateMachineArn=sm)["stateMachineVersionArn"]
    alias = engine.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}]
    )["stateMachineAliasArn"]

    def started(target: str) -> dict[str, Any]:
        arn = engine.start_execution(stateMachineArn=target, input='{"a":1}')["executionArn"]
        first = engine.get_execution_history(executionArn=arn)["events"][0]
        details: dict[str, Any] = first["executionStartedEventDetails"]
        return details

    plain = {"input": '{"a":1}', "inputDetails": {"truncated": False}, "roleArn": ROLE}
    assert started(sm) == plain
    assert started(version) == {**plain, "stateMachineVersionArn": version}
    assert started(alias) == {
        **plain,
        "stateMachineAliasArn": alias,
        "stateMachineVersionArn": version,
    }


def test_a_start_that_never_waits_ends_at_the_history_quota(engine: Engine) -> None:
    # StartExecution runs states until the execution waits or its budget is spent: one
    # that never waits must still answer, and end (AWS fails it at 25,000 history events).
    loop = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.never", "IsPresent": True, "Next": "Done"}],
                "Default": "A",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    arn = engine.start_execution(stateMachineArn=create(engine, loop))["executionArn"]
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert engine.store.count_events(arn) == 25_002


def test_same_name_same_input_is_idempotent_else_already_exists(engine: Engine) -> None:
    sm = create(engine, WAIT_A_YEAR)
    first = engine.start_execution(stateMachineArn=sm, name="once", input="{}")
    again = engine.start_execution(stateMachineArn=sm, name="once", input="{}")
    assert again["executionArn"] == first["executionArn"]
    with pytest.raises(ServiceError) as info:
        engine.start_execution(stateMachineArn=sm, name="once", input='{"x": 1}')
    assert info.value.code == "ExecutionAlreadyExists"


@pytest.mark.parametrize("name", ["has space", "a/b"])
def test_bad_execution_names(engine: Engine, name: str) -> None:
    sm = create(engine, WAIT_A_YEAR)
    with pytest.raises(ServiceError) as info:
        engine.start_execution(stateMachineArn=sm, name=name)
    assert info.value.code == "InvalidName"
    assert info.value.message == f"Invalid Name: '{name}'"
    assert engine.list_executions(stateMachineArn=sm)["executions"] == []


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("x" * 81, "Member must have length less than or equal to 80"),
        ("", "Member must have length greater than or equal to 1"),
    ],
)
def test_execution_name_lengths_are_the_models_as_over_http(
    engine: Engine, name: str, constraint: str
) -> None:
    # The Engine's methods check their arguments with the API's validator: a name of
    # the wrong length is the model's ValidationException, not InvalidName.
    sm = create(engine, WAIT_A_YEAR)
    with pytest.raises(ServiceError) as info:
        engine.start_execution(stateMachineArn=sm, name=name)
    assert (info.value.code, info.value.message) == (
        "ValidationException",
        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
        f"constraint: {constraint}",
    )


def test_bad_input_is_refused_and_nothing_is_written(engine: Engine) -> None:
    sm = create(engine, WAIT_A_YEAR)
    with pytest.raises(ServiceError) as info:
        engine.start_execution(stateMachineArn=sm, input="{not json")
    assert info.value.code == "InvalidExecutionInput"
    assert engine.list_executions(stateMachineArn=sm)["executions"] == []


def test_stop_aborts_a_waiting_execution(engine: Engine) -> None:
    sm = create(engine, WAIT_A_YEAR)
    arn = engine.start_execution(stateMachineArn=sm)["executionArn"]
    engine._step_ready()
    engine.stop_execution(executionArn=arn, error="Halt", cause="by hand")
    described = engine.describe_execution(executionArn=arn)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED",
        "Halt",
        "by hand",
    )
    engine.run_until_idle()  # the cancelled Wait timer must not wake it
    assert engine.describe_execution(executionArn=arn)["status"] == "ABORTED"


def test_list_executions_filters_and_pages(engine: Engine) -> None:
    sm = create(engine, WAIT_A_YEAR)
    for i in range(5):
        engine.start_execution(stateMachineArn=sm, name=f"e{i}")
    page = engine.list_executions(stateMachineArn=sm, maxResults=2)
    assert len(page["executions"]) == 2 and "nextToken" in page
    running = engine.list_executions(stateMachineArn=sm, statusFilter="RUNNING")
    assert len(running["executions"]) == 5
    with pytest.raises(ServiceError) as info:
        engine.list_executions(stateMachineArn=sm, statusFilter="succeeded")
    assert info.value.code == "ValidationException"


def test_callback_token_completes_the_task(engine: Engine) -> None:
    sm = create(
        engine,
        {
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
        },
    )
    arn = engine.start_execution(stateMachineArn=sm)["executionArn"]
    engine._step_ready()
    engine.worker.wait_idle(5)
    events = engine.get_execution_history(executionArn=arn)["events"]
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    token = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["token"]
    engine.send_task_success(taskToken=token, output='{"answer": 42}')
    engine._step_ready()
    described = engine.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"answer": 42}
    with pytest.raises(ServiceError) as info:
        engine.send_task_success(taskToken=token, output="{}")
    assert info.value.code == "TaskTimedOut"
    with pytest.raises(ServiceError) as missing:
        engine.send_task_failure(taskToken="no-such-token")
    assert missing.value.code == "TaskDoesNotExist"


def test_express_sync_execution_returns_the_result(engine: Engine) -> None:
    sm = create(
        engine,
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": True}}},
        name="fast",
        type="EXPRESS",
    )
    result = engine.start_sync_execution(stateMachineArn=sm, input="{}")
    assert result["status"] == "SUCCEEDED" and result["output"] == "7"
    assert ":express:" in result["executionArn"]
    standard = create(engine, WAIT_A_YEAR, name="slow")
    with pytest.raises(ServiceError) as info:
        engine.start_sync_execution(stateMachineArn=standard)
    assert info.value.code == "StateMachineTypeNotSupported"


def test_state_survives_reopening_the_store(tmp_path: Path) -> None:
    path = str(tmp_path / "durable.db")
    clock = VirtualClock()
    first = Engine.open(path, clock=clock)
    sm = create(first, WAIT_A_YEAR)
    arn = first.start_execution(stateMachineArn=sm, name="keep")["executionArn"]
    first._step_ready()  # now it waits on its timer
    first.close()
    second = Engine.open(path, clock=clock)
    second.run_until_idle()
    assert second.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    kinds = [e["type"] for e in second.get_execution_history(executionArn=arn)["events"]]
    assert kinds.count("WaitStateEntered") == 1  # nothing recorded twice
    second.close()


@pytest.mark.parametrize("field", ["TimeoutSeconds", "HeartbeatSeconds"])
def test_a_task_run_again_after_a_crash_has_its_whole_time(tmp_path: Path, field: str) -> None:
    """The server died while a task with a 10 s limit ran and came back 12 s later: the
    task runs again with 10 s from its new start. Not timed out by the time away, and
    timed out when the new run outlives its own 10 s."""
    import threading

    path = str(tmp_path / "crash.db")
    clock = VirtualClock()
    release = threading.Event()

    def hangs(event: Any, context: Any) -> Any:
        release.wait(30)
        return {}

    first = Engine.open(path, clock=clock, functions={"f": hangs})
    second = None
    try:
        task = {"Type": "Task", "Resource": LAMBDA + "f", field: 10, "End": True}
        sm = create(first, {"StartAt": "T", "States": {"T": task}})
        arn = first.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
        first._step_ready()  # dispatched: it hangs, and this server is taken for dead
        clock.advance(12)
        second = Engine.open(path, clock=clock, functions={"f": hangs})  # runs it again

        def status_after(seconds: float) -> str:
            assert second is not None
            clock.advance(seconds)
            second.loop.fire_timers()
            while second._step_ready():
                pass
            status: str = second.describe_execution(executionArn=arn)["status"]
            return status

        assert status_after(0) == "RUNNING"
        assert status_after(8) == "RUNNING"  # 20 s after the first start, 8 after this one
        assert status_after(3) == "FAILED"
        # A heartbeat's lapse is States.Timeout in the history too, as AWS records it.
        assert second.describe_execution(executionArn=arn)["error"] == "States.Timeout"
    finally:
        release.set()
        first.close()
        if second is not None:
            second.close()
