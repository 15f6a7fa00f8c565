"""Lambda Tasks through the durable engine, in process: invocations/s with executions in flight.

    python bench/lambda_tasks.py [--executions 2000] [--in-flight 16] [--runtime python3.12]
                                 [--map N | --chain N] [--profile FILE]

An ``Engine`` on a SQLite file (in a temporary folder) with its background loop, real
time; a function created through ``engine.functions.create_function`` (a zip: Python or
Node, returning its event); a one-Task state machine on its ARN. ``--in-flight`` clients
each start an execution, wait until it has ended (told by ``Engine.on_end``, then
checked with ``describe_execution``), and start the next.
Printed: one-Task executions (= invocations) per second, from the first start to the last
end, the CPU of this process per invocation, and the SQL statements and commits per
invocation (counted through the SQLite connection's trace callback, in a further run of a
quarter as many executions, untimed: the callback costs time; a figure the load of a
shared machine does not move). ``--profile FILE`` writes a cProfile of
every thread (CPU time), warm-up included, and prints its top.

Each execution costs, in the engine: StartExecution (a group commit of the execution's
row, events and task), the task's dispatch to a warm worker, its answer (handed to the
stepper in memory: the step's commit marks the task done), and the step that ends the
execution (a batched commit).
``--map N``: each execution is instead one inline Map of N iterations of that Task (its
input N numbers, MaxConcurrency 0), so N invocations per execution; the rate printed
is still of invocations, the CPU and SQL figures per invocation. Each answer is then a
step of an execution holding up to N threads: what a step costs as its run state grows.
``--chain N``: each execution is N Tasks one after another, so ``--in-flight``
invocations run at once, as with one-Task executions, and a StartExecution and an end
come once in N invocations: the cost of a Task's round (dispatch, answer, step, commit).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/bench"
PY = "def handler(event, context):\n    return event\n"
NODE = "exports.handler = async (event) => event;\n"


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def make_function(engine: Engine, runtime: str) -> str:
    python = runtime.startswith("python")
    made = engine.functions.create_function(
        FunctionName="bench",
        Runtime=runtime,
        Handler="app.handler" if python else "index.handler",
        Role=ROLE,
        Code={"ZipFile": zipped("app.py", PY) if python else zipped("index.js", NODE)},
    )
    return str(made["FunctionArn"])


class Finished:
    """Wakes the client waiting on an execution when the step that ends it commits
    (``Engine.on_end``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: dict[str, threading.Event] = {}

    def expect(self, arn: str) -> threading.Event:
        event = threading.Event()
        with self.lock:
            self.waiting[arn] = event
        return event

    def ended(self, arn: str, status: str) -> None:
        with self.lock:
            event = self.waiting.get(arn)
        if event is not None:
            event.set()


def run(
    engine: Engine, machine: str, count: int, in_flight: int, seen: Finished, input: str
) -> float:
    lock = threading.Lock()
    left = [count]
    failures: list[str] = []

    def client() -> None:
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
                n = left[0]
            name = f"e{n}-{time.monotonic_ns()}"
            arn = f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
            event = seen.expect(arn)
            engine.start_execution(stateMachineArn=machine, name=name, input=input)
            while True:
                event.wait(5)
                event.clear()
                status = engine.describe_execution(executionArn=arn)["status"]
                if status != "RUNNING":
                    if status != "SUCCEEDED":
                        failures.append(status)
                    break
            with seen.lock:
                seen.waiting.pop(arn, None)

    threads = [threading.Thread(target=client) for _ in range(in_flight)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} executions did not succeed: {failures[:3]}")
    return count / elapsed


class ThreadProfiles:
    """cProfile in every thread, on CPU time (``time.thread_time``): what each function
    costs in CPU, waiting left out. Threads started after ``start`` are profiled (the
    engine's stepper threads are woken, not started, so their profile starts too: the
    hook is also installed in running threads' next call through ``sys.setprofile``
    is not possible, hence the engine is opened after ``start``)."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def _hook(self, *_: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self.lock:
            self.profiles.append(profile)
        sys.setprofile(None)
        profile.enable()

    def start(self) -> None:
        threading.setprofile(self._hook)

    def stop(self) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        for profile in self.profiles:
            profile.disable()

    def report(self, path: str) -> None:
        stats = None
        for profile in self.profiles:
            profile.create_stats()
            if not profile.stats:  # type: ignore[attr-defined]
                continue
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        if stats is not None:
            stats.dump_stats(path)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)


class SqlCount:
    """Counts the SQL statements the store runs (its connection's trace callback): a
    figure the machine's load does not change, unlike the time."""

    def __init__(self, engine: Engine) -> None:
        self.statements = 0
        self.commits = 0
        self._conn = getattr(engine.store, "_conn", None)
        if self._conn is not None:
            self._conn.set_trace_callback(self._seen)

    def stop(self) -> None:
        """Count no more (the connection's trace callback removed)."""
        if self._conn is not None:
            self._conn.set_trace_callback(None)

    def _seen(self, sql: str) -> None:
        self.statements += 1
        if sql.startswith("COMMIT"):
            self.commits += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--map", type=int, default=0, help="N: a Map of N Tasks each")
    parser.add_argument("--chain", type=int, default=0, help="N: N Tasks one after another")
    parser.add_argument("--profile", help="write a cProfile of the timed run here")
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores, {args.runtime}")  # fmt: skip
    profiles = ThreadProfiles() if args.profile else None
    if profiles is not None:
        profiles.start()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(str(Path(tmp) / "bench.db"))
        try:
            seen = Finished()
            engine.on_end(seen.ended)
            arn = make_function(engine, args.runtime)
            task = {"Type": "Task", "Resource": arn, "End": True}
            definition: dict[str, Any] = {"StartAt": "T", "States": {"T": task}}
            input = '{"n": 1}'
            per = 1  # invocations per execution
            if args.map:
                per = args.map
                inner = {"StartAt": "T", "States": {"T": task}}
                definition = {
                    "StartAt": "M",
                    "States": {"M": {"Type": "Map", "ItemProcessor": inner, "End": True}},
                }
                input = json.dumps(list(range(args.map)))
            elif args.chain:
                per = args.chain
                states: dict[str, Any] = {
                    f"T{i}": {"Type": "Task", "Resource": arn, "Next": f"T{i + 1}"}
                    for i in range(per - 1)
                }
                states[f"T{per - 1}"] = task
                definition = {"StartAt": "T0", "States": states}
            machine = engine.create_state_machine(
                name="bench", definition=json.dumps(definition), roleArn=ROLE
            )["stateMachineArn"]
            warm = max(200 // per, args.in_flight)
            run(engine, machine, warm, args.in_flight, seen, input)  # warm workers, caches
            cpu = time.process_time()
            rate = per * run(engine, machine, args.executions, args.in_flight, seen, input)
            cpu = time.process_time() - cpu
            # Counted in a run of its own: the trace callback costs the process time.
            counted = SqlCount(engine)
            sampled = max(args.executions // 4, args.in_flight)
            run(engine, machine, sampled, args.in_flight, seen, input)
            counted.stop()
            statements, commits = counted.statements, counted.commits
            if profiles is not None:
                profiles.stop()
                profiles.report(args.profile)
            what = (
                f"Map-of-{per} executions"
                if args.map
                else f"{per}-Task chains"
                if args.chain
                else "one-Task executions"
            )
            invocations = args.executions * per
            counted_invocations = sampled * per
            print(
                f"{what}, {args.in_flight} in flight: {rate:8.1f} invocations/s "
                f"({cpu / invocations * 1e6:.0f} us CPU each in this process)"
            )
            print(
                f"SQL per invocation: {statements / counted_invocations:.1f} statements, "
                f"{commits / counted_invocations:.2f} commits (a run of {sampled} more)"
            )
        finally:
            engine.close()


if __name__ == "__main__":
    sys.exit(main())
