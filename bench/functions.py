"""How fast Lambda functions run in warm workers: invocations/s, latency, overhead, cold start.

    python bench/functions.py [--calls 3000] [--pool-size 4] [--concurrency 16]

For a Python and a Node handler that return their event:

- cold start: from ``invoke`` on a fresh runtime to the answer (a new worker's init);
- warm, one after another: invocations/s and p50 latency;
- direct: the handler called in this process (JSON in and out), and the overhead of a
  warm invocation against it; our CPU per invocation (this process, reader threads
  included: ``time.process_time``);
- 16 callers at once (each starts its next call from the previous one's callback, no
  thread per call): invocations/s through ``FunctionRuntime.invoke``, through the
  ``LambdaFunctions`` task adapter, and one-Task executions/s of ``stepfn.run``-style
  driving (16 threads, each running executions one after another).

Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from stepfn.durable.local import load_machine, run
from stepfn.functions import FunctionConfig, FunctionRuntime, InvocationResult
from stepfn.interp.context import execution_info
from stepfn.tasks.base import Registry, TaskOutcome, TaskRequest
from stepfn.tasks.lambda_functions import LambdaFunctions

PAYLOAD = {"order": 1234, "items": [{"sku": "A-1", "qty": 2}], "customer": "c-9"}
PY_CODE = "def handler(event, context):\n    return event\n"
NODE_CODE = "exports.handler = async (event) => event;\n"


def call(runtime: FunctionRuntime, config: FunctionConfig, payload: bytes) -> InvocationResult:
    box: list[InvocationResult] = []
    ended = threading.Event()

    def done(result: InvocationResult) -> None:
        box.append(result)
        ended.set()

    runtime.invoke(config, payload, done, request_id="bench")
    ended.wait()
    return box[0]


def cold_start(config: FunctionConfig, payload: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        with FunctionRuntime(pool_size=1) as runtime:
            started = time.perf_counter()
            result = call(runtime, config, payload)
            times.append(time.perf_counter() - started)
            assert result.succeeded, result.payload
    return statistics.median(times) * 1000


def warm(config: FunctionConfig, payload: bytes, calls: int) -> tuple[float, float, float]:
    with FunctionRuntime(pool_size=1) as runtime:
        for _ in range(200):
            call(runtime, config, payload)
        latencies = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            started = time.perf_counter()
            call(runtime, config, payload)
            latencies.append(time.perf_counter() - started)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return calls / wall, statistics.median(latencies) * 1e6, cpu / calls * 1e6


def direct(payload: bytes, calls: int) -> float:
    def handler(event: Any, context: Any) -> Any:
        return event

    started = time.perf_counter()
    for _ in range(calls):
        json.dumps(handler(json.loads(payload), None)).encode()
    return (time.perf_counter() - started) / calls * 1e6


def concurrent_invoke(
    config: FunctionConfig, payload: bytes, calls: int, callers: int, pool_size: int
) -> float:
    with FunctionRuntime(pool_size=pool_size) as runtime:
        for _ in range(50):
            call(runtime, config, payload)
        lock = threading.Lock()
        remaining = [calls]
        finished = threading.Semaphore(0)

        def next_call(_: InvocationResult | None = None) -> None:
            with lock:
                if remaining[0] == 0:
                    finished.release()
                    return
                remaining[0] -= 1
            runtime.invoke(config, payload, next_call, request_id="bench")

        started = time.perf_counter()
        for _ in range(callers):
            next_call()
        for _ in range(callers):
            finished.acquire()
        return calls / (time.perf_counter() - started)


def concurrent_tasks(config: FunctionConfig, calls: int, callers: int, pool_size: int) -> float:
    with FunctionRuntime(pool_size=pool_size) as runtime:
        adapter = LambdaFunctions(lambda name, q: config, runtime)
        info = execution_info("bench", {}, 0.0)
        resource = f"arn:aws:lambda:us-east-1:123456789012:function:{config.name}"
        lock = threading.Lock()
        remaining = [calls]
        finished = threading.Semaphore(0)

        def next_task(_: TaskOutcome | None = None) -> None:
            with lock:
                if remaining[0] == 0:
                    finished.release()
                    return
                remaining[0] -= 1
            adapter.start(TaskRequest("tok", resource, PAYLOAD, "T", info), next_task)

        started = time.perf_counter()
        for _ in range(callers):
            next_task()
        for _ in range(callers):
            finished.acquire()
        return calls / (time.perf_counter() - started)


def concurrent_runs(config: FunctionConfig, executions: int, callers: int, pool_size: int) -> float:
    resource = f"arn:aws:lambda:us-east-1:123456789012:function:{config.name}"
    machine = load_machine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    )
    with FunctionRuntime(pool_size=pool_size) as runtime:
        registry = Registry([LambdaFunctions(lambda name, q: config, runtime)])
        run(machine, PAYLOAD, registry=registry)
        per_thread = executions // callers

        def loop() -> None:
            for _ in range(per_thread):
                ex = run(machine, PAYLOAD, registry=registry)
                assert ex.status == "SUCCEEDED", ex.cause

        threads = [threading.Thread(target=loop) for _ in range(callers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return per_thread * callers / (time.perf_counter() - started)


def concurrent_local_runs(executions: int, callers: int) -> float:
    """The same executions with the handler called in-process (``LocalLambda``): the
    driver's own cost, for comparison."""
    resource = "arn:aws:lambda:us-east-1:123456789012:function:local"
    machine = load_machine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    )
    functions = {"local": lambda event, context: event}
    per_thread = executions // callers

    def loop() -> None:
        for _ in range(per_thread):
            run(machine, PAYLOAD, functions=functions)

    threads = [threading.Thread(target=loop) for _ in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * callers / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--only", choices=["python", "node"], default=None)
    args = parser.parse_args()
    payload = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cpus, pool size {args.pool_size}, {args.concurrency} callers"
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "py").mkdir()
        (root / "py" / "app.py").write_text(PY_CODE)
        (root / "node").mkdir()
        (root / "node" / "index.js").write_text(NODE_CODE)
        configs = {
            "python": FunctionConfig("benchpy", "python3.12", "app.handler", str(root / "py")),
            "node": FunctionConfig("benchnode", "nodejs20.x", "index.handler", str(root / "node")),
        }
        in_process = direct(payload, 20000)
        local = concurrent_local_runs(args.calls, args.concurrency)
        print(
            f"in-process handler (LocalLambda): {args.concurrency} threads: {local:,.0f} "
            "one-Task executions/s (the driver's own ceiling)"
        )
        for label, config in configs.items():
            if args.only and label != args.only:
                continue
            cold = cold_start(config, payload, args.cold_runs)
            rate, p50, cpu = warm(config, payload, args.calls)
            many = concurrent_invoke(
                config, payload, args.calls * 2, args.concurrency, args.pool_size
            )
            tasks = concurrent_tasks(config, args.calls * 2, args.concurrency, args.pool_size)
            runs = concurrent_runs(config, args.calls, args.concurrency, args.pool_size)
            print(f"{label}: cold start {cold:.1f} ms")
            print(f"{label}: warm one after another {rate:,.0f} invocations/s, p50 {p50:.0f} us")
            print(
                f"{label}: direct in-process call {in_process:.1f} us; "
                f"warm overhead {p50 - in_process:.0f} us/invocation (p50 - direct); "
                f"our CPU {cpu:.0f} us/invocation"
            )
            print(
                f"{label}: {args.concurrency} callers: {many:,.0f} invocations/s (runtime), "
                f"{tasks:,.0f} tasks/s (adapter), {runs:,.0f} one-Task executions/s "
                "(stepfn.run driver)"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
