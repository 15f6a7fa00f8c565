"""How fast the console's pages answer with many executions in the store.

    python bench/console.py [--executions 100000] [--machines 10] [--samples 40] [--db PATH]

The store is built through the Engine (StartExecution, then the engine runs them) on a
virtual clock, so that ten seconds of virtual time separate batches and the lists have
dates to sort by; a third of the machines' executions fail. ``--db`` keeps the store in
a file to reuse (built once, then only measured). The console is then served by uvicorn
in this process and each page is fetched ``--samples`` times over HTTP; p50 and p95 are
printed per page. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import uvicorn
from starlette.applications import Starlette

from stepfn.clock import VirtualClock
from stepfn.console.app import console_routes
from stepfn.service.engine import Engine

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
BATCH = 500


def build(engine: Engine, executions: int, machines: int) -> list[str]:
    """Create the machines and run ``executions`` executions across them."""
    arns = [
        engine.create_state_machine(name=f"bench-{i}", definition=json.dumps(GOOD), roleArn=ROLE)[
            "stateMachineArn"
        ]
        for i in range(machines)
    ]
    have = sum(
        len(engine.list_executions(stateMachineArn=a, maxResults=1)["executions"]) for a in arns
    )
    if have:
        print("store already built: measuring only")
        return arns
    clock = engine.clock
    started = time.perf_counter()
    for done in range(0, executions, BATCH):
        for i in range(done, min(executions, done + BATCH)):
            engine.start_execution(
                stateMachineArn=arns[i % machines], input=json.dumps({"fail": i % 3 == 0})
            )
        engine.run_until_idle()
        assert isinstance(clock, VirtualClock)
        clock.advance(10)
        if (done // BATCH) % 20 == 0:
            rate = (done + BATCH) / (time.perf_counter() - started)
            print(f"  {done + BATCH} executions ({rate:.0f}/s)", flush=True)
    print(f"built {executions} executions in {time.perf_counter() - started:.0f} s")
    return arns


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        app = Starlette(routes=console_routes(engine, token=secrets.token_urlsafe(16)))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                newest = engine.list_executions(stateMachineArn=arns[0], maxResults=1)
                run = quote(newest["executions"][0]["executionArn"], safe=":/")
                second = client.get("/console/api/executions").json()["nextToken"]
                deep = client.get(
                    "/console/api/executions", params={"machine": arns[0], "next": ""}
                ).json()["nextToken"]
                pages = {
                    "state machines": "/console/",
                    "state machine": f"/console/state-machines/{quote(arns[0], safe=':/')}",
                    "executions (all)": "/console/executions",
                    "executions (all, page 2)": "/console/executions?"
                    + urlencode({"next": second}),
                    "executions (FAILED)": "/console/executions?status=FAILED",
                    "executions (machine)": f"/console/executions?machine={arns[1]}",
                    "executions (machine, page 2)": "/console/executions?"
                    + urlencode({"machine": arns[0], "next": deep}),
                    "execution": f"/console/executions/{run}",
                    "execution (JSON)": f"/console/executions/{run}?format=json",
                    "history": f"/console/executions/{run}/history",
                }
                total = options.executions
                print(f"\nconsole pages, {total} executions, {options.samples} samples each")
                print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}")
                for name, path in pages.items():
                    p50, p95 = measure(client, path, options.samples)
                    print(f"{name:32} {p50:8.1f} {p95:8.1f}")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.close()


if __name__ == "__main__":
    main()
