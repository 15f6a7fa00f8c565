"""Durable transitions per second with 1, 2 and 4 servers on one PostgreSQL database,
and the same workload on one server on SQLite beside them.

    python bench/cluster.py [--executions 1000] [--tasks 5] [--servers 1,2,4]
                            [--runs 1] [--no-fsync]

The workload: ``--executions`` executions of ``Wait (until a common instant) -> Task x
--tasks -> end``, each Task an in-process Python Lambda function that answers at once,
so every transition after the Wait is a durable round: the task's result committed
with its mark, the execution claimed (leased), stepped and committed with the next
task, which is then dispatched. The executions are started over HTTP, spread over the
servers, all before the instant; timed: from that instant until the last execution has
SUCCEEDED (counted in the database, not through the servers). A transition is a
``*StateEntered`` event after the Wait.

Printed per configuration: transitions/s and the CPU seconds that the servers and the
database server used while the executions ran (from ``/proc/<pid>/stat``), which is
where the time went on this machine: with more servers than cores the servers share
the cores with each other and with PostgreSQL, whose share per transition is what one
more machine would not divide.

PostgreSQL is the suite's throwaway server (``tests/pg.py``) with fsync and synchronous
commits on, as a deployment keeps them (``--no-fsync``: off). Figures are printed, never
asserted. What the figures say, and where the database becomes the limit for N
servers on machines of their own: docs/design.md, "Less CPU per transition on
PostgreSQL" (``pg_stat_statements`` on this bench's server counted the statements).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROLE = "arn:aws:iam::123456789012:role/stepfn-bench"
ECHO = "arn:aws:lambda:us-east-1:123456789012:function:echo"
TICKS = os.sysconf("SC_CLK_TCK")


def echo(event: Any, context: Any) -> Any:
    """The bench's Lambda function (``--function echo=cluster:echo``): its input."""
    return event


def definition(tasks: int) -> str:
    """Wait until ``$.at``, then ``tasks`` Lambda Tasks in a row."""
    states: dict[str, Any] = {"Hold": {"Type": "Wait", "TimestampPath": "$.at", "Next": "T0"}}
    for i in range(tasks):
        step = {"Next": f"T{i + 1}"} if i < tasks - 1 else {"End": True}
        states[f"T{i}"] = {"Type": "Task", "Resource": ECHO, "ResultPath": f"$.t{i}", **step}
    return json.dumps({"StartAt": "Hold", "States": states})


class Server:
    """A ``stepfn server`` subprocess on a free port (the URL it prints is its own)."""

    def __init__(self, db: str, log: Path) -> None:
        path = [str(HERE), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "stepfn", "server", "--db", db, "--port", "0",
                    "--function", "echo=cluster:echo",
                ],
                stdout=subprocess.DEVNULL, stderr=out, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            first = log.read_text(errors="replace").split("\n", 1)[0]
            if first.startswith("stepfn server on http://"):
                self.url = first.split()[3]
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Client:
    """AWS JSON 1.0 on one keep-alive connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def call(self, operation: str, **fields: Any) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
        }
        self.conn.request("POST", "/", json.dumps(fields), headers)
        response = self.conn.getresponse()
        body = json.loads(response.read() or b"{}")
        if response.status != 200:
            raise RuntimeError(f"{operation}: {response.status} {body}")
        return dict(body)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes so far (0 for those gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def postgres_pids(postmaster: int) -> list[int]:
    """The postmaster and its children (backends, WAL writer, checkpointer, ...)."""
    found = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                found.append(int(entry.name))
    return found


class Counter:
    """Counts executions by status in the store's database, read directly."""

    def __init__(self, db: str) -> None:
        self.db = db
        if db.startswith("postgresql://"):
            import psycopg

            url, _, query = db.partition("?")
            self.conn: Any = psycopg.connect(url, autocommit=True)
            self.conn.execute(f'SET search_path TO "{query.split("=", 1)[1]}"')
        else:
            self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)

    def succeeded(self) -> int:
        sql = "SELECT count(*) FROM executions WHERE status = 'SUCCEEDED'"
        return int(self.conn.execute(sql).fetchone()[0])

    def transitions(self) -> int:
        sql = (
            "SELECT count(*) FROM events WHERE type LIKE '%StateEntered' "
            "AND type != 'WaitStateEntered'"
        )
        return int(self.conn.execute(sql).fetchone()[0])

    def close(self) -> None:
        self.conn.close()


def run(
    db: str, servers: int, count: int, tasks: int, folder: Path, db_pids: Any
) -> dict[str, Any]:
    """One configuration: ``servers`` servers on ``db``; its figures."""
    procs = [Server(db, folder / f"server{n}.log") for n in range(servers)]
    try:
        first = Client(procs[0].url)
        machine = first.call(
            "CreateStateMachine", name="bench", definition=definition(tasks), roleArn=ROLE
        )["stateMachineArn"]
        # Starting takes a while on a loaded machine: the instant is set after a trial.
        began = time.monotonic()
        first.call("StartExecution", stateMachineArn=machine, name="probe",
                   input=json.dumps({"at": iso(time.time() + 3600)}))  # fmt: skip
        per_start = time.monotonic() - began
        at = time.time() + 3.0 + per_start * count * 1.5
        body = json.dumps({"at": iso(at)})

        def start(lane: int) -> None:
            client = Client(procs[lane % servers].url)
            for i in range(lane, count, 4):
                client.call("StartExecution", stateMachineArn=machine, name=f"e{i}", input=body)

        lanes = [threading.Thread(target=start, args=(lane,)) for lane in range(4)]
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join()
        late = time.time() - at
        if late > 0:
            print(f"   (starting ended {late:.1f}s after the instant: figures are low)")
        counter = Counter(db)
        while time.time() < at:
            time.sleep(0.01)
        server_pids = [p.proc.pid for p in procs]
        cpu_servers, cpu_db = cpu_seconds(server_pids), cpu_seconds(db_pids())
        t0 = time.monotonic()
        while counter.succeeded() < count:
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        cpu_servers = cpu_seconds(server_pids) - cpu_servers
        cpu_db = cpu_seconds(db_pids()) - cpu_db
        transitions = counter.transitions()
        counter.close()
    finally:
        for proc in procs:
            proc.stop()
    if transitions != count * tasks:
        raise RuntimeError(f"{transitions} transitions, expected {count * tasks}")
    return {
        "rate": transitions / elapsed,
        "elapsed": elapsed,
        "cpu_servers": cpu_servers,
        "cpu_db": cpu_db,
        "transitions": transitions,
    }


def handoff(db: str, folder: Path, samples: int) -> dict[str, list[float]]:
    """Two servers on one database: an activity task scheduled by a StartExecution on
    server A and handed out by a GetActivityTask long poll already waiting on server B;
    then SendTaskSuccess on B, and the execution's end seen on A. Seconds, per sample:
    how long each hand-off between servers takes (LISTEN/NOTIFY, polling as the
    fallback: a poll alone took some 700 ms for the first, as it looks each second)."""
    a, b = Server(db, folder / "handoff-a.log"), Server(db, folder / "handoff-b.log")
    found: dict[str, list[float]] = {"activity": [], "answer": []}
    try:
        ca, cb = Client(a.url), Client(b.url)
        activity = ca.call("CreateActivity", name="work")["activityArn"]
        machine = ca.call(
            "CreateStateMachine",
            name="handoff",
            roleArn=ROLE,
            definition=json.dumps(
                {
                    "StartAt": "W",
                    "States": {"W": {"Type": "Task", "Resource": activity, "End": True}},
                }
            ),
        )["stateMachineArn"]
        for i in range(samples):
            got: dict[str, Any] = {}

            def poll(got: dict[str, Any] = got) -> None:
                got.update(Client(b.url).call("GetActivityTask", activityArn=activity))
                got["at"] = time.monotonic()

            poller = threading.Thread(target=poll)
            poller.start()
            time.sleep(0.3)  # the poll waits on B
            began = time.monotonic()
            arn = ca.call("StartExecution", stateMachineArn=machine, name=f"h{i}")["executionArn"]
            poller.join()
            found["activity"].append(got["at"] - began)
            began = time.monotonic()
            cb.call("SendTaskSuccess", taskToken=got["taskToken"], output="{}")
            while ca.call("DescribeExecution", executionArn=arn)["status"] == "RUNNING":
                time.sleep(0.005)
            found["answer"].append(time.monotonic() - began)
    finally:
        a.stop()
        b.stop()
    return found


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def row(label: str, figures: dict[str, Any], base: float | None) -> None:
    ratio = f"{figures['rate'] / base:.2f}x" if base else "-"
    per = 1000.0 / figures["transitions"]
    print(
        f"| {label:<22} | {figures['rate']:>9,.0f} | {ratio:>6} | {figures['elapsed']:>6.1f} "
        f"| {figures['cpu_servers'] * per:>9.2f} | {figures['cpu_db'] * per:>9.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--servers", default="1,2,4")
    parser.add_argument("--runs", type=int, default=1, help="best of this many per row")
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument(
        "--handoff", type=int, default=20, help="samples of the hand-off between servers"
    )
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.servers.split(",")]
    sys.path.insert(0, str(HERE.parent / "tests"))
    import pg

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.system()}")
    print(
        f"{args.executions} executions x {args.tasks} Lambda Tasks after a common Wait; "
        f"best of {args.runs}"
    )
    header = (
        "| configuration          | trans./s  | vs 1   | secs   | server CPU ms/tr. "
        "| db CPU ms/tr. |"
    )
    with tempfile.TemporaryDirectory(prefix="stepfn-cluster-") as tmp:
        folder = Path(tmp)
        results: list[tuple[str, dict[str, Any]]] = []

        def best(label: str, make_db: Any, servers: int, db_pids: Any) -> None:
            figures = [
                run(make_db(), servers, args.executions, args.tasks, folder, db_pids)
                for _ in range(args.runs)
            ]
            results.append((label, max(figures, key=lambda f: f["rate"])))

        names = iter(range(1, 1000))
        best(
            "SQLite, 1 server",
            lambda: str(folder / f"bench{next(names)}.db"),
            1,
            lambda: [],
        )
        if pg.binaries() is None:
            print(f"postgresql: skipped ({pg.MISSING})")
        else:
            with pg.PostgresServer(durable=not args.no_fsync) as server:
                url = server.create_database("bench")
                assert server.process is not None
                postmaster = server.process.pid
                for n in counts:
                    best(
                        f"PostgreSQL, {n} server{'s' if n > 1 else ''}",
                        lambda: f"{url}?schema=b{next(names)}",
                        n,
                        lambda: postgres_pids(postmaster),
                    )
            if args.handoff:
                with pg.PostgresServer(durable=not args.no_fsync) as server:
                    url = server.create_database("handoff")
                    times = handoff(f"{url}?schema=h", folder, args.handoff)
                for what, label in (
                    ("activity", "activity task: StartExecution on A -> GetActivityTask on B"),
                    ("answer", "SendTaskSuccess on B -> execution ended, seen on A"),
                ):
                    ordered = sorted(times[what])
                    print(
                        f"{label}: median {statistics.median(ordered) * 1000:.0f} ms, "
                        f"max {ordered[-1] * 1000:.0f} ms ({len(ordered)} samples)"
                    )
        print(header)
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        base = next((f["rate"] for label, f in results if label.startswith("PostgreSQL, 1 ")), None)
        for label, figures in results:
            row(label, figures, base if label.startswith("PostgreSQL") else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
