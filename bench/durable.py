"""How fast and how lean the durable engine is, on SQLite.

    python bench/durable.py [--executions 1000] [--runs 3] [--latency-samples 500]
                            [--waiting 100000] [--skip throughput,http,latency,waiting]

Four figures, each printed, never asserted (they depend on the machine):

1. **Transitions/s in process.** A SQLite file in a temporary folder. First, 1,000
   executions of a one-second Wait then ten Pass states are started through the Engine
   (each start commits up to the Wait), all before any moves on (an engine without its
   loop thread, on a virtual clock), then ``run_until_idle`` ends the Waits and steps
   the rest. Timed: the drive alone (all 1,000 in flight) and start + drive. Then, on an
   engine with its background loop and real time, 1,000 executions of the ten Pass
   states alone (each StartExecution runs its execution to the end), from the first
   start to the last finished. A transition is a ``PassStateEntered`` event, counted
   from the stored histories after the run.
2. **Transitions/s through the HTTP server** (a reference): a ``stepfn server``
   subprocess; the executions are started over HTTP (AWS JSON 1.0 on one keep-alive
   connection, what an SDK sends, without the SDK's own cost) and timed from the first
   start until DescribeExecution says the last one finished.
3. **StartExecution -> first state entered.** On an engine with its background loop,
   executions are started one at a time. Measured: from just before the
   ``start_execution`` call to the return of the store call that committed the
   execution's first ``*StateEntered`` event (StartExecution's own commit, as it runs
   the first states; the store is wrapped to take that time), so the figure is
   "durable in the database", not "computed". Each start waits
   until the previous one's commit, and the engine is idle when a start arrives.
4. **Executions waiting at once.** ``--waiting`` executions (100,000 by default) of
   ``Wait (TimestampPath) -> Pass`` are started over HTTP on a ``stepfn server``
   subprocess, all due at one instant chosen to fall after the last start. Printed: the
   server's resident memory (VmRSS, and its peak VmHWM, from ``/proc/<pid>/status``)
   once every execution is waiting (counted as timer rows), and how long after the due
   time all of them had SUCCEEDED. Counts are read from the database file read-only, not
   through the API, so that watching does not load 100,000 records into the server.

Figures 1 and 2 are the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stepfn.clock import VirtualClock
from stepfn.service.engine import Engine
from stepfn.store.base import NewStart, StepCommit, StoredEvent

ROLE = "arn:aws:iam::123456789012:role/stepfn-bench"
PASS_STATES = 10
INPUT = json.dumps({"order": {"id": 1, "items": [{"sku": "A-1", "qty": 2}], "total": 19.5}})


class WrongResult(Exception):
    """An execution did not end as it must: a fast wrong answer is not a figure."""


def pass_chain(states: int = PASS_STATES, hold: bool = False) -> str:
    """A machine of ``states`` chained Pass states, each adding a field; with ``hold``,
    behind a one-second Wait: StartExecution runs the states it can at once, and the
    Wait's timer leaves the Pass states to the worker."""
    chain: dict[str, Any] = {}
    for i in range(states):
        step = {"Next": f"P{i + 1}"} if i < states - 1 else {"End": True}
        chain[f"P{i}"] = {"Type": "Pass", "Result": i, "ResultPath": f"$.p{i}", **step}
    if hold:
        chain["Hold"] = {"Type": "Wait", "Seconds": 1, "Next": "P0"}
    return json.dumps({"StartAt": "Hold" if hold else "P0", "States": chain})


def wait_until() -> str:
    """A Wait for the instant in ``$.until``, then a Pass."""
    return json.dumps(
        {
            "StartAt": "Sleep",
            "States": {
                "Sleep": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Done"},
                "Done": {"Type": "Pass", "End": True},
            },
        }
    )


def iso(seconds: float) -> str:
    """Epoch seconds as the ISO 8601 text a Wait's TimestampPath reads."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- a server subprocess and a plain HTTP client ------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``python -m stepfn server`` on a database file, started and killed at will."""

    def __init__(self, db: Path, port: int | None = None) -> None:
        self.db = db
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and return once it accepts connections."""
        command = [sys.executable, "-m", "stepfn", "server", "--db", str(self.db)]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("the server did not start listening")

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the server."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait (the server shuts down in order)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def memory(self) -> dict[str, int]:
        """The server's ``VmRSS`` and ``VmHWM`` (peak) in KiB, from /proc."""
        assert self.proc is not None
        return proc_memory(self.proc.pid)


def proc_memory(pid: int | str = "self") -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process in KiB (Linux)."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


class Client:
    """Step Functions over AWS JSON 1.0 on one keep-alive connection.

    What an SDK sends, minus signing and the SDK's own per-call work: the benchmark
    measures the server, and the client shares the machine's cores with it.
    """

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(self, operation: str, **fields: Any) -> dict[str, Any]:
        body = json.dumps(fields)
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
        }
        self._conn.request("POST", "/", body, headers)
        response = self._conn.getresponse()
        document: dict[str, Any] = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{operation}: {response.status} {document}")
        return document

    def close(self) -> None:
        self._conn.close()


def wait_finished(is_running: Callable[[str], bool], arns: Sequence[str], limit: float) -> None:
    """Return once no execution in ``arns`` runs, looking at the oldest pending first.

    Executions finish in about the order they started, so this asks mostly about one
    execution at a time instead of scanning all of them each round.
    """
    pending = list(arns)
    deadline = time.monotonic() + limit
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} executions still running after {limit:g} s")
        if is_running(pending[0]):
            time.sleep(0.002)
            continue
        pending.pop(0)


# --- 1. transitions per second, in process ----------------------------------------------------


def count_transitions(engine: Engine, arns: Sequence[str]) -> int:
    """``PassStateEntered`` events of these executions; each must have SUCCEEDED."""
    total = 0
    for arn in arns:
        status = engine.describe_execution(executionArn=arn)["status"]
        if status != "SUCCEEDED":
            raise WrongResult(f"{arn} ended {status}")
        events = engine.store.get_events(arn)
        total += sum(1 for event in events if event.type == "PassStateEntered")
    return total


def start_all(engine: Engine, machine: str, count: int, tag: str) -> list[str]:
    return [
        engine.start_execution(stateMachineArn=machine, name=f"{tag}-{i}", input=INPUT)[
            "executionArn"
        ]
        for i in range(count)
    ]


def throughput_in_flight(folder: Path, run: int, count: int) -> tuple[float, float, int]:
    """(seconds to start, seconds to drive, transitions) with all in flight at once."""
    # A virtual clock: run_until_idle moves it to the Waits' end at once.
    engine = Engine.open(str(folder / f"inflight-{run}.db"), clock=VirtualClock())
    try:
        machine = engine.create_state_machine(
            name="chain", definition=pass_chain(hold=True), roleArn=ROLE
        )
        began = time.perf_counter()
        arns = start_all(engine, machine["stateMachineArn"], count, f"r{run}")
        started = time.perf_counter()
        engine.run_until_idle()
        ended = time.perf_counter()
        return started - began, ended - started, count_transitions(engine, arns)
    finally:
        engine.close()


def throughput_background(folder: Path, run: int, count: int) -> tuple[float, int]:
    """(seconds from the first start to the last finish, transitions), loop running."""
    engine = Engine.open(str(folder / f"loop-{run}.db"))
    try:
        machine = engine.create_state_machine(name="chain", definition=pass_chain(), roleArn=ROLE)
        began = time.perf_counter()
        arns = start_all(engine, machine["stateMachineArn"], count, f"b{run}")
        store = engine.store

        def running(arn: str) -> bool:
            record = store.get_execution(arn)
            return record is not None and record.status == "RUNNING"

        wait_finished(running, arns, 300)
        ended = time.perf_counter()
        return ended - began, count_transitions(engine, arns)
    finally:
        engine.close()


def bench_throughput(folder: Path, count: int, runs: int) -> None:
    print(f"\n1. {count} executions of {PASS_STATES} Pass states, in process, SQLite file")
    start_s, drive_s, loop_s = [], [], []
    transitions = 0
    for run in range(runs):
        started, driven, transitions = throughput_in_flight(folder, run, count)
        start_s.append(started)
        drive_s.append(driven)
        took, looped = throughput_background(folder, run, count)
        loop_s.append(took)
        if looped != transitions:
            raise WrongResult(f"{looped} transitions with the loop running, {transitions} without")
    start, drive, loop = map(statistics.median, (start_s, drive_s, loop_s))
    print(f"   transitions: {transitions} (PassStateEntered events), median of {runs} runs")
    figure("all in flight, drive only", transitions / drive, "transitions/s")
    figure("start + drive", transitions / (start + drive), "transitions/s")
    figure("StartExecution alone", count / start, "starts/s")
    figure("loop running, first start -> last end", transitions / loop, "transitions/s")


def figure(label: str, value: float, unit: str) -> None:
    print(f"   {label:<40} {value:>9,.0f} {unit}")


# --- 2. the same through the HTTP server ------------------------------------------------------


def throughput_http(folder: Path, run: int, count: int) -> float:
    """Seconds from the first StartExecution over HTTP to the last execution finished."""
    server = ServerProcess(folder / f"http-{run}.db")
    server.start()
    client = Client(server.url)
    try:
        machine = client.call(
            "CreateStateMachine", name="chain", definition=pass_chain(), roleArn=ROLE
        )["stateMachineArn"]
        began = time.perf_counter()
        arns = [
            client.call("StartExecution", stateMachineArn=machine, name=f"h{i}", input=INPUT)[
                "executionArn"
            ]
            for i in range(count)
        ]

        def running(arn: str) -> bool:
            return client.call("DescribeExecution", executionArn=arn)["status"] == "RUNNING"

        wait_finished(running, arns, 300)
        took = time.perf_counter() - began
        for arn in arns[:: max(1, count // 20)]:  # a sample: the outputs are right
            described = client.call("DescribeExecution", executionArn=arn)
            last = f"p{PASS_STATES - 1}"
            if described["status"] != "SUCCEEDED" or json.loads(described["output"])[last] != (
                PASS_STATES - 1
            ):
                raise WrongResult(f"{arn}: {described}")
        return took
    finally:
        client.close()
        server.stop()


def bench_http(folder: Path, count: int, runs: int) -> None:
    print(f"\n2. the same {count} executions through `stepfn server` (HTTP, one connection)")
    took = statistics.median(throughput_http(folder, run, count) for run in range(runs))
    transitions = count * PASS_STATES
    figure("first start -> last end", transitions / took, "transitions/s")
    figure("", count / took, "executions/s")


# --- 3. StartExecution -> first state entered ---------------------------------------------------


class CommitWatch:
    """Wraps a store's ``create_executions`` and ``commit_steps`` to note when each
    execution's first ``*StateEntered`` event was committed (``perf_counter`` after the
    commit returned). StartExecution commits the first states itself; a worker's step
    commits them when the start could not (an older store's ``Begin``)."""

    def __init__(self, engine: Engine) -> None:
        self.entered: dict[str, float] = {}
        self.signal = threading.Condition()
        self._commit = engine.store.commit_steps
        self._create = engine.store.create_executions
        # Instance attributes: the engine calls engine.store's methods through them.
        engine.store.commit_steps = self._commit_steps  # type: ignore[method-assign]
        engine.store.create_executions = self._create_executions  # type: ignore[method-assign]

    def _note(self, arn: str, events: Sequence[StoredEvent], now: float) -> None:
        if arn not in self.entered and any(e.type.endswith("StateEntered") for e in events):
            self.entered[arn] = now

    def _create_executions(self, starts: Sequence[NewStart]) -> list[BaseException | None]:
        errors = self._create(starts)
        now = time.perf_counter()
        with self.signal:
            for start, error in zip(starts, errors, strict=True):
                if error is None:
                    self._note(start.record.arn, start.events, now)
            self.signal.notify_all()
        return errors

    def _commit_steps(self, commits: Sequence[StepCommit]) -> list[str]:
        refused = self._commit(commits)
        now = time.perf_counter()
        with self.signal:
            for commit in commits:
                if commit.execution_arn not in refused:
                    self._note(commit.execution_arn, commit.events, now)
            self.signal.notify_all()
        return refused

    def wait(self, arn: str, timeout: float = 10.0) -> float:
        with self.signal:
            if not self.signal.wait_for(lambda: arn in self.entered, timeout):
                raise RuntimeError(f"{arn}: no state entered after {timeout:g} s")
            return self.entered[arn]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_latency(folder: Path, samples: int) -> None:
    print(f"\n3. StartExecution -> first state entered (committed), {samples} starts one at a time")
    engine = Engine.open(str(folder / "latency.db"))
    try:
        watch = CommitWatch(engine)
        machine = engine.create_state_machine(name="chain", definition=pass_chain(), roleArn=ROLE)
        arn_of = machine["stateMachineArn"]
        call, entered = [], []
        for i in range(samples + 20):
            time.sleep(0.002)  # the engine's loop is idle, waiting, when the start arrives
            began = time.perf_counter()
            arn = engine.start_execution(stateMachineArn=arn_of, name=f"l{i}", input=INPUT)[
                "executionArn"
            ]
            returned = time.perf_counter()
            committed = watch.wait(arn)
            if i >= 20:  # the first few warm caches and the statement cache
                call.append(returned - began)
                entered.append(committed - began)
    finally:
        engine.close()
    for label, values in (("StartExecution call", call), ("-> first StateEntered", entered)):
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        print(f"   {label:<24} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


# --- 4. many executions waiting -----------------------------------------------------------------


@contextmanager
def read_only(db: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the server's database, for counting without the API."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def count_rows(db: Path, sql: str, *params: Any) -> int:
    with read_only(db) as conn:
        (count,) = conn.execute(sql, params).fetchone()
    return int(count)


def start_over_http(url: str, machine: str, names: Sequence[str], until: str) -> None:
    client = Client(url)
    try:
        body = json.dumps({"until": until})
        for name in names:
            client.call("StartExecution", stateMachineArn=machine, name=name, input=body)
    finally:
        client.close()


def start_many(url: str, machine: str, names: Sequence[str], until: str, threads: int) -> None:
    """Start executions over ``threads`` connections at once."""
    chunks = [names[i::threads] for i in range(threads)]
    workers = [
        threading.Thread(target=start_over_http, args=(url, machine, chunk, until))
        for chunk in chunks
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def bench_waiting(folder: Path, count: int, threads: int, limit: float = 600) -> None:
    print(f"\n4. {count:,} executions waiting at once on a Wait state, `stepfn server`")
    db = folder / "waiting.db"
    server = ServerProcess(db)
    server.start()
    try:
        client = Client(server.url)
        machine = client.call(
            "CreateStateMachine", name="sleepers", definition=wait_until(), roleArn=ROLE
        )["stateMachineArn"]
        client.close()
        print(f"   server memory after start-up: {server.memory()['VmRSS'] / 1024:,.0f} MiB")
        # Calibrate: how fast this machine starts executions, to put the shared due time
        # after the last start (these wait on a past instant: they finish at once).
        sample = min(2000, max(200, count // 50))
        began = time.perf_counter()
        start_many(server.url, machine, [f"c{i}" for i in range(sample)], iso(0), threads)
        rate = sample / (time.perf_counter() - began)
        due = time.time() + count / rate * 1.3 + 10
        print(f"   calibration: {rate:,.0f} starts/s; due in {due - time.time():.0f} s")
        # The status index answers this count without reading the rows.
        succeeded = "SELECT count(*) FROM executions WHERE status = 'SUCCEEDED'"
        while count_rows(db, succeeded) < sample:
            time.sleep(0.1)

        began = time.perf_counter()
        start_many(server.url, machine, [f"w{i}" for i in range(count)], iso(due), threads)
        started = time.perf_counter()
        took = started - began
        print(f"   started {count:,} in {took:.1f} s ({count / took:,.0f}/s)")
        timers = "SELECT count(*) FROM timers"
        while count_rows(db, timers) < count and time.time() < due:
            time.sleep(0.5)
        waiting = count_rows(db, timers)
        early = count_rows(db, succeeded) - sample
        memory = server.memory()
        print(
            f"   waiting (timer rows): {waiting:,}; finished early: {early:,}; "
            f"due in {due - time.time():.0f} s"
        )
        print(
            f"   server memory while they wait: VmRSS {memory['VmRSS'] / 1024:,.0f} MiB, "
            f"peak so far VmHWM {memory['VmHWM'] / 1024:,.0f} MiB"
        )
        size = sum(p.stat().st_size for p in folder.glob("waiting.db*"))
        print(f"   database: {size / 2**20:,.0f} MiB")

        time.sleep(max(0.0, due - time.time()))
        done = 0
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            done = count_rows(db, succeeded) - sample
            if done >= count:
                break
            time.sleep(0.25)
        after = time.time() - due
        peak = server.memory()["VmHWM"]
        print(f"   SUCCEEDED: {done:,} of {count:,}; the last {after:.1f} s after the due time")
        print(f"   server peak memory over the whole run: VmHWM {peak / 1024:,.0f} MiB")
    finally:
        server.stop()


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2, help="HTTP connections for (4)")
    parser.add_argument("--skip", default="", help="any of throughput,http,latency,waiting")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))

    cores = os.cpu_count()
    print(f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {sys.platform}")
    print(f"{cores} cores; figures are printed, not asserted")
    with tempfile.TemporaryDirectory(prefix="stepfn-durable-") as tmp:
        folder = Path(tmp)
        if "throughput" not in skip:
            bench_throughput(folder, args.executions, args.runs)
        if "http" not in skip:
            bench_http(folder, args.executions, args.runs)
        if "latency" not in skip:
            bench_latency(folder, args.latency_samples)
        if "waiting" not in skip:
            bench_waiting(folder, args.waiting, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
