"""Leased work on every store: claims, renewals, take-overs, leased commits, a task's
result with its mark, and timers that fire once across servers."""

from __future__ import annotations

import threading

import pytest

from stepfn.store import Lease, Store, StoreError, TimerRecord

from .test_store import execution_arn, inbox_refused, start, step, task


def test_runnable_executions_are_claimed_by_one_owner_until_their_lease_expires(
    store: Store,
) -> None:
    idle = start(store, "idle")
    first, second = start(store, "first"), start(store, "second")
    store.add_inbox(second, {"type": "Begin"}, 1001.0)
    store.add_inbox(first, {"type": "Begin"}, 1002.0)
    assert sorted(store.claim_executions(Lease("a", 2000.0, 30.0))) == sorted([first, second])
    assert idle not in store.claim_executions(Lease("b", 2000.0, 30.0))
    # Held by a: b gets nothing until the lease expires, nor does a again.
    assert store.claim_executions(Lease("b", 2010.0, 30.0)) == []
    assert store.claim_executions(Lease("a", 2010.0, 30.0)) == []
    assert store.execution_lease(first) == ("a", 2030.0)
    # a dies: once its leases expire, b takes the work over.
    assert sorted(store.claim_executions(Lease("b", 2031.0, 30.0))) == sorted([first, second])
    assert store.execution_lease(second) == ("b", 2061.0)
    assert store.execution_lease(idle) is None


def test_claims_take_the_oldest_stimulus_first_up_to_the_limit(store: Store) -> None:
    arns = [start(store, f"e{n}") for n in range(4)]
    for when, arn in enumerate(reversed(arns)):
        store.add_inbox(arn, {"type": "Begin"}, 1000.0 + when)
    assert set(store.claim_executions(Lease("a", 2000.0, 30.0), limit=2)) == {arns[3], arns[2]}
    assert set(store.claim_executions(Lease("b", 2000.0, 30.0))) == {arns[1], arns[0]}


def test_renew_and_release(store: Store) -> None:
    arn = start(store, "held")
    store.add_inbox(arn, {"type": "Begin"}, 1001.0)
    store.claim_executions(Lease("a", 2000.0, 30.0))
    store.renew_held(Lease("a", 2025.0, 30.0), [arn])
    assert store.claim_executions(Lease("b", 2040.0, 30.0)) == []  # renewed to 2055
    assert store.release_execution(arn, "b") is False
    assert store.release_execution(arn, "a") is True
    assert store.execution_lease(arn) is None
    assert store.claim_executions(Lease("b", 2040.0, 30.0)) == [arn]
    assert store.release_leases("b") == 1
    store.renew_held(Lease("b", 2041.0, 30.0), [arn])  # released: nothing to renew
    assert store.execution_lease(arn) is None


def test_a_leased_commit_is_refused_once_another_owner_took_the_execution_over(
    store: Store,
) -> None:
    arn = start(store, "taken")
    store.add_inbox(arn, {"type": "Begin"}, 1001.0)
    store.claim_executions(Lease("a", 2000.0, 30.0))
    store.claim_executions(Lease("b", 2031.0, 30.0))  # a's lease expired: b holds it
    assert store.commit_steps([step(arn, 2, lease_owner="a")]) == [arn]
    assert store.count_events(arn) == 1
    assert store.commit_steps([step(arn, 2, lease_owner="b")]) == []
    assert store.count_events(arn) == 3
    # The optimistic guard holds beside the lease: the same step again is refused.
    assert store.commit_steps([step(arn, 2, lease_owner="b")]) == [arn]


def test_invoke_tasks_are_claimed_once_and_taken_over_when_their_lease_expires(
    store: Store,
) -> None:
    arn = start(store, "tasks")
    store.commit_steps(
        [
            step(
                arn,
                2,
                new_tasks=[
                    task("t1", arn, created=1.0, kind="invoke", activity_arn=None),
                    task("t2", arn, created=2.0, kind="invoke", activity_arn=None),
                    task("t3", arn, created=3.0),  # an activity's: polled, not claimed
                ],
            )
        ]
    )
    claimed = store.claim_tasks(Lease("a", 2000.0, 30.0), limit=1)
    assert [t.token for t in claimed] == ["t1"] and claimed[0].status == "dispatched"
    assert [t.token for t in store.claim_tasks(Lease("b", 2000.0, 30.0))] == ["t2"]
    assert store.claim_tasks(Lease("b", 2010.0, 30.0)) == []
    store.renew_held(Lease("a", 2020.0, 30.0), tokens=["t1", "t2"])  # t2 is b's
    # a renewed t1 to 2050; b's lease on t2 ran out at 2030, so t2 is taken over.
    assert [t.token for t in store.claim_tasks(Lease("b", 2040.0, 30.0))] == ["t2"]
    # a dies: its t1 goes to c once its lease ran out; t2 is b's until 2070.
    assert [t.token for t in store.claim_tasks(Lease("c", 2051.0, 30.0))] == ["t1"]


def test_a_result_and_the_mark_of_its_task_are_one_transaction(store: Store) -> None:
    arn = start(store, "result")
    store.commit_steps([step(arn, 2, new_tasks=[task("t1", arn, kind="invoke")])])
    message = store.complete_task("t1", {"type": "TaskSucceeded", "token": "t1"}, 1500.0)
    assert message is not None
    done = store.get_task("t1")
    assert done is not None and done.status == "done"
    assert [m.id for m in store.inbox(arn)] == [message]
    # Answered twice (a retry, a second server): nothing changes.
    assert store.complete_task("t1", {"type": "TaskSucceeded", "token": "t1"}, 1501.0) is None
    assert store.complete_task("missing", {"type": "TaskSucceeded"}, 1501.0) is None
    assert len(store.inbox(arn)) == 1


def test_a_result_that_cannot_be_queued_leaves_its_task_open(store: Store) -> None:
    arn = start(store, "lost")
    store.commit_steps([step(arn, 2, new_tasks=[task("t1", arn, kind="callback")])])
    answer = {"type": "TaskSucceeded", "token": "t1", "output": 1}
    with inbox_refused(store), pytest.raises(StoreError):
        store.complete_task("t1", answer, 1500.0)
    # Neither half was written: the task is open, and answering it again delivers once.
    held = store.get_task("t1")
    assert held is not None and held.status == "scheduled"
    assert store.inbox(arn) == []
    assert store.complete_task("t1", answer, 1501.0) is not None
    assert store.complete_task("t1", answer, 1502.0) is None
    assert [m.stimulus for m in store.inbox(arn)] == [answer]


def test_concurrent_claims_never_share_an_execution(store: Store) -> None:
    arns = [start(store, f"c{n}") for n in range(40)]
    for n, arn in enumerate(arns):
        store.add_inbox(arn, {"type": "Begin"}, 1000.0 + n)
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def claim(owner: str) -> None:
        try:
            mine: list[str] = []
            while batch := store.claim_executions(Lease(owner, 2000.0, 60.0), limit=3):
                mine += batch
            got[owner] = mine
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(f"s{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    everything = [arn for mine in got.values() for arn in mine]
    assert sorted(everything) == sorted(arns)


def test_timers_fire_once_when_servers_fire_at_once(store: Store) -> None:
    arns = [start(store, f"w{n}") for n in range(30)]
    store.commit_steps(
        [
            step(arn, 2, new_timers=[TimerRecord(arn, "wait", 1500.0 + n)])
            for n, arn in enumerate(arns)
        ]
    )
    fired: list[list[str]] = []

    def fire() -> None:
        fired.append(store.fire_due_timers(5000.0, limit=7))

    for _ in range(3):
        threads = [threading.Thread(target=fire) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(arn for batch in fired for arn in batch) == sorted(arns)
    assert all(len(store.inbox(arn)) == 1 for arn in arns)


def test_a_commit_for_a_missing_execution_names_it_refused(store: Store) -> None:
    missing = execution_arn("nobody")
    assert store.commit_steps([step(missing, 2, lease_owner="a")]) == [missing]
    with pytest.raises(StoreError):
        store.add_inbox(missing, {"type": "Begin"}, 1.0)


def test_renewing_what_is_held_lets_a_forgotten_lease_run_out(store: Store) -> None:
    kept, forgotten = start(store, "kept"), start(store, "forgotten")
    for arn in (kept, forgotten):
        store.add_inbox(arn, {"type": "Begin"}, 1001.0)
    store.claim_executions(Lease("a", 2000.0, 30.0))
    store.commit_steps(
        [
            step(
                kept,
                2,
                lease_owner="a",
                new_tasks=[task("t1", kept, kind="invoke", activity_arn=None)],
            )
        ]
    )
    store.add_inbox(kept, {"type": "Begin"}, 1002.0)
    assert store.claim_executions(Lease("a", 2001.0, 30.0)) == [kept]
    claimed = store.claim_tasks(Lease("a", 2001.0, 30.0))
    assert [t.token for t in claimed] == ["t1"]
    # a works on kept and t1 only: forgotten's lease runs out, and b takes it over.
    store.renew_held(Lease("a", 2025.0, 30.0), [kept], ["t1"])
    assert store.claim_executions(Lease("b", 2040.0, 30.0)) == [forgotten]
    assert store.claim_tasks(Lease("b", 2040.0, 30.0)) == []
    assert store.execution_lease(kept) == ("a", 2055.0)


def test_answers_written_together_need_no_savepoints_and_a_bad_one_fails_alone(
    store: Store,
) -> None:
    from stepfn.store.sql_leases import _Completion

    arn = start(store, "batch")
    tokens = ["t1", "t2", "t3"]
    store.commit_steps(
        [step(arn, 2, new_tasks=[task(token, arn, kind="invoke") for token in tokens])]
    )
    statements: list[str] = []
    real = store._write  # type: ignore[attr-defined]

    class Traced:
        def __init__(self, conn: object) -> None:
            self.conn = conn

        def execute(self, sql: str, *args: object) -> object:
            statements.append(sql)
            return self.conn.execute(sql, *args)  # type: ignore[attr-defined]

    import contextlib

    @contextlib.contextmanager
    def traced():  # type: ignore[no-untyped-def]
        with real() as conn:
            yield Traced(conn)

    store._write = traced  # type: ignore[attr-defined]
    try:
        answer = '{"type": "TaskSucceeded"}'
        good = [_Completion("t1", answer, 1500.0), _Completion("t2", answer, 1500.0)]
        store._complete_tasks(good)  # type: ignore[attr-defined]
        assert all(item.done and item.error is None and item.message_id for item in good)
        assert not any("SAVEPOINT" in sql for sql in statements)
        # A value the database cannot take fails its own answer, not the others'.
        bad = _Completion("t3", object(), 1501.0)  # type: ignore[arg-type]
        again = _Completion("t1", answer, 1501.0)  # answered already: nothing queued
        store._complete_tasks([bad, again])  # type: ignore[attr-defined]
        assert bad.done and bad.error is not None and bad.message_id is None
        assert again.done and again.error is None and again.message_id is None
    finally:
        store._write = real  # type: ignore[attr-defined]
    assert len(store.inbox(arn)) == 2
    held = store.get_task("t3")
    assert held is not None and held.status != "done"


def test_one_commit_that_writes_and_finishes_a_task_and_cancels_and_sets_a_timer(
    store: Store,
) -> None:
    # PostgreSQL commits a batch in one statement whose parts cannot see each other's
    # rows: what a step writes and changes again must come out as the last word.
    arn, other = start(store, "last-word"), start(store, "other")
    store.commit_steps([step(arn, 2, new_timers=[TimerRecord(arn, "old", 5000.0)])])
    refused = store.commit_steps(
        [
            step(
                arn,
                4,
                new_tasks=[task("both", arn, kind="invoke", lease_owner="a", lease_expires=9.0)],
                finished_task_tokens=["both"],
                cancelled_timer_ids=["old", "new"],
                new_timers=[TimerRecord(arn, "new", 6000.0)],
                consumed_inbox_ids=[],
            ),
            step(other, 99),  # refused: its rows are not written
        ]
    )
    assert refused == [other]
    both = store.get_task("both")
    assert both is not None and both.status == "done"
    assert store.next_timer_due() == 6000.0
    assert store.fire_due_timers(7000.0) == [arn]
    assert [m.stimulus["timer_id"] for m in store.inbox(arn)] == ["new"]
    assert store.count_events(other) == 1


def test_answers_to_one_task_in_one_batch_deliver_the_first(store: Store) -> None:
    from stepfn.store.sql_leases import _Completion

    arn = start(store, "twice")
    store.commit_steps([step(arn, 2, new_tasks=[task("t1", arn, kind="invoke")])])
    first = _Completion("t1", '{"type": "TaskSucceeded", "n": 1}', 1500.0)
    second = _Completion("t1", '{"type": "TaskSucceeded", "n": 2}', 1500.0)
    store._complete_tasks([first, second])  # type: ignore[attr-defined]
    assert first.message_id is not None and second.message_id is None
    assert [m.stimulus["n"] for m in store.inbox(arn)] == [1]


def test_a_commit_from_a_kept_run_state_is_refused_once_the_stored_one_differs(
    store: Store,
) -> None:
    arn = start(store, "kept")
    store.commit_steps([step(arn, 2)])  # run state '{"step":2}'
    assert store.commit_steps([step(arn, 4, expected_run_state='{"step":1}')]) == [arn]
    assert store.count_events(arn) == 3
    assert store.commit_steps([step(arn, 4, expected_run_state='{"step":2}')]) == []
    assert store.count_events(arn) == 5
