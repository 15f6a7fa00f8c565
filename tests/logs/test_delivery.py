"""Executions write their log events: when, where, with which settings, best effort.

Through the Engine on both stores, with a virtual clock: what lands in the log group
is compared with the execution's own history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.logs.events import log_stream_name
from stepfn.service.engine import Engine
from stepfn.store.base import LogEventRecord, LogQuery

ROLE = "arn:aws:iam::123456789012:role/stepfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
GROUP = "/aws/vendedlogs/states/orders"

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}}
FAIL = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Next": "F"},
        "F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"},
    },
}
NAP = {
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}},
}


def logging(level: str, data: bool = True, group: str = GROUP) -> dict[str, Any]:
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
    return {
        "level": level,
        "includeExecutionData": data,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
    }


class Flaky:
    """A Lambda handler that fails until told to succeed (for redrives)."""

    def __init__(self) -> None:
        self.fail = True

    def __call__(self, event: Any, context: Any) -> Any:
        if self.fail:
            raise RuntimeError("not yet")
        return {"done": True}


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else str(tmp_path / "stepfn.db")


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def engine(url: str, flaky: Flaky) -> Iterator[Engine]:
    engine = Engine.open(url, clock=VirtualClock(), functions={"flaky": flaky})
    yield engine
    engine.close()


def create(engine: Engine, definition: dict[str, Any], name: str = "orders", **kw: Any) -> str:
    response = engine.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, **kw
    )
    return str(response["stateMachineArn"])


def run(engine: Engine, machine: str, data: Any = None) -> str:
    arn = engine.start_execution(stateMachineArn=machine, input=json.dumps(data or {"n": 1}))
    engine.run_until_idle()
    return str(arn["executionArn"])


def messages(engine: Engine, group: str = GROUP) -> list[dict[str, Any]]:
    return [json.loads(e.message) for e in engine.store.log_events(LogQuery(group))]


def history_types(engine: Engine, execution: str) -> list[str]:
    return [e["type"] for e in engine.get_execution_history(executionArn=execution)["events"]]


def test_level_all_logs_the_whole_history_in_order(engine: Engine) -> None:
    machine = create(engine, FAIL, loggingConfiguration=logging("ALL"))
    execution = run(engine, machine)
    logged = messages(engine)
    assert [m["type"] for m in logged] == history_types(engine, execution)
    assert [m["id"] for m in logged] == ["1", "2", "3", "4", "5"]
    assert {m["execution_arn"] for m in logged} == {execution}
    started = logged[0]
    assert started["details"] == {
        "input": '{"n":1}',
        "inputDetails": {"truncated": False},
        "roleArn": ROLE,
    }
    (stream,) = engine.store.list_log_streams(GROUP)
    start = engine.describe_execution(executionArn=execution)["startDate"].timestamp()
    assert stream.name == log_stream_name(machine, start)


def test_levels_and_execution_data_choose_what_is_written(engine: Engine) -> None:
    error = create(engine, FAIL, "errors", loggingConfiguration=logging("ERROR", False, "e"))
    fatal = create(engine, FAIL, "fatals", loggingConfiguration=logging("FATAL", True, "f"))
    quiet = create(engine, PASS, "quiet", loggingConfiguration=logging("ERROR", True, "q"))
    run(engine, error)
    run(engine, fatal)
    run(engine, quiet)
    assert [(m["type"], m["details"]) for m in messages(engine, "e")] == [
        ("FailStateEntered", {"name": "F"}),
        ("ExecutionFailed", {"error": "Boom", "cause": "it broke"}),
    ]
    assert [m["type"] for m in messages(engine, "f")] == ["ExecutionFailed"]
    # Nothing at this level happened: nothing written, not even a stream.
    assert messages(engine, "q") == [] and engine.store.list_log_streams("q") == []


def test_logging_off_writes_nothing_and_reads_no_configuration(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = create(engine, NAP, loggingConfiguration={"level": "OFF"})
    plain = create(engine, NAP, "plain")
    for arn in (machine, plain):
        engine.start_execution(stateMachineArn=arn)
    reads: list[str] = []
    real = engine.store.get_state_machine

    def counted(arn: str) -> Any:
        reads.append(arn)
        return real(arn)

    monkeypatch.setattr(engine.store, "get_state_machine", counted)
    engine.run_until_idle()
    assert reads == []  # StartExecution told the delivery they log nothing
    assert engine.store.list_log_groups() == []


def test_a_restarted_engine_keeps_logging_where_the_execution_started(tmp_path: Path) -> None:
    path = str(tmp_path / "stepfn.db")
    first = Engine.open(path, clock=VirtualClock())
    machine = create(first, NAP, loggingConfiguration=logging("ALL"))
    execution = first.start_execution(stateMachineArn=machine)["executionArn"]
    first.close()  # before the worker ran a step
    second = Engine.open(path, clock=VirtualClock())
    try:
        second.run_until_idle()
        assert second.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
        logged = messages(second)
        assert [m["type"] for m in logged] == history_types(second, execution)
        assert len({e.log_stream_name for e in second.store.log_events(LogQuery(GROUP))}) == 1
    finally:
        second.close()


def test_versions_and_aliases_log_with_their_own_configuration(engine: Engine) -> None:
    machine = create(engine, PASS, loggingConfiguration=logging("ALL", group="v1"), publish=True)
    version = engine.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"][
        0
    ]["stateMachineVersionArn"]
    engine.update_state_machine(stateMachineArn=machine, loggingConfiguration={"level": "OFF"})
    alias = engine.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}]
    )["stateMachineAliasArn"]
    run(engine, machine)
    assert engine.store.list_log_groups() == []
    run(engine, version)
    through_alias = run(engine, alias)
    logged = messages(engine, "v1")
    assert len(logged) == 2 * 4
    assert logged[-1]["execution_arn"] == through_alias


def test_an_express_execution_logs_when_it_ends(engine: Engine) -> None:
    machine = create(engine, FAIL, type="EXPRESS", loggingConfiguration=logging("ALL"))
    answer = engine.start_sync_execution(stateMachineArn=machine, input='{"n":2}')
    logged = messages(engine)
    assert [m["type"] for m in logged] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    assert {m["execution_arn"] for m in logged} == {answer["executionArn"]}
    assert ":express:orders:" in answer["executionArn"]


def test_a_redriven_execution_logs_its_redrive_count(engine: Engine, flaky: Flaky) -> None:
    task = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True}},
    }
    machine = create(engine, task, loggingConfiguration=logging("ALL"))
    execution = run(engine, machine)
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    flaky.fail = False
    engine.redrive_execution(executionArn=execution)
    engine.run_until_idle()
    logged = messages(engine)
    assert [m["type"] for m in logged] == history_types(engine, execution)
    counts = {m["type"]: m["redrive_count"] for m in logged}
    assert counts["ExecutionStarted"] == "0" and counts["ExecutionFailed"] == "0"
    assert counts["ExecutionRedriven"] == "1" and counts["ExecutionSucceeded"] == "1"


def test_a_failing_log_write_never_fails_the_execution(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    machine = create(engine, PASS, loggingConfiguration=logging("ALL"))

    def broken(events: list[LogEventRecord]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(engine.store, "append_log_events", broken)
    execution = run(engine, machine)
    assert engine.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert "were not delivered" in caplog.text


def test_a_failing_conversion_never_fails_start_or_steps(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    standard = create(engine, PASS, loggingConfiguration=logging("ALL"))
    express = create(engine, PASS, "fast", type="EXPRESS", loggingConfiguration=logging("ALL"))

    def broken(*args: Any) -> Any:
        raise ValueError("bad event")

    monkeypatch.setattr("stepfn.logs.delivery.log_events", broken)
    execution = run(engine, standard)
    assert engine.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert engine.start_sync_execution(stateMachineArn=express)["status"] == "SUCCEEDED"
    assert "was not logged" in caplog.text
    assert engine.store.list_log_groups() == []


def test_the_children_of_a_distributed_map_are_not_logged(engine: Engine) -> None:
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    definition = {"StartAt": "Each", "States": {"Each": each}}
    machine = create(engine, definition, loggingConfiguration=logging("ALL"))
    execution = run(engine, machine, [1, 2])
    logged = messages(engine)
    assert {m["execution_arn"] for m in logged} == {execution}
    assert [m["type"] for m in logged] == history_types(engine, execution)
