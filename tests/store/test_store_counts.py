"""Executions counted by status and listed without their large columns (the console's
lists, ListExecutions), on every store."""

from __future__ import annotations

import pytest

from stepfn.store import ExecutionQuery, NewStart, Store

from .test_store import PREFIX, SM, execution, started, step

pytestmark = pytest.mark.unit

OTHER = PREFIX + "stateMachine:Refunds"


def test_executions_are_counted_by_status_per_state_machine(store: Store) -> None:
    for i in range(5):
        store.create_execution(NewStart(execution(f"run-{i}", 1000.0 + i), started(f"run-{i}")))
    store.create_execution(
        NewStart(
            execution("refund", state_machine_arn=OTHER, arn=PREFIX + "execution:Refunds:r"),
            started("refund"),
        )
    )
    finished = [PREFIX + "execution:Orders:run-0", PREFIX + "execution:Orders:run-1"]
    store.commit_steps([step(finished[0], 2, status="SUCCEEDED")])
    store.commit_steps([step(finished[1], 2, status="FAILED")])

    assert store.count_executions(SM) == {"RUNNING": 3, "SUCCEEDED": 1, "FAILED": 1}
    assert store.count_executions(OTHER) == {"RUNNING": 1}
    assert store.count_executions(PREFIX + "stateMachine:None") == {}
    # The same executions as the list, whatever the status filter.
    for status, count in store.count_executions(SM).items():
        assert len(store.list_executions(ExecutionQuery(SM, status))) == count


def test_summaries_list_as_executions_do_without_the_large_columns(store: Store) -> None:
    for i, status in enumerate(["RUNNING", "FAILED", "RUNNING", "SUCCEEDED"]):
        store.create_execution(
            NewStart(
                execution(f"run-{i}", 1000.0 + i % 2, status=status, version_arn=f"{SM}:{i}"),
                started(f"run-{i}"),
            )
        )
    for query in (
        ExecutionQuery(SM),
        ExecutionQuery(SM, "RUNNING"),
        ExecutionQuery(SM, limit=2, offset=1),
    ):
        summaries = store.list_execution_summaries(query)
        records = store.list_executions(query)
        assert [s.arn for s in summaries] == [r.arn for r in records]
        assert [(s.status, s.start_date, s.version_arn) for s in summaries] == [
            (r.status, r.start_date, r.version_arn) for r in records
        ]
    assert not hasattr(store.list_execution_summaries(ExecutionQuery(SM))[0], "definition")
