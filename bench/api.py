"""Throughput of the HTTP API, driven by real boto3 clients over real HTTP.

    python bench/api.py [--workloads DIR] [--runs 3] [--calls 4000] [--executions 1000]

A ``stepfn server`` runs as its own process on a fresh SQLite file (so that it does not
share the benchmark's interpreter lock), and the benchmark measures:

(a) StartExecution calls per second, 4 client threads in this process, each with its
    own boto3 client (connection kept alive), on the ``five-state`` state machine: the
    server runs the started executions meanwhile, as it would in use;
(b) the same on a state machine whose executions only start a one-hour Wait: the
    API and the start path, with little execution work beside them;
(c) as (a) with 4 client processes of one thread each: boto3 spends ~0.6 ms of CPU per
    call, so 4 threads sharing one interpreter lock cap the client itself;
(d) the client's own ceiling: as (a), answered by a server whose engine does nothing
    (``--null-server``): no server can make 4 boto3 threads of one process go faster;
(e) the HTTP layer alone: as (c), answered by the null server;
(f) end-to-end ``five-state`` executions per second: 4 threads start ``--executions``
    executions, and the clock stops when the last has succeeded;
(g) latency of one ``five-state`` execution at a time (start, then DescribeExecution
    until it has finished): p50 and p99.

Each figure is the median of ``--runs`` runs; the server's CPU time per call is shown
when /proc tells it. The workload (``five-state.asl.json`` + ``five-state.input.json``)
lives outside the repository, in ``$STEPFN_BENCH_DIR`` or ``../shared/bench`` beside it.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ENV_VAR = "STEPFN_BENCH_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
ROLE = "arn:aws:iam::123456789012:role/bench"
THREADS = 4


def sfn_client(url: str) -> Any:
    """A boto3 client as a user would make one (one attempt: errors show up)."""
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench",
        config=Config(
            inject_host_prefix=False,
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=THREADS,
        ),
    )


@contextmanager
def server(db: Path, null: bool = False) -> Iterator[tuple[str, int]]:
    """``stepfn server`` (or the null server) in its own process; (URL, process id)."""
    if null:
        command = [sys.executable, __file__, "--null-server"]
    else:
        command = [sys.executable, "-m", "stepfn", "server", "--db", str(db), "--port", "0"]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        if not line.startswith("stepfn server on "):
            raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
        yield line.split()[3], process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


class NullEngine:
    """Answers StartExecution at once: what is left is HTTP, JSON and validation."""

    def __init__(self) -> None:
        from stepfn.clock import IdSource

        self.ids = IdSource()
        self.operations = {
            "StartExecution": self.start_execution,
            "ListStateMachines": self.list_state_machines,
        }

    def start_execution(self, stateMachineArn: str, **_: Any) -> dict[str, Any]:
        return {"executionArn": f"{stateMachineArn}:x", "startDate": time.time()}

    def list_state_machines(self, **_: Any) -> dict[str, Any]:
        return {"stateMachines": []}


def serve_null() -> None:
    """The null server: the real HTTP layer and API over ``NullEngine``."""
    from stepfn.api.server import Server

    http = Server(NullEngine(), "127.0.0.1", 0)
    print(f"stepfn server on {http.url} (null engine)", file=sys.stderr, flush=True)
    http.serve_forever()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def in_threads(work: Callable[[int], None], count: int = THREADS) -> float:
    """Run ``work(i)`` on ``count`` threads at once; the wall time it took."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


def start_calls(url: str, machine: str, text: str, calls: int) -> float:
    """(a): StartExecution calls/s from 4 threads of this process."""
    clients = [sfn_client(url) for _ in range(THREADS)]
    for sfn in clients:  # connections open, endpoints resolved: not part of the figure
        sfn.list_state_machines(maxResults=1)

    def work(index: int) -> None:
        sfn = clients[index]
        for _ in range(calls // THREADS):
            sfn.start_execution(stateMachineArn=machine, input=text)

    return calls / in_threads(work)


def _process_client(url: str, machine: str, text: str, calls: int, ready: Any, go: Any) -> None:
    sfn = sfn_client(url)
    sfn.list_state_machines(maxResults=1)
    ready.wait()
    go.wait()
    for _ in range(calls):
        sfn.start_execution(stateMachineArn=machine, input=text)


def start_calls_processes(url: str, machine: str, text: str, calls: int) -> float:
    """(c): StartExecution calls/s from 4 processes of one thread."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Barrier(THREADS + 1), context.Event()
    workers = [
        context.Process(
            target=_process_client, args=(url, machine, text, calls // THREADS, ready, go)
        )
        for _ in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=120)
    except threading.BrokenBarrierError:
        for worker in workers:
            worker.kill()
        raise SystemExit("a client process failed before the start") from None
    began = time.perf_counter()
    go.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if any(worker.exitcode for worker in workers):
        raise SystemExit("a client process failed")
    return calls / elapsed


def end_to_end(url: str, machine: str, text: str, count: int) -> float:
    """(f): five-state executions/s, from the first start to the last success."""
    clients = [sfn_client(url) for _ in range(THREADS)]
    began = time.perf_counter()

    def work(index: int) -> None:
        for _ in range(count // THREADS):
            clients[index].start_execution(stateMachineArn=machine, input=text)

    in_threads(work)
    sfn = clients[0]
    while sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=1)[
        "executions"
    ]:
        time.sleep(0.005)
    elapsed = time.perf_counter() - began
    succeeded = 0
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, statusFilter="SUCCEEDED"
    )
    for page in pages:
        succeeded += len(page["executions"])
    if succeeded != count:
        raise SystemExit(f"only {succeeded} of {count} executions succeeded")
    return count / elapsed


def latencies(url: str, machine: str, text: str, count: int) -> list[float]:
    """(g): seconds from StartExecution to a DescribeExecution that shows it done."""
    sfn = sfn_client(url)
    found = []
    for _ in range(count):
        began = time.perf_counter()
        arn = sfn.start_execution(stateMachineArn=machine, input=text)["executionArn"]
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            pass
        found.append(time.perf_counter() - began)
        if described["status"] != "SUCCEEDED":
            raise SystemExit(f"an execution ended {described['status']}")
        output = json.loads(described["output"])
        if not {"validation", "paymentResult", "shipment"} <= output.keys():
            raise SystemExit(f"wrong output: {output}")
    return found


def workload(folder: Path) -> tuple[str, str]:
    definition = (folder / "five-state.asl.json").read_text(encoding="utf-8")
    text = json.dumps(json.loads((folder / "five-state.input.json").read_text(encoding="utf-8")))
    return definition, text


def one_run(folder: Path, calls: int, executions: int) -> dict[str, float]:
    definition, text = workload(folder)
    waiting = json.dumps(
        {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp) / "bench.db") as (url, pid):
        sfn = sfn_client(url)

        def create(name: str, text: str = definition) -> str:
            arn: str = sfn.create_state_machine(name=name, definition=text, roleArn=ROLE)[
                "stateMachineArn"
            ]
            return arn

        machine = create("five")
        latencies(url, machine, text, 20)  # warm up both sides
        cpu_before = cpu_seconds(pid)
        figures["a"] = start_calls(url, machine, text, calls)
        cpu_after = cpu_seconds(pid)
        if cpu_before is not None and cpu_after is not None:
            figures["server_cpu_us"] = (cpu_after - cpu_before) / calls * 1e6
        figures["b"] = start_calls(url, create("nap", waiting), text, calls)
        figures["c"] = start_calls_processes(url, machine, text, calls)
        figures["f"] = end_to_end(url, create("five-e2e"), text, executions)
        found = sorted(latencies(url, machine, text, 100))
        figures["p50"] = found[len(found) // 2] * 1000
        figures["p99"] = found[min(len(found) - 1, int(len(found) * 0.99))] * 1000
    with server(Path(), null=True) as (url, _):
        arn = "arn:aws:states:us-east-1:123456789012:stateMachine:null"
        figures["d"] = start_calls(url, arn, text, calls)
        figures["e"] = start_calls_processes(url, arn, text, calls)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--null-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.null_server:
        serve_null()
        return
    folder = args.workloads or Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)
    if not (folder / "five-state.asl.json").is_file():
        raise SystemExit(f"no five-state workload in {folder} (set {ENV_VAR})")
    runs = [one_run(folder, args.calls, args.executions) for _ in range(args.runs)]

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs if key in run)

    print(f"stepfn API over HTTP, boto3 clients, median of {args.runs} runs")
    print(f"(a) StartExecution, five-state, 4 threads:      {median('a'):6.0f} calls/s")
    if any("server_cpu_us" in run for run in runs):
        print(f"    server CPU per call (execution included):   {median('server_cpu_us'):6.0f} us")
    print(f"(b) StartExecution, one-hour Wait, 4 threads:   {median('b'):6.0f} calls/s")
    print(f"(c) StartExecution, five-state, 4 processes:    {median('c'):6.0f} calls/s")
    print(f"(d) null engine, 4 threads (client's ceiling):  {median('d'):6.0f} calls/s")
    print(f"(e) null engine, 4 processes (HTTP layer):      {median('e'):6.0f} calls/s")
    print(f"(f) five-state end to end, 4 threads:           {median('f'):6.0f} executions/s")
    print(f"(g) five-state one at a time: p50 {median('p50'):.1f} ms, p99 {median('p99'):.1f} ms")


if __name__ == "__main__":
    main()
