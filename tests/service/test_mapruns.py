"""Map runs through the Engine, on both stores: a distributed Map's items are child
executions that can be listed, described and read, and its map run is counted from them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stepfn.errors import ServiceError
from stepfn.service.engine import Engine
from stepfn.store.base import ExecutionRecord

ROLE = "arn:aws:iam::123456789012:role/stepfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
PREFIX = "arn:aws:states:us-east-1:123456789012"


def double(event: Any, context: Any) -> Any:
    return event * 2


# The items "flaky" fails on (a test sets and clears it).
BROKEN: set[Any] = set()


def flaky(event: Any, context: Any) -> Any:
    if event in BROKEN:
        raise RuntimeError(f"item {event} is broken")
    return event * 10


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    from stepfn.clock import VirtualClock

    made = Engine.open(
        store_url, clock=VirtualClock(), functions={"double": double, "flaky": flaky}
    )
    yield made
    made.close()


def distributed(states: dict[str, Any], start: str, **fields: Any) -> dict[str, Any]:
    """A machine whose state ``Each`` is a distributed Map labelled ``items``."""
    each = {
        "Type": "Map",
        "Label": "items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": start,
            "States": states,
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "Each", "States": {"Each": each}}


# Items equal to 2 fail; the others wait a minute, then succeed.
FAIL_ON_TWO = {
    "Check": {
        "Type": "Choice",
        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
        "Default": "Nap",
    },
    "Bad": {"Type": "Fail", "Error": "Two", "Cause": "two is bad"},
    "Nap": {"Type": "Wait", "Seconds": 60, "Next": "Good"},
    "Good": {"Type": "Succeed"},
}


def create(engine: Engine, definition: dict[str, Any], name: str = "m") -> str:
    response = engine.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )
    arn: str = response["stateMachineArn"]
    return arn


def start(engine: Engine, machine: str, input: Any, name: str = "run") -> str:
    arn: str = engine.start_execution(stateMachineArn=machine, name=name, input=json.dumps(input))[
        "executionArn"
    ]
    return arn


def map_run_of(engine: Engine, execution: str) -> str:
    (run,) = engine.list_map_runs(executionArn=execution)["mapRuns"]
    arn: str = run["mapRunArn"]
    return arn


def children(engine: Engine, map_run: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = engine.list_executions(mapRunArn=map_run)["executions"]
    return listed


def types(engine: Engine, execution: str) -> list[str]:
    events = engine.get_execution_history(executionArn=execution)["events"]
    return [event["type"] for event in events]


def counts(engine: Engine, map_run: str, which: str = "executionCounts") -> dict[str, int]:
    described: dict[str, int] = engine.describe_map_run(mapRunArn=map_run)[which]
    return {key: value for key, value in described.items() if value}


def test_a_map_reached_at_start_stores_its_children(engine: Engine) -> None:
    machine = create(engine, distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo"))
    execution = start(engine, machine, ["a", "b", "c"])
    # StartExecution ran the whole execution itself: its children are stored with it.
    assert engine.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    map_run = map_run_of(engine, execution)
    assert map_run == f"{PREFIX}:mapRun:m/items:run"
    listed = children(engine, map_run)
    assert len(listed) == 3
    for item in listed:
        assert item["executionArn"] == f"{PREFIX}:execution:m/items:{item['name']}"
        assert item["stateMachineArn"] == f"{PREFIX}:stateMachine:m/items"
        assert (item["status"], item["mapRunArn"], item["itemCount"]) == (
            "SUCCEEDED",
            map_run,
            1,
        )
    inputs = sorted(
        json.loads(engine.describe_execution(executionArn=i["executionArn"])["input"])
        for i in listed
    )
    assert inputs == ["a", "b", "c"]
    assert types(engine, listed[0]["executionArn"]) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert counts(engine, map_run) == {"succeeded": 3, "resultsWritten": 3, "total": 3}
    # The parent's listing does not show its children, as on AWS.
    by_machine = engine.list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in by_machine] == [execution]


def test_a_map_reached_by_the_worker_stores_its_children(engine: Engine) -> None:
    definition = distributed(
        {"Twice": {"Type": "Task", "Resource": LAMBDA + "double", "End": True}}, "Twice"
    )
    definition["StartAt"] = "Nap"
    definition["States"]["Nap"] = {"Type": "Wait", "Seconds": 10, "Next": "Each"}
    machine = create(engine, definition)
    execution = start(engine, machine, [1, 2])
    assert engine.list_map_runs(executionArn=execution)["mapRuns"] == []
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=execution)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", [2, 4])
    listed = children(engine, map_run_of(engine, execution))
    outputs = sorted(
        json.loads(engine.describe_execution(executionArn=i["executionArn"])["output"])
        for i in listed
    )
    assert outputs == [2, 4]
    assert types(engine, listed[0]["executionArn"])[-3:] == [
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_a_failed_map_run_counts_each_child_as_it_ended(engine: Engine) -> None:
    machine = create(engine, distributed(FAIL_ON_TWO, "Check", MaxConcurrency=3))
    execution = start(engine, machine, [1, 2, 3, 4, 5])
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    map_run = map_run_of(engine, execution)
    described = engine.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "FAILED"
    # Three started: the second failed, the two others (running) were aborted; the
    # last two never started and stay pending, as AWS counts them.
    expected = {"failed": 1, "aborted": 2, "pending": 2, "total": 5}
    assert counts(engine, map_run) == expected
    assert counts(engine, map_run, "itemCounts") == expected
    by_status: dict[str, list[str]] = {}
    for item in children(engine, map_run):
        by_status.setdefault(item["status"], []).append(item["executionArn"])
    assert sorted(by_status) == ["ABORTED", "FAILED"]
    (failed,) = by_status["FAILED"]
    failure = engine.describe_execution(executionArn=failed)
    assert (failure["error"], failure["cause"]) == ("Two", "two is bad")
    for aborted in by_status["ABORTED"]:
        assert types(engine, aborted)[-1] == "ExecutionAborted"
        assert "stopDate" in engine.describe_execution(executionArn=aborted)


def test_stopping_the_parent_aborts_its_running_children(engine: Engine) -> None:
    machine = create(engine, distributed(FAIL_ON_TWO, "Check", MaxConcurrency=2))
    execution = start(engine, machine, [1, 3, 5])
    map_run = map_run_of(engine, execution)
    assert counts(engine, map_run) == {"running": 2, "pending": 1, "total": 3}
    engine.stop_execution(executionArn=execution, error="Halt")
    assert engine.describe_map_run(mapRunArn=map_run)["status"] == "ABORTED"
    assert counts(engine, map_run) == {"aborted": 2, "pending": 1, "total": 3}
    assert {c["status"] for c in children(engine, map_run)} == {"ABORTED"}


def test_batches_count_their_items(engine: Engine) -> None:
    definition = distributed(
        {"Echo": {"Type": "Pass", "End": True}}, "Echo", ItemBatcher={"MaxItemsPerBatch": 2}
    )
    execution = start(engine, create(engine, definition), [1, 2, 3, 4, 5])
    map_run = map_run_of(engine, execution)
    assert sorted(c["itemCount"] for c in children(engine, map_run)) == [1, 2, 2]
    assert counts(engine, map_run)["total"] == 3
    assert counts(engine, map_run, "itemCounts") == {
        "succeeded": 5,
        "resultsWritten": 5,
        "total": 5,
    }


def test_a_map_that_runs_again_lists_its_newest_run(engine: Engine) -> None:
    definition = distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo", ItemsPath="$.items")
    each = definition["States"]["Each"]
    del each["End"]
    each["ResultPath"] = None
    each["Next"] = "Again"
    definition["States"]["Again"] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.again", "BooleanEquals": True, "Next": "Once"}],
        "Default": "Done",
    }
    definition["States"]["Once"] = {
        "Type": "Pass",
        "Result": {"again": False, "items": [7]},
        "Next": "Each",
    }
    definition["States"]["Done"] = {"Type": "Succeed"}
    execution = start(engine, create(engine, definition), {"again": True, "items": [1, 2]})
    first, second = engine.list_map_runs(executionArn=execution)["mapRuns"]
    assert first["mapRunArn"] == second["mapRunArn"]
    listed = children(engine, second["mapRunArn"])
    assert len(listed) == 1
    assert (
        json.loads(engine.describe_execution(executionArn=listed[0]["executionArn"])["input"]) == 7
    )
    assert counts(engine, second["mapRunArn"]) == {"succeeded": 1, "resultsWritten": 1, "total": 1}


def test_express_children_are_counted_but_not_stored(engine: Engine) -> None:
    definition = distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo")
    definition["States"]["Each"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "EXPRESS"
    execution = start(engine, create(engine, definition), [1, 2])
    map_run = map_run_of(engine, execution)
    assert children(engine, map_run) == []
    assert counts(engine, map_run) == {"succeeded": 2, "resultsWritten": 2, "total": 2}


def test_a_child_names_its_map_run_and_cannot_be_stopped_or_redriven_alone(
    engine: Engine,
) -> None:
    machine = create(engine, distributed(FAIL_ON_TWO, "Check"))
    execution = start(engine, machine, [1])
    map_run = map_run_of(engine, execution)
    (child,) = children(engine, map_run)
    arn = child["executionArn"]
    described = engine.describe_execution(executionArn=arn)
    assert (described["mapRunArn"], described["stateMachineArn"]) == (
        map_run,
        f"{machine}/items",
    )
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    own = engine.describe_state_machine_for_execution(executionArn=arn)
    assert (own["stateMachineArn"], own["label"], own["mapRunArn"]) == (
        f"{machine}/items",
        "items",
        map_run,
    )
    assert json.loads(own["definition"])["StartAt"] == "Check"
    assert own["loggingConfiguration"]["level"] == "OFF"
    with pytest.raises(ServiceError) as info:
        engine.stop_execution(executionArn=arn)
    assert info.value.code == "UnsupportedOperation"
    engine.stop_execution(executionArn=execution)
    assert engine.describe_execution(executionArn=arn)["status"] == "ABORTED"


# Item 1 succeeds at once; item 2 calls "flaky", which fails while BROKEN holds 2; the
# others wait a minute, then succeed.
FLAKY_ON_TWO = {
    "Check": {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$", "NumericEquals": 1, "Next": "Good"},
            {"Variable": "$", "NumericEquals": 2, "Next": "Call"},
        ],
        "Default": "Nap",
    },
    "Call": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True},
    "Nap": {"Type": "Wait", "Seconds": 60, "Next": "Good"},
    "Good": {"Type": "Succeed"},
}


def failed_map_run(engine: Engine) -> tuple[str, str, dict[int, str]]:
    """An execution whose map run of items 1-4 (two at a time) failed: item 1
    succeeded, item 2 failed, item 3 was aborted, item 4 never started. Returns the
    execution, its map run and the children by item."""
    BROKEN.add(2)
    machine = create(engine, distributed(FLAKY_ON_TWO, "Check", MaxConcurrency=2))
    execution = start(engine, machine, [1, 2, 3, 4])
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    map_run = map_run_of(engine, execution)
    by_item = {
        json.loads(engine.describe_execution(executionArn=c["executionArn"])["input"]): c[
            "executionArn"
        ]
        for c in children(engine, map_run)
    }
    assert sorted(by_item) == [1, 2, 3]
    BROKEN.clear()
    return execution, map_run, by_item


def test_redriving_the_parent_redrives_the_unsuccessful_children_of_its_map_run(
    engine: Engine,
) -> None:
    execution, map_run, by_item = failed_map_run(engine)
    described = engine.describe_map_run(mapRunArn=map_run)
    assert counts(engine, map_run) == {
        "pending": 1,
        "succeeded": 1,
        "failed": 1,
        "aborted": 1,
        "total": 4,
        "resultsWritten": 1,
    }
    assert described["redriveCount"] == 0 and "redriveDate" not in described
    history = {arn: types(engine, arn) for arn in by_item.values()}
    engine.redrive_execution(executionArn=execution)
    engine.run_until_idle()
    parent = engine.describe_execution(executionArn=execution)
    assert parent["status"] == "SUCCEEDED"
    assert json.loads(parent["output"]) == [1, 20, 3, 4]  # in item order
    events = engine.get_execution_history(executionArn=execution)["events"]
    redriven = [e for e in events if e["type"] == "MapRunRedriven"]
    assert [e["mapRunRedrivenEventDetails"] for e in redriven] == [
        {"mapRunArn": map_run, "redriveCount": 1}
    ]
    assert "MapRunStarted" not in [e["type"] for e in events[-8:]]  # the same map run
    # The same map run, its children the same ones, and one new for the fourth item.
    assert [r["mapRunArn"] for r in engine.list_map_runs(executionArn=execution)["mapRuns"]] == [
        map_run
    ]
    now = {c["executionArn"] for c in children(engine, map_run)}
    assert len(now) == 4 and set(by_item.values()) < now
    # The child that succeeded did not run again.
    assert types(engine, by_item[1]) == history[by_item[1]]
    assert engine.describe_execution(executionArn=by_item[1])["redriveCount"] == 0
    for item in (2, 3):
        arn = by_item[item]
        after = engine.get_execution_history(executionArn=arn)["events"]
        before = len(history[arn])
        assert [e["type"] for e in after[:before]] == history[arn]
        assert after[before]["type"] == "ExecutionRedriven"
        assert after[before]["executionRedrivenEventDetails"] == {"redriveCount": 1}
        assert [e["id"] for e in after] == list(range(1, len(after) + 1))
        assert after[-1]["type"] == "ExecutionSucceeded"
        child = engine.describe_execution(executionArn=arn)
        assert (child["status"], child["redriveCount"]) == ("SUCCEEDED", 1)
        assert "redriveDate" in child and "error" not in child
    redriven_children = engine.list_executions(mapRunArn=map_run, redriveFilter="REDRIVEN")
    assert {c["executionArn"] for c in redriven_children["executions"]} == {
        by_item[2],
        by_item[3],
    }
    described = engine.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1 and "redriveDate" in described
    assert counts(engine, map_run) == {"succeeded": 4, "total": 4, "resultsWritten": 4}


def test_a_map_run_redriven_while_it_runs_again_counts_its_children(engine: Engine) -> None:
    execution, map_run, by_item = failed_map_run(engine)
    BROKEN.add(2)  # it fails again
    engine.redrive_execution(executionArn=execution)
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    assert counts(engine, map_run) == {
        "pending": 1,
        "succeeded": 1,
        "failed": 1,
        "aborted": 1,
        "total": 4,
        "resultsWritten": 1,
    }
    BROKEN.clear()
    engine.redrive_execution(executionArn=execution)
    engine.run_until_idle()
    described = engine.describe_map_run(mapRunArn=map_run)
    assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 2)
    assert engine.describe_execution(executionArn=by_item[2])["redriveCount"] == 2


def test_a_map_whose_map_run_never_started_runs_again_whole(engine: Engine) -> None:
    machine = create(
        engine, distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo", ItemsPath="$.items")
    )
    execution = start(engine, machine, {"items": "not a list"})
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    assert engine.list_map_runs(executionArn=execution)["mapRuns"] == []
    engine.redrive_execution(executionArn=execution)
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    history = types(engine, execution)
    assert "MapRunRedriven" not in history
    assert history.count("MapStateEntered") == 2  # entered again, as any other state


def test_a_child_row_is_what_describe_shows(engine: Engine) -> None:
    machine = create(engine, distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo"))
    execution = start(engine, machine, [{"k": "v"}])
    (child,) = children(engine, map_run_of(engine, execution))
    record = engine.store.get_execution(child["executionArn"])
    assert isinstance(record, ExecutionRecord)
    parent = engine.store.get_execution(execution)
    assert parent is not None
    assert (record.role_arn, record.type, record.run_state) == (parent.role_arn, "STANDARD", None)
    assert record.next_event_id == 5  # four events
    assert record.start_date == parent.start_date


def test_a_distributed_map_in_a_child_runs_map_runs_of_the_child(engine: Engine) -> None:
    inner = distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo")["States"]["Each"]
    inner["Label"] = "inner"
    machine = create(engine, distributed({"Inner": inner}, "Inner"))
    execution = start(engine, machine, [[1, 2], [3]])
    outer = map_run_of(engine, execution)
    child = next(
        c["executionArn"]
        for c in children(engine, outer)
        if json.loads(engine.describe_execution(executionArn=c["executionArn"])["input"]) == [1, 2]
    )
    (run,) = engine.list_map_runs(executionArn=child)["mapRuns"]
    name = child.rsplit(":", 1)[1]
    assert run["mapRunArn"] == f"{PREFIX}:mapRun:m/items/inner:{name}"
    assert run["stateMachineArn"] == f"{machine}/items/inner"
    assert run["executionArn"] == child
    grandchildren = children(engine, run["mapRunArn"])
    assert [g["executionArn"].rsplit(":", 1)[0] for g in grandchildren] == [
        f"{PREFIX}:execution:m/items/inner"
    ] * 2
    described = engine.describe_map_run(mapRunArn=run["mapRunArn"])
    assert (described["status"], described["executionCounts"]["succeeded"]) == ("SUCCEEDED", 2)
