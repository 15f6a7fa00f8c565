"""The store backends side by side, on one workload of the engine's store calls.

    python bench/store_backends.py [--executions 1000] [--runs 3] [--threads 1,4]
                                   [--backends memory,sqlite-memory,sqlite-file,postgresql]

Two tables, figures printed, never asserted (they depend on the machine):

1. **Workload** (one thread): per backend, the seconds of each phase, best of ``--runs``:
   ``create`` (create_execution with its first event, a timer and a stimulus), ``commit``
   (one commit_steps per execution of 11 events that consumes the stimulus, in batches
   of 10 as the worker sends them), ``list`` (ListExecutions pages of 100, newest
   first, for the whole state machine and by status), ``history`` (every history read
   in pages of 5 events, forward and reverse) and ``timers`` (fire_due_timers of every
   timer then the inbox of each execution).
2. **Commits/s from threads**: ``--threads`` threads each creating executions and
   committing one step for each (batch 1: the cost of one transaction), SQLite file vs
   PostgreSQL.

``memory`` is the in-memory store, when this stepfn still has one as a class of its
own (``stepfn.store.memory.MemoryStore`` that is not a SQLite store); ``sqlite-memory``
is SQLite in memory (what ``memory://`` opens otherwise); ``postgresql`` needs Debian's
``postgresql`` package (a throwaway server is started in a temporary folder) and is
skipped, with a message, without it.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# The same executions as the commit bench writes (run from bench/: a sibling module).
from store_commit import INPUT, SM, execution, started

from stepfn.store import (
    ExecutionQuery,
    ExecutionRecord,
    NewStart,
    SqliteStore,
    StepCommit,
    Store,
    StoredEvent,
    TimerRecord,
    open_store,
)

STEP_EVENTS = 11


def step(record: ExecutionRecord, consumed: list[int], finish: bool) -> StepCommit:
    """One step of STEP_EVENTS events (Pass states entered and exited)."""
    events: list[StoredEvent] = []
    at = record.start_date
    for index in range(STEP_EVENTS):
        event_id = index + 2
        details = {"name": f"P{index // 2}", "input": INPUT, "inputDetails": {"truncated": False}}
        events.append(StoredEvent(event_id, event_id - 1, at, "PassStateEntered", details))
    return StepCommit(
        execution_arn=record.arn,
        expected_next_event_id=2,
        next_event_id=STEP_EVENTS + 2,
        run_state='{"status":"RUNNING","state":"P9"}',
        status="SUCCEEDED" if finish else "RUNNING",
        events=events,
        consumed_inbox_ids=consumed,
        output=INPUT if finish else None,
        stop_date=at + 0.01 if finish else None,
    )


def workload(store: Store, tag: str, count: int) -> dict[str, float]:
    """Seconds per phase of the workload on one store."""
    records = [execution(tag, i) for i in range(count)]
    spent: dict[str, float] = {}

    began = time.perf_counter()
    for record in records:
        timer = TimerRecord(record.arn, "t1", record.start_date + 60)
        store.create_execution(NewStart(record, started(record), [timer], [{"type": "Begin"}]))
    spent["create"] = time.perf_counter() - began

    began = time.perf_counter()
    for start in range(0, count, 10):
        chunk = records[start : start + 10]
        commits = []
        for index, record in enumerate(chunk):
            consumed = [message.id for message in store.inbox(record.arn)]
            commits.append(step(record, consumed, finish=index % 2 == 0))
        refused = store.commit_steps(commits)
        assert not refused, refused
    spent["commit"] = time.perf_counter() - began

    began = time.perf_counter()
    for status in (None, "SUCCEEDED", "RUNNING"):
        offset = 0
        while page := store.list_executions(ExecutionQuery(SM, status, limit=100, offset=offset)):
            offset += len(page)
    spent["list"] = time.perf_counter() - began

    began = time.perf_counter()
    for record in records:
        after = 0
        while page := store.get_events(record.arn, after, limit=5):
            after = page[-1].id
        store.get_events(record.arn, 0, limit=5, reverse=True)
    spent["history"] = time.perf_counter() - began

    began = time.perf_counter()
    fired = store.fire_due_timers(1_700_000_000.0 + count + 120, limit=count)
    assert len(fired) == count, len(fired)
    for record in records:
        store.inbox(record.arn)
    spent["timers"] = time.perf_counter() - began
    return spent


def threaded_commits(store: Store, tag: str, count: int, threads: int) -> float:
    """Commits/s of ``threads`` threads, each creating then stepping its executions."""
    per_thread = count // threads
    errors: list[BaseException] = []

    def run(thread: int) -> None:
        try:
            for index in range(per_thread):
                record = execution(f"{tag}-t{thread}", index)
                store.create_execution(NewStart(record, started(record)))
                refused = store.commit_steps([step(record, [], finish=True)])
                assert not refused
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    spent = time.perf_counter() - began
    if errors:
        raise errors[0]
    # Two transactions per execution: its creation and its step.
    return 2 * per_thread * threads / spent


def legacy_memory_store() -> Callable[[], Store] | None:
    """The in-memory store class of its own, when this stepfn still has one."""
    try:
        from stepfn.store.memory import MemoryStore  # type: ignore[attr-defined]
    except ImportError:
        return None
    if issubclass(MemoryStore, SqliteStore):
        return None
    return MemoryStore  # type: ignore[no-any-return]


@contextmanager
def postgres_url(folder: Path) -> Iterator[str | None]:
    """A throwaway PostgreSQL server's URL, or None when PostgreSQL is not installed."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    try:
        import pg  # the test suite's helper: starts a real server in a folder
    except ImportError:
        print("postgresql: skipped (this stepfn has no PostgreSQL store)")
        yield None
        return
    finally:
        sys.path.pop(0)
    if pg.binaries() is None:
        print(f"postgresql: skipped ({pg.MISSING})")
        yield None
        return
    with pg.PostgresServer(durable=True) as server:
        yield server.url("postgres")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", default="1,4")
    parser.add_argument("--backends", default="memory,sqlite-memory,sqlite-file,postgresql")
    args = parser.parse_args(argv)
    wanted = args.backends.split(",")
    print(f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {sys.platform}")
    print(f"{args.executions} executions, {STEP_EVENTS} events per step\n")

    with (
        tempfile.TemporaryDirectory(prefix="stepfn-bench-") as tmp,
        postgres_url(Path(tmp)) as pg_url,
    ):
        folder = Path(tmp)
        factories: dict[str, Callable[[str], Store]] = {}
        legacy = legacy_memory_store()
        if "memory" in wanted and legacy is not None:
            factories["memory"] = lambda _: legacy()
        if "sqlite-memory" in wanted:
            factories["sqlite-memory"] = lambda _: open_store("memory://")
        if "sqlite-file" in wanted:
            factories["sqlite-file"] = lambda tag: SqliteStore(folder / f"{tag}.db")
        if "postgresql" in wanted and pg_url is not None:
            url = pg_url
            factories["postgresql"] = lambda tag: open_store(f"{url}?schema=bench_{tag}")

        phases = ("create", "commit", "list", "history", "timers")
        header = f"{'backend':<14}" + "".join(f"{p:>9}" for p in phases) + f"{'total s':>9}"
        print(header)
        print("-" * len(header))
        for label, make in factories.items():
            best: dict[str, float] = {}
            for run in range(args.runs):
                store = make(f"w{run}")
                try:
                    spent = workload(store, f"w{run}", args.executions)
                finally:
                    store.close()
                for phase, seconds in spent.items():
                    best[phase] = min(best.get(phase, float("inf")), seconds)
            cells = "".join(f"{best[p]:>9.3f}" for p in phases)
            print(f"{label:<14}{cells}{sum(best.values()):>9.3f}")

        print()
        threads = [int(n) for n in args.threads.split(",")]
        header = f"{'backend':<14}" + "".join(f"{f'{n} thr c/s':>12}" for n in threads)
        print(header)
        print("-" * len(header))
        for label in ("sqlite-file", "postgresql"):
            if label not in factories:
                continue
            cells = ""
            for count in threads:
                store = factories[label](f"c{count}")
                try:
                    rate = threaded_commits(store, f"c{count}", args.executions, count)
                finally:
                    store.close()
                cells += f"{rate:>12,.0f}"
            print(f"{label:<14}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
