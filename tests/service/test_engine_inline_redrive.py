"""RedriveExecution through the Engine, on both stores, of an execution that failed in
an inline Map or a Parallel state: only the iterations and branches that did not succeed
run again, as AWS's API reference says; the Lambda functions of the others are not
invoked a second time. The SQLite engine is reopened between the failure and the
redrive, so what the redrive goes on with comes from the stored run state."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"

CALLS: Counter[Any] = Counter()  # event -> invocations of "work"
BROKEN: set[Any] = set()  # the events "work" fails on


def work(event: Any, context: Any) -> Any:
    CALLS[json.dumps(event)] += 1
    if event in BROKEN:
        # Tasks run concurrently: fail last, so that the branches meant to succeed have
        # answered before this failure ends their Parallel (or they would be aborted).
        time.sleep(0.5)
        raise RuntimeError(f"{event} is broken")
    return event * 10


@pytest.fixture
def opened(store_url: str) -> Iterator[Callable[[], Engine]]:
    """Opens the engine; for a file or a database a second call closes it and opens
    the same store again."""
    url = store_url
    engines: list[Engine] = []

    def open_engine() -> Engine:
        if engines and url == "memory://":
            return engines[-1]
        if engines:
            engines[-1].close()
        engines.append(Engine.open(url, clock=VirtualClock(), functions={"work": work}))
        return engines[-1]

    CALLS.clear()
    BROKEN.clear()
    yield open_engine
    engines[-1].close()


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA + "work", "End": True, **fields}


def run_and_fail(engine: Engine, definition: dict[str, Any], input: Any) -> str:
    machine = engine.create_state_machine(
        name="m", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution: str = engine.start_execution(
        stateMachineArn=machine, name="run", input=json.dumps(input)
    )["executionArn"]
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"
    return execution


def redrive(engine: Engine, execution: str) -> tuple[Any, list[dict[str, Any]]]:
    """Redrive ``execution`` to its end: its output and the events of the redrive."""
    engine.redrive_execution(executionArn=execution)
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    events = engine.get_execution_history(executionArn=execution)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    at = [e["type"] for e in events].index("ExecutionRedriven")
    return json.loads(described["output"]), events[at:]


def test_a_redriven_inline_map_runs_only_its_unsuccessful_iterations(
    opened: Callable[[], Engine],
) -> None:
    each = {
        "Type": "Map",
        "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": task()}},
        "End": True,
    }
    BROKEN.add(2)
    execution = run_and_fail(opened(), {"StartAt": "Each", "States": {"Each": each}}, [1, 2, 3])
    assert dict(CALLS) == {"1": 1, "2": 1}
    BROKEN.clear()
    output, events = redrive(opened(), execution)
    assert output == [10, 20, 30]
    assert dict(CALLS) == {"1": 1, "2": 2, "3": 1}
    started = [e for e in events if e["type"] == "MapIterationStarted"]
    assert [e["mapIterationStartedEventDetails"]["index"] for e in started] == [1, 2]
    assert "MapStateEntered" not in [e["type"] for e in events]


def test_a_redriven_parallel_runs_only_its_unsuccessful_branches(
    opened: Callable[[], Engine],
) -> None:
    branches = [
        {"StartAt": f"W{i}", "States": {f"W{i}": task(InputPath=f"$[{i}]")}} for i in range(3)
    ]
    definition = {
        "StartAt": "All",
        "States": {"All": {"Type": "Parallel", "Branches": branches, "End": True}},
    }
    BROKEN.add(3)
    execution = run_and_fail(opened(), definition, [1, 2, 3])
    assert dict(CALLS) == {"1": 1, "2": 1, "3": 1}
    BROKEN.clear()
    output, events = redrive(opened(), execution)
    assert output == [10, 20, 30]
    assert dict(CALLS) == {"1": 1, "2": 1, "3": 2}
    assert [e["type"] for e in events][-2:] == ["ParallelStateExited", "ExecutionSucceeded"]
