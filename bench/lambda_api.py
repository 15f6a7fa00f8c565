"""Lambda through the API: warm Invoke calls/s and one-Task executions/s, beside ministack.

    python bench/lambda_api.py [--ministack PATH_TO_MINISTACK_EXECUTABLE]

Starts a real ``stepfn server`` (and ministack, when its executable is given: it is not
a dependency of stepfn; install it in a venv of its own) on free ports, both running at
once, creates a Python and a Node function from zips with boto3 on each, then measures:
100 warm Invokes one after another, 30 executions of a one-Task state machine one after
another, and 64 with 16 in flight (invocations/s). Each figure is taken on each system in
turn, ``--rounds`` times (default 3), and the median of the rounds' ratios printed: on a
shared, loaded machine a figure moves from one minute to the next, and a ratio of two runs
made moments apart moves much less. Prints every figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::000000000000:role/bench"
PY = "def handler(event, context):\n    return {'ok': event}\n"
NODE = "exports.handler = async (event) => ({ ok: event });\n"


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP answer: it is up
                return
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def clients(url: str) -> tuple[Any, Any]:
    options: dict[str, Any] = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "config": Config(retries={"max_attempts": 1}, max_pool_connections=32),
    }
    return boto3.client("lambda", **options), boto3.client("stepfunctions", **options)


def create(lam: Any, name: str, runtime: str) -> str:
    code, handler = (
        (zipped("app.py", PY), "app.handler")
        if runtime.startswith("python")
        else (zipped("index.js", NODE), "index.handler")
    )
    made = lam.create_function(
        FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE, Code={"ZipFile": code}
    )
    for _ in range(300):  # ministack may create functions Pending
        state = lam.get_function_configuration(FunctionName=name).get("State", "Active")
        if state == "Active":
            break
        time.sleep(0.1)
    return str(made["FunctionArn"])


def invokes(lam: Any, name: str, count: int) -> float:
    lam.invoke(FunctionName=name, Payload=b"{}")  # warm
    start = time.perf_counter()
    for i in range(count):
        answer = lam.invoke(FunctionName=name, Payload=json.dumps({"i": i}).encode())
        assert "FunctionError" not in answer, answer["Payload"].read()
        answer["Payload"].read()
    return count / (time.perf_counter() - start)


def finish(sfn: Any, arn: str) -> None:
    while True:
        status = sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            assert status == "SUCCEEDED", status
            return
        time.sleep(0.005)


def executions(sfn: Any, function_arn: str, count: int, in_flight: int = 1) -> float:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": function_arn, "End": True}},
    }
    machine = sfn.create_state_machine(
        name=f"bench-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]

    def one(i: int) -> None:
        started = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"i": i}))
        finish(sfn, started["executionArn"])

    one(-1)  # warm
    start = time.perf_counter()
    if in_flight == 1:
        for i in range(count):
            one(i)
    else:
        with ThreadPoolExecutor(in_flight) as pool:
            list(pool.map(one, range(count)))
    return count / (time.perf_counter() - start)


FIGURES = (
    ("warm Invoke, one after another", "calls/s"),
    ("one-Task executions, one after another", "/s"),
    ("one-Task executions, 16 in flight", "invocations/s"),
)


class Target:
    """One system under test: its clients and the functions made on it."""

    def __init__(self, label: str, url: str) -> None:
        self.label = label
        self.lam, self.sfn = clients(url)
        self.functions: dict[str, tuple[str, str]] = {}  # runtime -> (name, ARN)

    def prepare(self, runtime: str) -> None:
        name = f"bench-{runtime.replace('.', '')}-{time.monotonic_ns()}"
        self.functions[runtime] = (name, create(self.lam, name, runtime))

    def figure(self, runtime: str, which: int) -> float | None:
        name, arn = self.functions[runtime]
        try:
            if which == 0:
                return invokes(self.lam, name, 100)
            if which == 1:
                return executions(self.sfn, arn, 30)
            return executions(self.sfn, arn, 64, in_flight=16)
        except Exception as exc:  # ministack may lack a part: say which
            print(f"{self.label:9} {runtime:11} {FIGURES[which][0]}: {type(exc).__name__}: {exc}")
            return None


def measure(targets: list[Target], rounds: int) -> None:
    """Each figure on each target in turn, ``rounds`` times: the load of a shared machine
    moves every figure, so each round's ratio compares two runs made moments apart."""
    for runtime in ("python3.12", "nodejs20.x"):
        for target in targets:
            target.prepare(runtime)
        for which, (label, unit) in enumerate(FIGURES):
            ratios: list[float] = []
            for _ in range(rounds):
                got = [target.figure(runtime, which) for target in targets]
                for target, rate in zip(targets, got, strict=True):
                    if rate is not None:
                        print(f"{target.label:9} {runtime:11} {label}: {rate:8.1f} {unit}")
                if len(got) == 2 and got[0] and got[1]:
                    ratios.append(got[0] / got[1])
            if ratios:
                print(
                    f"=> {runtime:11} {label}: stepfn / {targets[1].label} = "
                    f"{statistics.median(ratios):.1f}x (median of {len(ratios)} rounds; "
                    f"each: {', '.join(f'{r:.1f}' for r in ratios)})"
                )


def start(
    command: list[str], env: dict[str, str], cwd: str, health: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd
    )
    wait_up(health, process)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ministack", help="the ministack executable (in a venv of its own)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each figure")
    args = parser.parse_args()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            processes.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "stepfn",
                        "server",
                        "--port",
                        str(port),
                        "--db",
                        os.path.join(tmp, "bench.db"),
                    ],
                    dict(os.environ),
                    tmp,
                    url + "/health",
                )
            )
            targets = [Target("stepfn", url)]
            if args.ministack:
                port = free_port()
                other = f"http://127.0.0.1:{port}"
                env = {**os.environ, "GATEWAY_PORT": str(port)}
                processes.append(start([args.ministack], env, tmp, other + "/_localstack/health"))
                targets.append(Target("ministack", other))
            else:
                print("ministack: not measured (give --ministack PATH)")
            measure(targets, args.rounds)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)


if __name__ == "__main__":
    main()
