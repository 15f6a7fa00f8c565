"""One suite for every store: each test runs on ``MemoryStore`` and on ``SqliteStore``.

The two must agree down to errors and the ordering of ties, so that unit tests on the
memory store say something about the database the service runs on.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stepfn.store import (
    ActivityRecord,
    AliasRecord,
    Conflict,
    ExecutionQuery,
    ExecutionRecord,
    MemoryStore,
    NewStart,
    SqliteStore,
    StateMachineRecord,
    StepCommit,
    Store,
    StoredEvent,
    StoreError,
    TaskRecord,
    TimerRecord,
    TimerRound,
    VersionRecord,
    open_store,
)

PREFIX = "arn:aws:states:us-east-1:123456789012:"
SM = PREFIX + "stateMachine:Orders"
ACTIVITY = PREFIX + "activity:Review"
DEFINITION = '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'


# --- record makers ------------------------------------------------------------------------


def state_machine(arn: str = SM, created: float = 100.0, **changes: Any) -> StateMachineRecord:
    record = StateMachineRecord(
        arn=arn,
        name=arn.rsplit(":", 1)[-1],
        definition=DEFINITION,
        role_arn="arn:aws:iam::123456789012:role/run",
        type="STANDARD",
        creation_date=created,
        logging_configuration={"level": "OFF", "includeExecutionData": False},
        tracing_configuration={"enabled": False},
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def execution_arn(name: str, machine: str = "Orders") -> str:
    return f"{PREFIX}execution:{machine}:{name}"


def execution(name: str, start: float = 1000.0, **changes: Any) -> ExecutionRecord:
    record = ExecutionRecord(
        arn=execution_arn(name),
        state_machine_arn=SM,
        name=name,
        type="STANDARD",
        status="RUNNING",
        input='{"order":1}',
        start_date=start,
        definition=DEFINITION,
        run_state='{"at":"P"}',
        next_event_id=2,
    )
    for field_name, value in changes.items():
        setattr(record, field_name, value)
    return record


def event(event_id: int, type_: str = "PassStateEntered", **details: Any) -> StoredEvent:
    return StoredEvent(event_id, event_id - 1, 1000.0 + event_id, type_, details or None)


def started(arn: str) -> list[StoredEvent]:
    return [StoredEvent(1, 0, 1000.0, "ExecutionStarted", {"input": '{"order":1}'})]


def task(token: str, arn: str, created: float = 1.0, **changes: Any) -> TaskRecord:
    record = TaskRecord(
        token=token,
        execution_arn=arn,
        resource="arn:aws:states:::activity:Review",
        payload='{"x":1}',
        state_name="Review",
        kind="activity",
        created=created,
        activity_arn=ACTIVITY,
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def step(arn: str, expected: int, count: int = 2, **changes: Any) -> StepCommit:
    """A commit of ``count`` events numbered from ``expected``."""
    commit = StepCommit(
        execution_arn=arn,
        expected_next_event_id=expected,
        next_event_id=expected + count,
        run_state=f'{{"step":{expected}}}',
        status="RUNNING",
        events=[event(i, value=i) for i in range(expected, expected + count)],
    )
    for name, value in changes.items():
        setattr(commit, name, value)
    return commit


def start(store: Store, name: str, start_date: float = 1000.0, **changes: Any) -> str:
    record = execution(name, start_date, **changes)
    store.create_execution(NewStart(record, started(record.arn)))
    return record.arn


# --- state machines, versions, aliases ----------------------------------------------------


def test_a_state_machine_reads_back_as_written(store: Store) -> None:
    record = state_machine(description="orders", label="v1", revision_id="r1")
    store.insert_state_machine(record)
    assert store.get_state_machine(SM) == record
    assert store.get_state_machine(SM + "x") is None


def test_a_second_state_machine_with_the_same_arn_conflicts(store: Store) -> None:
    store.insert_state_machine(state_machine())
    with pytest.raises(Conflict):
        store.insert_state_machine(state_machine(definition="{}"))
    stored = store.get_state_machine(SM)
    assert stored is not None and stored.definition == DEFINITION


def test_records_read_or_written_are_copies(store: Store) -> None:
    record = state_machine()
    store.insert_state_machine(record)
    record.logging_configuration["level"] = "ALL"
    read = store.get_state_machine(SM)
    assert read is not None and read.logging_configuration["level"] == "OFF"
    read.logging_configuration["level"] = "ERROR"
    again = store.get_state_machine(SM)
    assert again is not None and again.logging_configuration["level"] == "OFF"


def test_update_replaces_a_state_machine(store: Store) -> None:
    store.insert_state_machine(state_machine())
    changed = state_machine(definition="{}", update_date=200.0, revision_id="r2")
    store.update_state_machine(changed)
    assert store.get_state_machine(SM) == changed
    with pytest.raises(StoreError):
        store.update_state_machine(state_machine(SM + "Missing"))


def test_state_machines_list_oldest_first_ties_in_write_order(store: Store) -> None:
    for name, created in (("B", 20.0), ("A", 10.0), ("C", 20.0)):
        store.insert_state_machine(state_machine(PREFIX + "stateMachine:" + name, created))
    assert [r.name for r in store.list_state_machines()] == ["A", "B", "C"]


def test_deleting_a_state_machine_takes_versions_aliases_and_tags_not_executions(
    store: Store,
) -> None:
    store.insert_state_machine(state_machine())
    version = VersionRecord(SM + ":1", SM, 1, DEFINITION, "role", "STANDARD", 110.0)
    alias = AliasRecord(SM + ":live", SM, "live", [{"stateMachineVersionArn": SM + ":1"}], 120.0)
    store.insert_version(version)
    store.insert_alias(alias)
    for arn in (SM, version.arn, alias.arn):
        store.set_tags(arn, {"team": "a"})
    arn = start(store, "e1", version_arn=version.arn)
    store.delete_state_machine(SM)
    assert store.get_state_machine(SM) is None
    assert store.get_version(version.arn) is None and store.get_alias(alias.arn) is None
    assert store.list_versions(SM) == [] and store.list_aliases(SM) == []
    assert all(store.get_tags(a) == {} for a in (SM, version.arn, alias.arn))
    assert store.get_execution(arn) is not None
    store.delete_state_machine(SM)  # deleting what is gone is no error


def test_versions(store: Store) -> None:
    store.insert_state_machine(state_machine())
    for number in (1, 2, 3):
        store.insert_version(
            VersionRecord(
                f"{SM}:{number}",
                SM,
                number,
                DEFINITION,
                "role",
                "STANDARD",
                100.0 + number,
                description=f"v{number}",
                tracing_configuration={"enabled": True},
            )
        )
    assert [v.version for v in store.list_versions(SM)] == [3, 2, 1]
    v2 = store.get_version(SM + ":2")
    assert v2 is not None and v2.description == "v2" and v2.tracing_configuration["enabled"]
    with pytest.raises(Conflict):  # the same ARN
        store.insert_version(VersionRecord(SM + ":2", SM, 9, DEFINITION, "r", "STANDARD", 1.0))
    with pytest.raises(Conflict):  # the same number under another ARN
        store.insert_version(VersionRecord(SM + ":x", SM, 2, DEFINITION, "r", "STANDARD", 1.0))
    with pytest.raises(StoreError):  # a version of no state machine
        store.insert_version(VersionRecord(SM + "X:1", SM + "X", 1, DEFINITION, "r", "S", 1.0))
    store.set_tags(SM + ":2", {"k": "v"})
    store.delete_version(SM + ":2")
    assert store.get_version(SM + ":2") is None and store.get_tags(SM + ":2") == {}
    assert [v.version for v in store.list_versions(SM)] == [3, 1]
    assert store.list_versions(SM + "Other") == []


def test_aliases(store: Store) -> None:
    store.insert_state_machine(state_machine())
    routing = [{"stateMachineVersionArn": SM + ":1", "weight": 100}]
    first = AliasRecord(SM + ":b", SM, "b", routing, 50.0, description="first")
    second = AliasRecord(SM + ":a", SM, "a", routing, 60.0)
    store.insert_alias(first)
    store.insert_alias(second)
    assert store.get_alias(first.arn) == first
    assert [a.name for a in store.list_aliases(SM)] == ["b", "a"]
    with pytest.raises(Conflict):
        store.insert_alias(first)
    with pytest.raises(StoreError):
        store.insert_alias(AliasRecord(SM + "X:a", SM + "X", "a", routing, 1.0))
    moved = AliasRecord(first.arn, SM, "b", [{"stateMachineVersionArn": SM + ":2"}], 50.0, 70.0)
    store.update_alias(moved)
    assert store.get_alias(first.arn) == moved
    with pytest.raises(StoreError):
        store.update_alias(AliasRecord(SM + ":zz", SM, "zz", routing, 1.0))
    store.delete_alias(first.arn)
    assert store.get_alias(first.arn) is None
    assert [a.name for a in store.list_aliases(SM)] == ["a"]


# --- activities and tags ------------------------------------------------------------------


def test_activities(store: Store) -> None:
    late = ActivityRecord(ACTIVITY, "Review", 20.0)
    early = ActivityRecord(PREFIX + "activity:Ship", "Ship", 10.0)
    store.insert_activity(late)
    store.insert_activity(early)
    assert store.get_activity(ACTIVITY) == late
    assert store.list_activities() == [early, late]
    with pytest.raises(Conflict):
        store.insert_activity(ActivityRecord(ACTIVITY, "Review", 30.0))
    store.set_tags(ACTIVITY, {"k": "v"})
    store.delete_activity(ACTIVITY)
    assert store.get_activity(ACTIVITY) is None and store.get_tags(ACTIVITY) == {}
    assert store.list_activities() == [early]


def test_tags(store: Store) -> None:
    assert store.get_tags(SM) == {}
    store.set_tags(SM, {"team": "a", "env": "dev"})
    store.set_tags(SM, {"team": "b"})
    assert store.get_tags(SM) == {"env": "dev", "team": "b"}
    store.remove_tags(SM, ["team", "missing"])
    assert store.get_tags(SM) == {"env": "dev"}
    store.remove_tags(SM + "x", ["team"])
    store.set_tags(SM, {})
    assert store.get_tags(SM) == {"env": "dev"}


# --- executions ---------------------------------------------------------------------------


def test_an_execution_is_created_with_its_events_timers_and_inbox(store: Store) -> None:
    record = execution("e1")
    store.create_execution(
        NewStart(
            record,
            started(record.arn),
            timers=[TimerRecord(record.arn, "t1", 50.0)],
            inbox=[{"type": "Start"}],
        )
    )
    assert store.get_execution(record.arn) == record
    assert store.get_execution(record.arn + "x") is None
    assert store.get_events(record.arn) == started(record.arn)
    assert [(m.execution_arn, m.stimulus, m.created) for m in store.inbox(record.arn)] == [
        (record.arn, {"type": "Start"}, record.start_date)
    ]
    assert store.next_timer_due() == 50.0


def test_step_reads_give_each_row_and_its_inbox_as_the_single_reads_do(store: Store) -> None:
    quiet, busy, skipped = start(store, "quiet"), start(store, "busy"), start(store, "skipped")
    for n, arn in enumerate([busy, skipped, busy, busy]):
        store.add_inbox(arn, {"type": "Answer", "n": n}, 2000.0 + n)
    missing = execution_arn("missing")
    found = store.step_reads([busy, missing, quiet, skipped, busy], without_inbox={skipped})
    assert list(found) == [busy, missing, quiet, skipped]
    assert found[busy] == (store.get_execution(busy), store.inbox(busy))
    assert [m.stimulus["n"] for m in found[busy][1]] == [0, 2, 3]
    assert found[quiet] == (store.get_execution(quiet), [])
    assert found[skipped] == (store.get_execution(skipped), [])
    assert len(store.inbox(skipped)) == 1  # left unread, not taken
    assert found[missing] == (None, [])
    assert store.step_reads([]) == {}


def test_a_second_execution_with_the_same_arn_conflicts_and_changes_nothing(
    store: Store,
) -> None:
    arn = start(store, "e1")
    again = execution("e1", input='{"other":2}')
    with pytest.raises(Conflict):
        store.create_execution(
            NewStart(again, [event(5)], timers=[TimerRecord(arn, "t", 1.0)], inbox=[{"type": "X"}])
        )
    stored = store.get_execution(arn)
    assert stored is not None and stored.input == '{"order":1}'
    assert [e.id for e in store.get_events(arn)] == [1]
    assert store.inbox(arn) == [] and store.next_timer_due() is None


def test_many_creates_in_one_call_each_get_their_own_answer(store: Store) -> None:
    # create_executions: one group commit for all; one that collides (with what is
    # stored, or with another of the same call) fails alone, leaving no rows.
    start(store, "taken")
    names = ["a", "taken", "b", "a", "c"]
    starts = [
        NewStart(
            execution(name, input=f'{{"i":{index}}}'),
            started(execution_arn(name)),
            timers=[TimerRecord(execution_arn(name), f"t{index}", 10.0 + index)],
        )
        for index, name in enumerate(names)
    ]
    errors = store.create_executions(starts)
    assert [type(e).__name__ if e else None for e in errors] == [
        None,
        "Conflict",
        None,
        "Conflict",
        None,
    ]
    for index, name in [(0, "a"), (2, "b"), (4, "c")]:
        stored = store.get_execution(execution_arn(name))
        assert stored is not None and stored.input == f'{{"i":{index}}}'
    taken = store.get_execution(execution_arn("taken"))
    assert taken is not None and taken.input == '{"order":1}'
    assert store.next_timer_due() == 10.0
    assert store.create_executions([]) == []


def test_concurrent_creates_each_get_their_own_answer(store: Store) -> None:
    # Starts that arrive together may share one transaction (SQLite's group commit):
    # one that collides still fails alone, with its rows, and the others are stored.
    taken = start(store, "taken")
    names = [f"n{i}" for i in range(12)] + ["taken"] * 4
    outcomes: dict[int, str] = {}
    barrier = threading.Barrier(len(names))

    def create(index: int, name: str) -> None:
        record = execution(name, input=f'{{"i":{index}}}')
        token = task(f"tok-{index}", record.arn)
        barrier.wait()
        try:
            store.create_execution(
                NewStart(
                    record,
                    started(record.arn),
                    timers=[TimerRecord(record.arn, "t", 10.0 + index)],
                    tasks=[token],
                )
            )
            outcomes[index] = "stored"
        except Conflict:
            outcomes[index] = "conflict"

    threads = [threading.Thread(target=create, args=item) for item in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [outcomes[i] for i in range(len(names))] == ["stored"] * 12 + ["conflict"] * 4
    for index in range(12):
        arn = execution_arn(f"n{index}")
        stored = store.get_execution(arn)
        assert stored is not None and stored.input == f'{{"i":{index}}}'
        assert store.get_events(arn) == started(arn)
        assert store.get_task(f"tok-{index}") is not None
    kept = store.get_execution(taken)
    assert kept is not None and kept.input == '{"order":1}'
    assert [store.get_task(f"tok-{i}") for i in range(12, 16)] == [None] * 4
    assert store.next_timer_due() == 10.0


def test_list_executions_newest_first_with_filters(store: Store) -> None:
    other_sm = PREFIX + "stateMachine:Other"
    start(store, "old", 10.0, status="SUCCEEDED")
    start(store, "new", 30.0, version_arn=SM + ":1")
    start(store, "mid", 20.0, alias_arn=SM + ":live", map_run_arn=PREFIX + "mapRun:Orders/m:1")
    start(store, "tie", 30.0)
    start(store, "elsewhere", 25.0, state_machine_arn=other_sm)

    def names(**filters: Any) -> list[str]:
        return [r.name for r in store.list_executions(ExecutionQuery(**filters))]

    # Equal start dates: the later written first.
    assert names() == ["tie", "new", "elsewhere", "mid", "old"]
    assert names(state_machine_arn=SM) == ["tie", "new", "mid", "old"]
    assert names(state_machine_arn=other_sm) == ["elsewhere"]
    assert names(status="SUCCEEDED") == ["old"]
    assert names(state_machine_arn=SM, status="RUNNING") == ["tie", "new", "mid"]
    assert names(version_arn=SM + ":1") == ["new"]
    assert names(alias_arn=SM + ":live") == ["mid"]
    assert names(map_run_arn=PREFIX + "mapRun:Orders/m:1") == ["mid"]
    assert names(status="ABORTED") == []
    # Pages: limit and offset over the same order, and the redrive filter.
    assert names(limit=2) == ["tie", "new"]
    assert names(limit=2, offset=2) == ["elsewhere", "mid"]
    assert names(limit=2, offset=4) == ["old"]
    assert names(state_machine_arn=SM, status="RUNNING", limit=1, offset=1) == ["new"]
    start(store, "again", 5.0, redrive_count=2)
    assert names(redriven=True) == ["again"]
    assert names(redriven=False, limit=1, offset=4) == ["old"]


def test_update_execution_replaces_the_row(store: Store) -> None:
    arn = start(store, "e1")
    redriven = execution("e1", status="RUNNING", redrive_count=1, redrive_date=2000.0)
    redriven.error = None
    store.update_execution(redriven)
    assert store.get_execution(arn) == redriven
    with pytest.raises(StoreError):
        store.update_execution(execution("missing"))


# --- commit_steps -------------------------------------------------------------------------


def test_a_commit_applies_every_part_of_a_step(store: Store) -> None:
    arn = start(store, "e1")
    store.create_execution(NewStart(execution("e2"), started(execution_arn("e2"))))
    message = store.add_inbox(arn, {"type": "TaskSucceeded", "output": 1}, 1001.0)
    kept = store.add_inbox(arn, {"type": "Later"}, 1002.0)
    store.commit_steps([step(arn, 2, new_timers=[TimerRecord(arn, "old", 5.0)])])
    store.commit_steps([step(arn, 4, new_tasks=[task("tok0", arn)])])
    commit = step(
        arn,
        6,
        count=3,
        status="SUCCEEDED",
        consumed_inbox_ids=[message],
        new_inbox=[{"type": "Continue"}],
        new_timers=[TimerRecord(arn, "new", 9.0)],
        cancelled_timer_ids=["old"],
        new_tasks=[task("tok1", arn, kind="invoke", activity_arn=None)],
        finished_task_tokens=["tok0"],
        output='{"done":true}',
        stop_date=1010.0,
    )
    assert store.commit_steps([commit]) == []

    stored = store.get_execution(arn)
    assert stored is not None
    assert (stored.next_event_id, stored.run_state, stored.status) == (9, '{"step":6}', "SUCCEEDED")
    assert (stored.output, stored.stop_date, stored.error) == ('{"done":true}', 1010.0, None)
    assert [e.id for e in store.get_events(arn)] == list(range(1, 9))
    assert store.get_events(arn)[-1] == event(8, value=8)
    inbox = store.inbox(arn)
    assert inbox[0].id == kept
    assert [m.stimulus for m in inbox] == [{"type": "Later"}, {"type": "Continue"}]
    assert inbox[1].created == commit.events[-1].timestamp
    assert store.next_timer_due() == 9.0
    first_task, second_task = store.get_task("tok0"), store.get_task("tok1")
    assert first_task is not None and first_task.status == "done"
    assert second_task is not None and second_task.status == "scheduled"
    # The other execution is untouched.
    other = store.get_execution(execution_arn("e2"))
    assert other is not None and other.next_event_id == 2


def test_a_step_that_does_not_finish_keeps_the_result(store: Store) -> None:
    arn = start(store, "e1")
    store.commit_steps([step(arn, 2, status="FAILED", error="E", cause="C", stop_date=5.0)])
    store.commit_steps([step(arn, 4, status="FAILED")])
    stored = store.get_execution(arn)
    assert stored is not None and (stored.error, stored.cause, stored.stop_date) == ("E", "C", 5.0)


def test_a_stale_commit_is_refused_and_changes_nothing(store: Store) -> None:
    arn = start(store, "e1", run_state='{"at":"start"}')
    message = store.add_inbox(arn, {"type": "X"}, 1.0)
    store.commit_steps([step(arn, 2, new_timers=[TimerRecord(arn, "t0", 5.0)])])
    stale = step(
        arn,
        2,
        consumed_inbox_ids=[message],
        new_inbox=[{"type": "Y"}],
        new_timers=[TimerRecord(arn, "t1", 1.0)],
        cancelled_timer_ids=["t0"],
        new_tasks=[task("tok", arn)],
        status="SUCCEEDED",
        output="1",
    )
    assert store.commit_steps([stale]) == [arn]
    stored = store.get_execution(arn)
    assert stored is not None
    assert (stored.next_event_id, stored.status, stored.output) == (4, "RUNNING", None)
    assert [e.id for e in store.get_events(arn)] == [1, 2, 3]
    assert [m.id for m in store.inbox(arn)] == [message]
    assert store.next_timer_due() == 5.0
    assert store.get_task("tok") is None


def test_a_batch_with_a_stale_commit_still_commits_the_others(store: Store) -> None:
    arns = [start(store, name) for name in ("a", "b", "c")]
    refused = store.commit_steps(
        [step(arns[0], 2), step(arns[1], 7), step(arns[2], 2), step(execution_arn("none"), 2)]
    )
    assert refused == [arns[1], execution_arn("none")]
    assert [store.count_events(arn) for arn in arns] == [3, 1, 3]


def test_commits_of_one_execution_in_one_batch_apply_in_order(store: Store) -> None:
    arn = start(store, "e1")
    refused = store.commit_steps(
        [
            step(arn, 2, new_timers=[TimerRecord(arn, "t", 5.0)]),
            step(arn, 4, cancelled_timer_ids=["t"], new_timers=[TimerRecord(arn, "u", 6.0)]),
            step(arn, 4),  # stale: the previous commit moved the execution on
        ]
    )
    assert refused == [arn]
    stored = store.get_execution(arn)
    assert stored is not None and stored.next_event_id == 6
    assert store.next_timer_due() == 6.0
    assert store.fire_due_timers(10.0) == [arn]
    assert [m.stimulus["timer_id"] for m in store.inbox(arn)] == ["u"]


def test_a_batch_repeating_an_event_id_commits_nothing(store: Store) -> None:
    one, two = start(store, "a"), start(store, "b")
    bad = step(two, 2)
    bad.events = [event(1), event(2)]  # id 1 is ExecutionStarted's
    with pytest.raises(Conflict):
        store.commit_steps([step(one, 2), bad])
    assert store.count_events(one) == 1 and store.count_events(two) == 1
    stored = store.get_execution(one)
    assert stored is not None and stored.next_event_id == 2


def test_a_batch_repeating_a_task_token_commits_nothing(store: Store) -> None:
    one, two = start(store, "a"), start(store, "b")
    store.commit_steps([step(one, 2, new_tasks=[task("tok", one)])])
    with pytest.raises(Conflict):
        store.commit_steps([step(two, 2, new_tasks=[task("tok", two)])])
    assert store.count_events(two) == 1


def test_concurrent_commits_against_one_read_commit_once(store: Store) -> None:
    arn = start(store, "e1")
    results: list[list[str]] = []
    barrier = threading.Barrier(8)

    def commit() -> None:
        barrier.wait()
        results.append(store.commit_steps([step(arn, 2)]))

    threads = [threading.Thread(target=commit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(refused) for refused in results) == [0] + [1] * 7
    assert store.count_events(arn) == 3


# --- events -------------------------------------------------------------------------------


def test_events_page_forward_and_backward(store: Store) -> None:
    arn = start(store, "e1")
    store.commit_steps([step(arn, 2, count=9)])  # ids 1..10
    events = store.get_events(arn)
    assert [e.id for e in events] == list(range(1, 11))
    assert events[0].details == {"input": '{"order":1}'} and events[3].details == {"value": 4}
    assert [e.id for e in store.get_events(arn, after_id=7)] == [8, 9, 10]
    assert [e.id for e in store.get_events(arn, after_id=3, limit=2)] == [4, 5]
    assert [e.id for e in store.get_events(arn, reverse=True, limit=3)] == [10, 9, 8]
    assert [e.id for e in store.get_events(arn, after_id=4, reverse=True)] == [3, 2, 1]
    assert [e.id for e in store.get_events(arn, after_id=8, reverse=True, limit=2)] == [7, 6]
    assert store.get_events(arn, after_id=10) == []
    assert store.get_events(arn, limit=0) == []
    assert store.get_events(execution_arn("none")) == []
    assert store.count_events(arn) == 10 and store.count_events(execution_arn("none")) == 0


def test_event_details_may_be_none_and_keep_unicode(store: Store) -> None:
    arn = start(store, "e1")
    commit = step(arn, 2)
    commit.events = [
        StoredEvent(2, 1, 1.5, "PassStateEntered", None),
        StoredEvent(3, 2, 2.5, "PassStateExited", {"name": "Prüfen ✓", "n": [1, 2.5, None]}),
    ]
    store.commit_steps([commit])
    assert store.get_events(arn, after_id=1) == commit.events


# --- inbox and timers ---------------------------------------------------------------------


def test_inbox_ids_increase_and_are_never_reused(store: Store) -> None:
    a, b = start(store, "a"), start(store, "b")
    first = store.add_inbox(b, {"n": 1}, 1.0)
    second = store.add_inbox(a, {"n": 2}, 2.0)
    assert second > first
    store.commit_steps([step(a, 2, consumed_inbox_ids=[second])])
    third = store.add_inbox(a, {"n": 3}, 3.0)
    assert third > second
    assert [(m.id, m.stimulus, m.created) for m in store.inbox(a)] == [(third, {"n": 3}, 3.0)]
    with pytest.raises(StoreError):
        store.add_inbox(execution_arn("none"), {"n": 4}, 4.0)


def test_executions_with_inbox_lists_oldest_message_first(store: Store) -> None:
    a, b, c = (start(store, name) for name in "abc")
    store.add_inbox(b, {"n": 1}, 1.0)
    store.add_inbox(a, {"n": 2}, 2.0)
    store.add_inbox(b, {"n": 3}, 3.0)
    assert store.executions_with_inbox() == [b, a]
    assert store.executions_with_inbox(limit=1) == [b]
    assert c not in store.executions_with_inbox()


def test_consuming_a_message_of_another_execution_does_nothing(store: Store) -> None:
    a, b = start(store, "a"), start(store, "b")
    message = store.add_inbox(b, {"n": 1}, 1.0)
    store.commit_steps([step(a, 2, consumed_inbox_ids=[message])])
    assert [m.id for m in store.inbox(b)] == [message]


def test_due_timers_move_to_the_inbox(store: Store) -> None:
    a, b = start(store, "a"), start(store, "b")
    store.commit_steps(
        [
            step(a, 2, new_timers=[TimerRecord(a, "wait", 10.0), TimerRecord(a, "late", 99.0)]),
            step(b, 2, new_timers=[TimerRecord(b, "retry", 5.0), TimerRecord(b, "hb", 10.0)]),
        ]
    )
    assert store.next_timer_due() == 5.0
    assert store.fire_due_timers(4.0) == []
    assert store.fire_due_timers(10.0, limit=2) == [b, a]
    # A fired timer's message is created at its due time, not when it was fired.
    assert [(m.stimulus, m.created) for m in store.inbox(b)] == [
        ({"type": "TimerFired", "timer_id": "retry"}, 5.0)
    ]
    assert store.inbox(a)[0].stimulus == {"type": "TimerFired", "timer_id": "wait"}
    assert store.fire_due_timers(10.0) == [b]
    assert store.next_timer_due() == 99.0
    assert store.fire_due_timers(100.0) == [a]
    assert store.next_timer_due() is None
    assert [m.stimulus["timer_id"] for m in store.inbox(a)] == ["wait", "late"]


def test_a_round_of_timers_tells_the_next_due_when_none_fired(store: Store) -> None:
    assert store.fire_timers_round(1.0) == TimerRound([], None)
    a, b = start(store, "a"), start(store, "b")
    store.commit_steps(
        [
            step(a, 2, new_timers=[TimerRecord(a, "wait", 10.0)]),
            step(b, 2, new_timers=[TimerRecord(b, "retry", 5.0)]),
        ]
    )
    assert store.fire_timers_round(4.0) == TimerRound([], 5.0)
    assert store.inbox(b) == []
    fired = store.fire_timers_round(10.0)
    # Some fired: what is left was not read.
    assert fired == TimerRound([b, a], None)
    assert store.inbox(a)[0].stimulus == {"type": "TimerFired", "timer_id": "wait"}
    assert store.fire_timers_round(10.0) == TimerRound([], None)


def test_setting_a_timer_again_moves_it(store: Store) -> None:
    arn = start(store, "e1")
    store.commit_steps([step(arn, 2, new_timers=[TimerRecord(arn, "hb", 10.0)])])
    store.commit_steps([step(arn, 4, new_timers=[TimerRecord(arn, "hb", 20.0)])])
    assert store.fire_due_timers(15.0) == []
    assert store.fire_due_timers(20.0) == [arn]


# --- tasks --------------------------------------------------------------------------------


def test_tasks_by_status_and_kind(store: Store) -> None:
    arn = start(store, "e1")
    tasks = [
        task("t3", arn, created=3.0, kind="invoke", activity_arn=None, timeout_seconds=5.0),
        task("t1", arn, created=1.0, heartbeat_seconds=2.5, attempt=2, worker_name="w"),
        task("t2", arn, created=1.0, kind="callback", activity_arn=None),
    ]
    store.commit_steps([step(arn, 2, new_tasks=tasks)])
    assert store.get_task("t3") == tasks[0]
    assert store.get_task("nope") is None
    assert [t.token for t in store.tasks_with_status("scheduled")] == ["t1", "t2", "t3"]
    assert [t.token for t in store.tasks_with_status("scheduled", "invoke")] == ["t3"]
    store.mark_task("t3", "dispatched", worker_name="w1")
    store.mark_task("t1", "dispatched")
    assert [t.token for t in store.tasks_with_status("dispatched", kind="invoke")] == ["t3"]
    dispatched = {t.token: t.worker_name for t in store.tasks_with_status("dispatched")}
    assert dispatched == {"t1": "w", "t3": "w1"}
    with pytest.raises(StoreError):
        store.mark_task("nope", "done")


def test_claiming_takes_the_oldest_scheduled_task_of_the_activity(store: Store) -> None:
    arn = start(store, "e1")
    other = PREFIX + "activity:Other"
    store.commit_steps(
        [
            step(
                arn,
                2,
                new_tasks=[
                    task("late", arn, created=5.0),
                    task("early", arn, created=2.0),
                    task("elsewhere", arn, created=1.0, activity_arn=other),
                ],
            )
        ]
    )
    claimed = store.claim_activity_task(ACTIVITY, "worker-1", 1500.0)
    assert claimed is not None and claimed.token == "early"
    assert (claimed.status, claimed.worker_name) == ("dispatched", "worker-1")
    stored = store.get_task("early")
    assert stored is not None and stored.status == "dispatched"
    second = store.claim_activity_task(ACTIVITY, None, 1501.0)
    assert second is not None and second.token == "late"
    assert store.claim_activity_task(ACTIVITY, "worker-1", 1502.0) is None
    # Each claim queued its TaskStarted, in its own transaction.
    assert [(m.stimulus, m.created) for m in store.inbox(arn)] == [
        ({"type": "TaskStarted", "token": "early", "worker_name": "worker-1"}, 1500.0),
        ({"type": "TaskStarted", "token": "late", "worker_name": None}, 1501.0),
    ]


@contextlib.contextmanager
def inbox_refused(store: Store) -> Iterator[None]:
    """Every stimulus queued in the store's transactions fails, after whatever the
    transaction wrote before it: a crash between the two writes."""
    queries = store._q  # type: ignore[attr-defined]
    # add_inbox, and PostgreSQL's statement that marks tasks and queues their results.
    names = [name for name in ("add_inbox", "complete_tasks") if name in queries]
    kept = {name: queries[name] for name in names}
    for name in names:
        queries[name] = "INSERT INTO no_such_table VALUES (1)"
    try:
        yield
    finally:
        queries.update(kept)


def test_a_claim_whose_started_cannot_be_queued_hands_out_nothing(store: Store) -> None:
    arn = start(store, "e1")
    store.commit_steps([step(arn, 2, new_tasks=[task("only", arn)])])
    with inbox_refused(store), pytest.raises(StoreError):
        store.claim_activity_task(ACTIVITY, "worker-1", 1500.0)
    stored = store.get_task("only")
    assert stored is not None and (stored.status, stored.worker_name) == ("scheduled", None)
    assert store.inbox(arn) == []
    claimed = store.claim_activity_task(ACTIVITY, "worker-1", 1501.0)  # as if never tried
    assert claimed is not None and claimed.token == "only"
    assert len(store.inbox(arn)) == 1


def test_each_activity_task_is_claimed_once_under_threads(store: Store) -> None:
    arn = start(store, "e1")
    tokens = [f"tok{i:03d}" for i in range(120)]
    store.commit_steps(
        [step(arn, 2, new_tasks=[task(t, arn, created=float(i)) for i, t in enumerate(tokens)])]
    )
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def poll(worker: str) -> None:
        barrier.wait()
        while (got := store.claim_activity_task(ACTIVITY, worker, 1.0)) is not None:
            with lock:
                claimed.append(got.token)

    threads = [threading.Thread(target=poll, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == tokens
    assert store.tasks_with_status("scheduled") == []


# --- SQLite only --------------------------------------------------------------------------


def test_a_sqlite_file_keeps_everything_across_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    first = SqliteStore(path)
    first.insert_state_machine(state_machine())
    first.set_tags(SM, {"k": "v"})
    arn = start(first, "e1")
    first.commit_steps(
        [step(arn, 2, new_timers=[TimerRecord(arn, "t", 7.0)], new_tasks=[task("tok", arn)])]
    )
    message = first.add_inbox(arn, {"type": "X"}, 3.0)
    first.close()

    second = SqliteStore(path)
    try:
        assert second.applied_migrations == []
        assert second.get_state_machine(SM) == state_machine()
        assert second.get_tags(SM) == {"k": "v"}
        assert [e.id for e in second.get_events(arn)] == [1, 2, 3]
        assert [m.id for m in second.inbox(arn)] == [message]
        assert second.add_inbox(arn, {"type": "Y"}, 4.0) > message
        assert second.next_timer_due() == 7.0
        assert second.get_task("tok") is not None
    finally:
        second.close()


def test_two_stores_on_one_file_share_the_optimistic_lock(tmp_path: Path) -> None:
    # As a second process (the CLI beside a running server) would see the file.
    one, two = SqliteStore(tmp_path / "shared.db"), SqliteStore(tmp_path / "shared.db")
    try:
        arn = start(one, "e1")
        assert two.commit_steps([step(arn, 2)]) == []
        assert one.commit_steps([step(arn, 2)]) == [arn]
        assert [e.id for e in one.get_events(arn)] == [1, 2, 3]
        assert one.commit_steps([]) == []
    finally:
        one.close()
        two.close()


def test_a_closed_sqlite_store_raises_store_errors() -> None:
    closed = SqliteStore(":memory:")
    closed.close()
    with pytest.raises(StoreError):
        closed.get_execution("x")


def test_durability_is_normal_or_full(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "full.db", durability="full").close()
    with pytest.raises(ValueError, match="durability"):
        SqliteStore(tmp_path / "bad.db", durability="sometimes")


# --- open_store ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", MemoryStore),
        (":memory:", SqliteStore),
        ("sqlite://", SqliteStore),
        ("sqlite:///:memory:", SqliteStore),
    ],
)
def test_open_store_in_memory(url: str, kind: type[Store]) -> None:
    opened = open_store(url)
    try:
        assert type(opened) is kind
    finally:
        opened.close()


@pytest.mark.parametrize(
    "url_of", [lambda p: str(p), lambda p: "sqlite:///" + str(p)], ids=["path", "url"]
)
def test_open_store_on_a_file(tmp_path: Path, url_of: Callable[[Path], str]) -> None:
    path = tmp_path / "opened.db"
    opened = open_store(url_of(path))
    try:
        assert isinstance(opened, SqliteStore) and path.exists()
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # Port 1 on loopback: nothing listens there.
        ("postgresql://user@127.0.0.1:1/db", "cannot connect to PostgreSQL"),
        ("postgres://127.0.0.1:1/db", "cannot connect to PostgreSQL"),
        ("postgresql://127.0.0.1:1/db?schema=Bad-Name", "lower-case identifier"),
        ("mysql://host/db", "no store for 'mysql'"),
        ("sqlite:relative.db", "three slashes"),
        ("sqlite://relative.db", "three slashes"),
        ("", "empty"),
    ],
)
def test_open_store_refuses_what_it_cannot_open(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_a_redrive_commit_clears_the_result_and_counts(store: Store) -> None:
    arn = start(store, "again")
    store.commit_steps([step(arn, 2, status="FAILED", error="Boom", cause="bad", stop_date=1010.0)])
    failed = store.get_execution(arn)
    assert failed is not None and (failed.error, failed.stop_date) == ("Boom", 1010.0)
    redrive = step(
        arn,
        4,
        count=0,
        status="RUNNING",
        new_inbox=[{"type": "Redrive", "redrive_count": 1}],
        redrive_count=1,
        redrive_date=1020.0,
    )
    assert store.commit_steps([redrive]) == []
    again = store.get_execution(arn)
    assert again is not None
    assert (again.status, again.redrive_count, again.redrive_date) == ("RUNNING", 1, 1020.0)
    assert (again.output, again.error, again.cause, again.stop_date) == (None, None, None, None)
    assert [m.stimulus for m in store.inbox(arn)] == [{"type": "Redrive", "redrive_count": 1}]
    # A stale redrive (read before the execution moved on) changes nothing.
    stale = step(arn, 2, count=0, redrive_count=2, redrive_date=1.0)
    assert store.commit_steps([stale]) == [arn]
    still = store.get_execution(arn)
    assert still is not None and still.redrive_count == 1
