"""How fast the console's pages answer with many executions in the store.

    python bench/console.py [--executions 100000] [--machines 10] [--samples 40] [--db PATH]

The store is filled fast but with real rows: for each state machine, one execution that
succeeds and one that fails run through the Engine (StartExecution, then its worker);
their rows and history events, read back from the store as the engine wrote them, are
the templates of every other execution, copied with new names and dates (ten
milliseconds apart, so that the lists have dates to sort by) and inserted in bulk with
the store's own insert statements, a transaction per ``BATCH``. A third fail. ``--db``
keeps the store in a file to reuse (built once, then only measured). The console is then
served by ``stepfn server``'s own ``Server`` in this process and each page, and its JSON
twin, is fetched ``--samples`` times over HTTP;
p50 and p95 are printed per page (issue 14's target: p95 under 100 ms at 100,000
executions). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from stepfn.api.server import Server
from stepfn.clock import VirtualClock
from stepfn.console.app import console_routes
from stepfn.service.engine import Engine
from stepfn.store.sql_rows import event_row, params

ROLE = "arn:aws:iam::123456789012:role/bench"
GOOD = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Pass", "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Broken"}],
            "Default": "Done",
        },
        "Broken": {"Type": "Fail", "Error": "Bench.Failed", "Cause": "on purpose"},
        "Done": {"Type": "Succeed"},
    },
}
BATCH = 5000


def build(engine: Engine, executions: int, machines: int) -> list[str]:
    """Create the machines and ``executions`` executions across them (see the module)."""
    arns = [
        engine.create_state_machine(name=f"bench-{i}", definition=json.dumps(GOOD), roleArn=ROLE)[
            "stateMachineArn"
        ]
        for i in range(machines)
    ]
    have = sum(sum(engine.count_executions(stateMachineArn=a).values()) for a in arns)
    if have:
        print(f"store already built ({have} executions): measuring only")
        return arns
    started = time.perf_counter()
    store = engine.store
    templates = []
    for arn in arns:
        pair = []
        for fail in (False, True):
            run = engine.start_execution(stateMachineArn=arn, input=json.dumps({"fail": fail}))
            engine.run_until_idle()
            record = store.get_execution(run["executionArn"])
            assert record is not None and record.status == ("FAILED" if fail else "SUCCEEDED")
            pair.append((record, store.get_events(record.arn)))
        templates.append(pair)
    base = templates[0][0][0].start_date
    q = store._q  # the store's own statements, in bulk (see the module)
    for first in range(0, executions, BATCH):
        rows: list[dict[str, Any]] = []
        events: list[tuple[Any, ...]] = []
        for i in range(first, min(executions, first + BATCH)):
            record, history = templates[i % machines][i % 3 == 0]
            shift = base + i * 0.01 - record.start_date
            name = f"run-{i:07d}"
            copy = dataclasses.replace(
                record,
                arn=record.arn.rsplit(":", 1)[0] + ":" + name,
                name=name,
                start_date=record.start_date + shift,
                stop_date=None if record.stop_date is None else record.stop_date + shift,
            )
            rows.append(params(copy, "executions"))
            events += [
                event_row(copy.arn, dataclasses.replace(e, timestamp=e.timestamp + shift))
                for e in history
            ]
        with store._write() as conn:
            # Each row names its definition's stored text (definitions are kept once).
            store._remember(store._definition_ids(conn, rows))
            conn.executemany(q["insert_execution"], rows)
            conn.executemany(q["insert_event"], events)
    print(f"built {executions} executions in {time.perf_counter() - started:.0f} s")
    return arns


def measure(client: httpx.Client, path: str, samples: int) -> tuple[float, float]:
    """p50 and p95 of ``samples`` fetches of ``path``, in milliseconds."""
    client.get(path).raise_for_status()  # warm
    times = []
    for _ in range(samples):
        begin = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - begin) * 1000)
        answer.raise_for_status()
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--db", help="SQLite file to build (or reuse)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db = options.db or str(Path(work) / "stepfn.db")
        engine = Engine.open(db, clock=VirtualClock())
        arns = build(engine, options.executions, options.machines)
        server = Server(
            engine, "127.0.0.1", 0, routes=console_routes(engine, token=secrets.token_urlsafe(16))
        )
        server.start_background()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                newest = engine.list_executions(stateMachineArn=arns[0], maxResults=1)
                run = quote(newest["executions"][0]["executionArn"], safe=":/")
                second = client.get("/console/api/executions").json()["nextToken"]
                deep = client.get(
                    "/console/api/executions", params={"machine": arns[0], "next": ""}
                ).json()["nextToken"]
                machine_path = f"/console/state-machines/{quote(arns[0], safe=':/')}"
                pages = {
                    "state machines": "/console/",
                    "state machines (JSON)": "/console/?format=json",
                    "state machine": machine_path,
                    "state machine (JSON)": machine_path + "?format=json",
                    "executions (all)": "/console/executions",
                    "executions (all, JSON)": "/console/api/executions",
                    "executions (all, page 2)": "/console/executions?"
                    + urlencode({"next": second}),
                    "executions (FAILED)": "/console/executions?status=FAILED",
                    "executions (machine)": f"/console/executions?machine={arns[1]}",
                    "executions (machine, FAILED)": "/console/executions?"
                    + urlencode({"machine": arns[1], "status": "FAILED"}),
                    "executions (machine, page 2)": "/console/executions?"
                    + urlencode({"machine": arns[0], "next": deep}),
                    "execution": f"/console/executions/{run}",
                    "execution (JSON)": f"/console/executions/{run}?format=json",
                    "history": f"/console/executions/{run}/history",
                    "history (JSON)": f"/console/api/executions/{run}/history",
                    "history (one type)": f"/console/executions/{run}/history?"
                    + urlencode({"type": "FailStateEntered"}),
                    "iterations": f"/console/executions/{run}/iterations",
                }
                total = options.executions
                print(f"\nconsole pages, {total} executions, {options.samples} samples each")
                print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}")
                for name, path in pages.items():
                    p50, p95 = measure(client, path, options.samples)
                    print(f"{name:32} {p50:8.1f} {p95:8.1f}")
        finally:
            server.drain(10)
            engine.close()


if __name__ == "__main__":
    main()
