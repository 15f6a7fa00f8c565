"""Concurrent StartExecution calls through the server (asgi.Batches): they go to the
Engine in batches that share a group commit, and each caller gets its own answer, also
when the commit fails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepfn.store import StoreError

from .helpers import ROLE, WAIT_LONG, Live, start_server, stop_server

CALLS = 24


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Live]:
    live = start_server(tmp_path)
    yield live
    stop_server(live)


def post(live: Live, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One AWS JSON 1.0 call, raw (no SDK retries): (status, answer)."""
    status, _, document = live.post(json.dumps(body), f"AWSStepFunctions.{operation}")
    return status, document


def machine(live: Live) -> str:
    status, created = post(
        live,
        "CreateStateMachine",
        {"name": "waits", "definition": json.dumps(WAIT_LONG), "roleArn": ROLE},
    )
    assert status == 200
    arn: str = created["stateMachineArn"]
    return arn


def start_all(live: Live, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Send every StartExecution at once, each on its own connection."""
    answers: list[Any] = [None] * len(bodies)

    def send(index: int) -> None:
        answers[index] = post(live, "StartExecution", bodies[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def hold_first_batch(live: Live, calls: int) -> list[int]:
    """Make the store's batches wait until ``calls`` requests are being answered (at most
    ``Batches.JOBS`` run at once, the others queue behind them); the sizes of the batches
    it is given."""
    store = live.engine.store
    create_executions = store.create_executions
    sizes: list[int] = []
    arrived = threading.Event()

    def held(starts: Any) -> Any:
        # Every batch waits, not only the first: an unheld second batch would commit at
        # once, and how the rest split behind it would depend on the machine's load.
        sizes.append(len(starts))
        deadline = time.monotonic() + 20
        while not arrived.is_set() and time.monotonic() < deadline:
            if live.server.api.in_progress >= calls:
                arrived.set()  # once: later batches start as answers go out
            time.sleep(0.005)
        return create_executions(starts)

    store.create_executions = held  # type: ignore[method-assign]
    return sizes


def test_concurrent_starts_all_succeed_and_share_commits(served: Live) -> None:
    arn = machine(served)
    # A name taken before the burst: taken inside it, which of two calls won would be a race.
    status, _ = post(served, "StartExecution", {"stateMachineArn": arn, "name": "taken"})
    assert status == 200
    sizes = hold_first_batch(served, CALLS)
    bodies = [{"stateMachineArn": arn, "name": f"n{i}", "input": '{"i":1}'} for i in range(CALLS)]
    bodies[-1] = {"stateMachineArn": arn, "name": "taken", "input": '{"other":1}'}
    answers = start_all(served, bodies)
    assert [status for status, _ in answers[:-1]] == [200] * (CALLS - 1)
    assert answers[-1][0] == 400 and answers[-1][1]["__type"] == "ExecutionAlreadyExists"
    assert [document["executionArn"].rsplit(":", 1)[-1] for _, document in answers[:-1]] == [
        f"n{i}" for i in range(CALLS - 1)
    ]
    # At most JOBS batches were held at once and the calls arriving meanwhile queued behind
    # them: the 24 calls shared a few commits (how they split depends on the machine's load:
    # measured 2 to 6 batches), far from one commit each.
    assert sum(sizes) == CALLS and len(sizes) <= CALLS // 3, sizes
    status, listed = post(served, "ListExecutions", {"stateMachineArn": arn})
    assert status == 200 and len(listed["executions"]) == CALLS  # the burst's and "taken"


def test_a_failing_commit_answers_every_waiting_caller(served: Live) -> None:
    arn = machine(served)
    store = served.engine.store

    def failing(starts: Any) -> Any:
        time.sleep(0.05)  # the calls arriving meanwhile wait for this one's answer
        raise StoreError("disk I/O error")

    store.create_executions = failing  # type: ignore[method-assign]
    answers = start_all(served, [{"stateMachineArn": arn, "name": f"f{i}"} for i in range(8)])
    assert [status for status, _ in answers] == [503] * 8
    assert {document["__type"] for _, document in answers} == {"ServiceUnavailable"}
    del store.create_executions  # the store's own again: the server goes on
    status, document = post(served, "StartExecution", {"stateMachineArn": arn, "name": "ok"})
    assert status == 200 and document["executionArn"].endswith(":ok")


def test_a_failing_batch_answers_every_caller_with_an_internal_failure(served: Live) -> None:
    # A bug below the Api (the batch itself raising) still answers each caller, once.
    arn = machine(served)
    api = served.server.api
    batches = api._batches  # the server's Calls carry these

    def broken(calls: Any) -> Any:
        raise RuntimeError("a bug")

    original = batches["StartExecution"]
    batches["StartExecution"] = broken
    try:
        answers = start_all(served, [{"stateMachineArn": arn, "name": f"b{i}"} for i in range(4)])
    finally:
        batches["StartExecution"] = original
    assert [status for status, _ in answers] == [500] * 4
    assert {document["__type"] for _, document in answers} == {"InternalFailure"}
