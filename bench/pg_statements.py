"""SQL statements per transition on PostgreSQL: a figure the load of the machine cannot move.

    python bench/pg_statements.py [--executions 300] [--tasks 5]

An ``Engine`` in this process on a PostgreSQL database (a server of its own, started in a
temporary folder as the tests start one: ``tests/pg.py``), leased as a cluster's servers
are. ``--executions`` executions of a Wait then ``--tasks`` Lambda Tasks (an in-process
Python function returning its input), the workload of ``bench/cluster.py``, all started
before the Wait ends. Every statement the engine sends through psycopg (``execute`` and
``executemany`` of connections and cursors) is counted: those sent after the starts, per
transition, are what moving executions costs the database; the total includes the starts.
Throughput on this shared machine moves by tens of percent between runs (see
``bench/cluster.py``); this count does not, so a change to the store's statements shows
here first. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cluster import definition, echo  # the cluster bench's workload, run here in process

from stepfn.service.engine import Engine

HERE = Path(__file__).resolve().parent
ROLE = "arn:aws:iam::123456789012:role/bench"
WAIT_SECONDS = 3.0  # long enough for every start to commit before the Wait ends


class StatementCounter:
    """Counts the statements psycopg sends, from every thread, while installed."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        """Wrap ``execute`` and ``executemany`` of psycopg's connections and cursors."""
        import psycopg

        for cls in (psycopg.Connection, psycopg.Cursor):
            for method in ("execute", "executemany"):
                original = getattr(cls, method, None)
                if original is not None:
                    setattr(cls, method, self._counting(original))

    def _counting(self, original: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.count += 1
            return original(*args, **kwargs)

        return counted


def run(url: str, executions: int, tasks: int, counter: StatementCounter) -> dict[str, float]:
    """One run on a fresh schema: the statements counted and the transitions made."""
    engine = Engine.open(url, functions={"echo": echo})
    try:
        machine = engine.create_state_machine(
            name="statements", definition=definition(tasks), roleArn=ROLE
        )["stateMachineArn"]
        at = (datetime.now(UTC) + timedelta(seconds=WAIT_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ")
        began = counter.count
        arns = [
            engine.start_execution(stateMachineArn=machine, input=json.dumps({"at": at}))[
                "executionArn"
            ]
            for _ in range(executions)
        ]
        started = counter.count
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            running = engine.list_executions(
                stateMachineArn=machine, statusFilter="RUNNING", maxResults=1
            )["executions"]
            if not running:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("executions still running after 600 s")
        ended = counter.count
        entered = 0
        for arn in arns:
            events = engine.store.get_events(arn)
            if events[-1].type != "ExecutionSucceeded":
                raise RuntimeError(f"{arn} ended with {events[-1].type}")
            entered += sum(1 for event in events if event.type.endswith("StateEntered"))
        return {"starts": started - began, "moving": ended - started, "transitions": entered}
    finally:
        engine.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--tasks", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "tests"))
    import pg

    if pg.binaries() is None:
        print(f"postgresql: skipped ({pg.MISSING})")
        return 0
    counter = StatementCounter()
    counter.install()
    with pg.PostgresServer() as server:
        url = server.create_database("statements")
        figures = run(f"{url}?schema=s", args.executions, args.tasks, counter)
    transitions = figures["transitions"]
    print(
        f"{args.executions} executions x (Wait + {args.tasks} Lambda Tasks), one leased "
        f"engine on PostgreSQL: {transitions} transitions"
    )
    print(f"  statements per transition, after the starts: {figures['moving'] / transitions:.2f}")
    total = figures["starts"] + figures["moving"]
    print(f"  statements per transition, starts included:  {total / transitions:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
