"""Child executions of a distributed Map, on every store (the suite of test_store.py).

A child runs inside its parent's run state, so the store changes it only in its
parent's transactions: the step that starts it inserts its row, every step adds its
events, and the one that ends it writes its result. Each test runs on ``MemoryStore``
and on ``SqliteStore``.
"""

from __future__ import annotations

from typing import Any

import pytest

from stepfn.store import (
    ChildStep,
    Conflict,
    ExecutionQuery,
    ExecutionRecord,
    NewStart,
    StepCommit,
    Store,
    StoredEvent,
)

PREFIX = "arn:aws:states:us-east-1:123456789012:"
PARENT = PREFIX + "execution:Orders:parent"
MAP_RUN = PREFIX + "mapRun:Orders/items:parent"
DEFINITION = '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'


def parent(**changes: Any) -> ExecutionRecord:
    record = ExecutionRecord(
        arn=PARENT,
        state_machine_arn=PREFIX + "stateMachine:Orders",
        name="parent",
        type="STANDARD",
        status="RUNNING",
        input="[1,2]",
        start_date=1000.0,
        definition=DEFINITION,
        run_state="{}",
        next_event_id=5,
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def child_arn(name: str) -> str:
    return f"{PREFIX}execution:Orders/items:{name}"


def child(name: str, start: float = 1000.0, run: int = 4, **changes: Any) -> ExecutionRecord:
    record = ExecutionRecord(
        arn=child_arn(name),
        state_machine_arn=PREFIX + "stateMachine:Orders/items",
        name=name,
        type="STANDARD",
        status="RUNNING",
        input='"item"',
        start_date=start,
        definition=DEFINITION,
        next_event_id=2,
        map_run_arn=MAP_RUN,
        item_count=1,
        map_run_event_id=run,
    )
    for field_name, value in changes.items():
        setattr(record, field_name, value)
    return record


def events(first: int, count: int) -> list[StoredEvent]:
    return [StoredEvent(i, i - 1, 1000.0 + i, f"E{i}") for i in range(first, first + count)]


def started(name: str, **changes: Any) -> ChildStep:
    """A child started in a step, its ExecutionStarted its one event."""
    return ChildStep(child_arn(name), events(1, 1), new=child(name, **changes))


def commit(expected: int, *children: ChildStep, count: int = 1) -> StepCommit:
    return StepCommit(
        execution_arn=PARENT,
        expected_next_event_id=expected,
        next_event_id=expected + count,
        run_state=f'{{"at":{expected}}}',
        status="RUNNING",
        events=events(expected, count),
        children=list(children),
    )


def test_the_first_step_of_an_execution_may_start_children(store: Store) -> None:
    done = ChildStep(
        child_arn("b"),
        events(1, 3),
        new=child("b", status="SUCCEEDED", output='"B"', stop_date=1003.0, next_event_id=4),
        status="SUCCEEDED",
    )
    store.create_execution(NewStart(parent(), events(1, 4), children=[started("a"), done]))
    a = store.get_execution(child_arn("a"))
    assert a is not None and (a.status, a.map_run_arn, a.item_count) == ("RUNNING", MAP_RUN, 1)
    assert a.map_run_event_id == 4 and a.run_state is None
    b = store.get_execution(child_arn("b"))
    assert b is not None and (b.status, b.output, b.stop_date) == ("SUCCEEDED", '"B"', 1003.0)
    assert [e.type for e in store.get_events(child_arn("b"))] == ["E1", "E2", "E3"]
    assert [e.id for e in store.get_events(PARENT)] == [1, 2, 3, 4]


def test_a_step_adds_child_events_and_ends_children(store: Store) -> None:
    store.create_execution(NewStart(parent(), events(1, 4), children=[started("a"), started("b")]))
    ended = ChildStep(
        child_arn("a"),
        events(2, 2),
        status="FAILED",
        error="Boom",
        cause="it broke",
        stop_date=1010.0,
        next_event_id=4,
    )
    moved = ChildStep(child_arn("b"), events(2, 1))
    assert store.commit_steps([commit(5, ended, moved, started("c"))]) == []
    a = store.get_execution(child_arn("a"))
    assert a is not None
    assert (a.status, a.error, a.cause, a.stop_date, a.next_event_id) == (
        "FAILED",
        "Boom",
        "it broke",
        1010.0,
        4,
    )
    b = store.get_execution(child_arn("b"))
    assert b is not None and b.status == "RUNNING" and b.stop_date is None
    assert [e.id for e in store.get_events(child_arn("b"))] == [1, 2]
    assert store.get_execution(child_arn("c")) is not None
    assert store.count_events(PARENT) == 5


def test_a_refused_step_changes_no_child(store: Store) -> None:
    store.create_execution(NewStart(parent(), events(1, 4)))
    assert store.commit_steps([commit(3, started("a"))]) == [PARENT]
    assert store.get_execution(child_arn("a")) is None
    assert store.get_events(child_arn("a")) == []


def test_a_child_started_twice_commits_nothing(store: Store) -> None:
    store.create_execution(NewStart(parent(), events(1, 4), children=[started("a")]))
    with pytest.raises(Conflict):
        store.commit_steps([commit(5, started("a"))])
    record = store.get_execution(PARENT)
    assert record is not None and record.next_event_id == 5
    assert store.count_events(child_arn("a")) == 1


def test_children_list_by_map_run_and_run_newest_first(store: Store) -> None:
    store.create_execution(
        NewStart(
            parent(),
            events(1, 4),
            children=[started("a", start=1000.0), started("b", start=1001.0, item_count=3)],
        )
    )
    # The same Map ran again: its map run ARN is the same, its MapRunStarted another.
    store.commit_steps([commit(5, started("c", start=1002.0, run=9))])
    listed = store.list_executions(ExecutionQuery(map_run_arn=MAP_RUN))
    assert [r.name for r in listed] == ["c", "b", "a"]
    first_run = store.list_executions(ExecutionQuery(map_run_arn=MAP_RUN, map_run_event_id=4))
    assert [r.name for r in first_run] == ["b", "a"]
    page = store.list_executions(
        ExecutionQuery(map_run_arn=MAP_RUN, map_run_event_id=4, limit=1, offset=1)
    )
    assert [r.name for r in page] == ["a"]
    machine = PREFIX + "stateMachine:Orders"
    assert [r.arn for r in store.list_executions(ExecutionQuery(state_machine_arn=machine))] == [
        PARENT
    ]


def test_children_are_counted_by_status_with_their_items(store: Store) -> None:
    store.create_execution(
        NewStart(
            parent(),
            events(1, 4),
            children=[
                started("a", item_count=2),
                started("b", item_count=3),
                started("c", status="FAILED", item_count=1),
                started("d", run=9),
            ],
        )
    )
    assert store.count_map_run_children(MAP_RUN, 4) == {"RUNNING": (2, 5), "FAILED": (1, 1)}
    assert store.count_map_run_children(MAP_RUN, 9) == {"RUNNING": (1, 1)}
    assert store.count_map_run_children(MAP_RUN, 1) == {}


def test_a_step_redrives_children_of_its_map_run(store: Store) -> None:
    # a and b failed; the parent's redrive step runs a again and redrives b, which
    # fails again within the same step.
    failed = {"status": "FAILED", "error": "Boom", "cause": "c", "stop_date": 1003.0}
    store.create_execution(
        NewStart(
            parent(),
            events(1, 4),
            children=[
                started("a", item_index=0, next_event_id=4, **failed),
                started("b", item_index=1, next_event_id=4, **failed),
            ],
        )
    )
    rerun = ChildStep(
        child_arn("a"), events(4, 2), next_event_id=6, redrive_count=1, redrive_date=1020.0
    )
    again = ChildStep(
        child_arn("b"),
        events(4, 3),
        status="FAILED",
        error="Again",
        stop_date=1021.0,
        next_event_id=7,
        redrive_count=1,
        redrive_date=1020.0,
    )
    assert store.commit_steps([commit(5, rerun, again)]) == []
    a = store.get_execution(child_arn("a"))
    assert a is not None and a.item_index == 0
    assert (a.status, a.output, a.error, a.cause, a.stop_date) == (
        "RUNNING",
        None,
        None,
        None,
        None,
    )
    assert (a.redrive_count, a.redrive_date, a.next_event_id) == (1, 1020.0, 6)
    b = store.get_execution(child_arn("b"))
    assert b is not None
    assert (b.status, b.error, b.cause, b.stop_date) == ("FAILED", "Again", None, 1021.0)
    assert (b.redrive_count, b.redrive_date, b.next_event_id) == (1, 1020.0, 7)
    assert [e.id for e in store.get_events(child_arn("a"))] == [1, 4, 5]
    assert [
        r.name for r in store.list_executions(ExecutionQuery(map_run_arn=MAP_RUN, redriven=True))
    ] == [
        "b",
        "a",
    ]
