"""No execution stalls another: figures of a real server under executions built to stall it.

Three workloads, each on a fresh ``stepfn server`` driven with boto3:

1. the pathological wildcard: a Choice ``StringMatches "*a*a*a*b"`` (and one more ``*``)
   against 2,000 ``a``s; the time until the execution ends, and the slowest
   DescribeStateMachine answered meanwhile (called in a loop from another thread);
2. 20 executions with a one-second Wait, started beside three executions evaluating
   an endless JSONata recursion: when the last Wait execution ends (target: 4 s);
3. StartExecution's latency when the definition's first step is heavy (a Pass loop of
   thousands of states with no wait, and an inline Map over 20,000 items).

    python bench/stall.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::123456789012:role/bench"


def client(url: str) -> Any:
    """A boto3 client for the server (no host prefix, one attempt, long reads)."""
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench",
        config=Config(
            inject_host_prefix=False,
            retries={"max_attempts": 1},
            read_timeout=300,
            max_pool_connections=32,
        ),
    )


@contextmanager
def server() -> Iterator[str]:
    """A fresh ``stepfn server`` on a free port; its URL."""
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [sys.executable, "-m", "stepfn", "server", "--db", f"{folder}/s.db", "--port", "0"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            if not line.startswith("stepfn server on "):
                raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
            yield line.split()[3]
        finally:
            process.terminate()
            process.wait(timeout=60)


def create(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    """Create a state machine; its ARN."""
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def wait_end(sfn: Any, arn: str, limit: float = 600) -> dict[str, Any]:
    """Poll an execution until it ends."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise SystemExit(f"{arn} did not end within {limit} s")


def wildcard(url: str, stars: int) -> None:
    """Workload 1."""
    sfn = client(url)
    pattern = "*a" * stars + "*b"
    machine = create(
        sfn,
        f"wild{stars}",
        {
            "StartAt": "Nap",
            "States": {
                "Nap": {"Type": "Wait", "Seconds": 0, "Next": "Match"},
                "Match": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.s", "StringMatches": pattern, "Next": "Yes"}],
                    "Default": "No",
                },
                "Yes": {"Type": "Succeed"},
                "No": {"Type": "Succeed"},
            },
        },
    )
    slowest = [0.0]
    done = threading.Event()

    def probe() -> None:
        other = client(url)
        while not done.is_set():
            started = time.perf_counter()
            other.describe_state_machine(stateMachineArn=machine)
            slowest[0] = max(slowest[0], time.perf_counter() - started)
            time.sleep(0.01)

    watcher = threading.Thread(target=probe)
    watcher.start()
    started = time.perf_counter()
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"s": "a" * 2000}))
    ended = wait_end(sfn, arn["executionArn"])
    took = time.perf_counter() - started
    done.set()
    watcher.join()
    print(
        f"  {pattern!r} on 2,000 'a's: {ended['status']} in {took:.2f} s; "
        f"slowest DescribeStateMachine meanwhile {slowest[0] * 1000:.0f} ms"
    )


ENDLESS = "{% ( $f := function($n) { $f($n + 1) }; $f(0) ) %}"
# Not endless, but far past any budget: fails at the evaluation's step limit.
HEAVY = "{% ( $f := function($n) { $n <= 1 ? $n : $f($n - 1) + $f($n - 2) }; $f(40) ) %}"


def waits_beside_recursions(url: str, expression: str, label: str) -> None:
    """Workload 2."""
    sfn = client(url)
    recursion = create(
        sfn,
        "recurse",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Loop",
            "States": {
                "Loop": {
                    "Type": "Pass",
                    "Output": expression,
                    "End": True,
                }
            },
        },
    )
    nap = create(
        sfn,
        "nap",
        {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": True}}},
    )
    heavy = [sfn.start_execution(stateMachineArn=recursion)["executionArn"] for _ in range(3)]
    started = time.perf_counter()
    naps = [sfn.start_execution(stateMachineArn=nap)["executionArn"] for _ in range(20)]
    ends = []
    for arn in naps:
        described = wait_end(sfn, arn)
        ends.append(described["stopDate"].timestamp())
    last = time.perf_counter() - started
    outcomes = [wait_end(sfn, arn) for arn in heavy]
    print(
        f"  20 one-second Waits beside 3 {label} JSONata recursions: the last ended "
        f"{last:.2f} s after the first start; the recursions ended "
        f"{sorted({o['status'] + ' ' + o.get('error', '') for o in outcomes})}"
    )


def heavy_first_step(url: str) -> None:
    """Workload 3."""
    sfn = client(url)
    loop = create(
        sfn,
        "passloop",
        {
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.n", "Next": "Add"},
                "Add": {
                    "Type": "Pass",
                    "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                    "Next": "More",
                },
                "More": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.n", "NumericLessThan": 5000, "Next": "Add"}],
                    "Default": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        },
    )
    fan = create(
        sfn,
        "bigmap",
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "ResultSelector": {"count.$": "States.ArrayLength($)"},
                    "End": True,
                }
            },
        },
    )
    for label, machine, body in (
        ("a Pass loop of 10,000 states", loop, "{}"),
        ("an inline Map over 20,000 items", fan, json.dumps(list(range(20_000)))),
    ):
        started = time.perf_counter()
        arn = sfn.start_execution(stateMachineArn=machine, input=body)["executionArn"]
        answered = time.perf_counter() - started
        ended = wait_end(sfn, arn)
        total = time.perf_counter() - started
        print(
            f"  {label}: StartExecution answered in {answered * 1000:.0f} ms; "
            f"the execution {ended['status']} after {total:.2f} s"
        )


def main() -> None:
    """Print the figures."""
    print("1. the pathological wildcard")
    for stars in (3, 4):
        with server() as url:
            wildcard(url, stars)
    print("2. timers beside CPU-heavy steps")
    for expression, label in ((ENDLESS, "endless"), (HEAVY, "heavy (fib 40)")):
        with server() as url:
            waits_beside_recursions(url, expression, label)
    print("3. StartExecution on a heavy first step")
    with server() as url:
        heavy_first_step(url)


if __name__ == "__main__":
    main()
