"""How fast the stores commit steps: the engine's hot path, measured without the engine.

    python bench/store_commit.py [--executions 2000] [--batches 1,10,50,200] [--runs 3]

Each execution is shaped like a run of ten Pass states: ``create_execution`` with its
``ExecutionStarted`` event and a ``Begin`` stimulus, then one ``commit_steps`` commit of
21 events (ten entered/exited pairs and ``ExecutionSucceeded``) that consumes the
stimulus and finishes the execution. Commits go in batches of the given sizes, as the
worker sends them.

Two figures per store and batch size, each the best of ``--runs`` runs:

- commit: ``commit_steps`` alone -> commits/s and events/s;
- cycle: what a worker does per execution around it (create, read the execution and
  its inbox, commit) -> executions/s.

Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stepfn.store import (
    ExecutionRecord,
    MemoryStore,
    NewStart,
    SqliteStore,
    StepCommit,
    Store,
    StoredEvent,
)

PASS_STATES = 10
SM = "arn:aws:states:us-east-1:123456789012:stateMachine:Bench"
INPUT = json.dumps({"order": {"id": 1, "items": [{"sku": "A-1", "qty": 2}], "total": 19.5}})


def execution(tag: str, index: int) -> ExecutionRecord:
    """A running execution named ``<tag>-<index>``, as a start writes it."""
    arn = f"arn:aws:states:us-east-1:123456789012:execution:Bench:{tag}-{index:06d}"
    return ExecutionRecord(
        arn=arn,
        state_machine_arn=SM,
        name=arn.rsplit(":", 1)[-1],
        type="STANDARD",
        status="RUNNING",
        input=INPUT,
        start_date=1_700_000_000.0 + index,
        definition='{"StartAt":"P0","States":{}}',
        run_state='{"status":"RUNNING","state":"P0","next_event_id":2}',
        next_event_id=2,
    )


def started(record: ExecutionRecord) -> list[StoredEvent]:
    details = {"input": record.input, "inputDetails": {"truncated": False}, "roleArn": "r"}
    return [StoredEvent(1, 0, record.start_date, "ExecutionStarted", details)]


def finishing_commit(record: ExecutionRecord, consumed: list[int]) -> StepCommit:
    """The one commit of a ten-Pass-state execution: 21 events."""
    events: list[StoredEvent] = []
    at = record.start_date
    for state in range(PASS_STATES):
        for kind in ("Entered", "Exited"):
            event_id = len(events) + 2
            key = "input" if kind == "Entered" else "output"
            details = {"name": f"P{state}", key: INPUT, f"{key}Details": {"truncated": False}}
            events.append(StoredEvent(event_id, event_id - 1, at, f"PassState{kind}", details))
    output = {"output": INPUT, "outputDetails": {"truncated": False}}
    events.append(StoredEvent(len(events) + 2, len(events) + 1, at, "ExecutionSucceeded", output))
    return StepCommit(
        execution_arn=record.arn,
        expected_next_event_id=2,
        next_event_id=len(events) + 2,
        run_state='{"status":"SUCCEEDED","next_event_id":23}',
        status="SUCCEEDED",
        events=events,
        consumed_inbox_ids=consumed,
        output=INPUT,
        stop_date=at + 0.01,
    )


def measure_commits(store: Store, run: int, count: int, batch: int) -> float:
    """Seconds spent in commit_steps for ``count`` executions in batches of ``batch``."""
    records = [execution(f"r{run}", i) for i in range(count)]
    for record in records:
        store.create_execution(NewStart(record, started(record), inbox=[{"type": "Begin"}]))
    commits = [finishing_commit(record, []) for record in records]
    spent = 0.0
    for start in range(0, count, batch):
        chunk = commits[start : start + batch]
        began = time.perf_counter()
        refused = store.commit_steps(chunk)
        spent += time.perf_counter() - began
        assert not refused
    return spent


def measure_cycle(store: Store, run: int, count: int, batch: int) -> float:
    """Seconds for the whole per-execution cycle a worker drives."""
    records = [execution(f"r{run}", i) for i in range(count)]
    began = time.perf_counter()
    for start in range(0, count, batch):
        chunk = records[start : start + batch]
        for record in chunk:
            store.create_execution(NewStart(record, started(record), inbox=[{"type": "Begin"}]))
        commits = []
        for record in chunk:
            stored = store.get_execution(record.arn)
            assert stored is not None
            consumed = [message.id for message in store.inbox(record.arn)]
            commits.append(finishing_commit(stored, consumed))
        store.commit_steps(commits)
    return time.perf_counter() - began


def stores(folder: Path) -> dict[str, Callable[[str], Store]]:
    return {
        "memory": lambda _: MemoryStore(),
        "sqlite (normal)": lambda tag: SqliteStore(folder / f"{tag}-normal.db"),
        "sqlite (full)": lambda tag: SqliteStore(folder / f"{tag}-full.db", durability="full"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--batches", default="1,10,50,200")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    batches = [int(size) for size in args.batches.split(",")]
    events_per_commit = len(finishing_commit(execution(0, 0), []).events)

    print(f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {sys.platform}")
    print(f"{args.executions} executions, {events_per_commit} events per commit\n")
    header = f"{'store':<16} {'batch':>5} {'commits/s':>10} {'events/s':>10} {'cycle ex/s':>11}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="stepfn-bench-") as tmp:
        for label, make in stores(Path(tmp)).items():
            for batch in batches:
                commit_best = cycle_best = float("inf")
                for run in range(args.runs):
                    store = make(f"b{batch}-r{run}")
                    try:
                        commit_best = min(
                            commit_best, measure_commits(store, 2 * run, args.executions, batch)
                        )
                        cycle_best = min(
                            cycle_best, measure_cycle(store, 2 * run + 1, args.executions, batch)
                        )
                    finally:
                        store.close()
                commits = args.executions / commit_best
                print(
                    f"{label:<16} {batch:>5} {commits:>10,.0f} "
                    f"{commits * events_per_commit:>10,.0f} {args.executions / cycle_best:>11,.0f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
