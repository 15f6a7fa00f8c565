"""Lambda through the API: warm Invoke calls/s and one-Task executions/s, beside ministack.

    python bench/lambda_api.py [--ministack PATH_TO_MINISTACK_EXECUTABLE]

Starts a real ``stepfn server`` (and ministack, when its executable is given: it is not
a dependency of stepfn; install it in a venv of its own) on free ports, creates a Python
and a Node function from zips with boto3 on each, then measures one after another:
100 warm Invokes and 30 executions of a one-Task state machine per function, and on
stepfn 16 executions in flight at once (invocations/s). Prints the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
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


def measure(label: str, url: str, concurrent: bool) -> None:
    lam, sfn = clients(url)
    for runtime in ("python3.12", "nodejs20.x"):
        name = f"bench-{runtime.replace('.', '')}-{time.monotonic_ns()}"
        arn = create(lam, name, runtime)
        rate = invokes(lam, name, 100)
        print(f"{label:9} {runtime:11} warm Invoke, one after another: {rate:8.1f} calls/s")
        try:
            rate = executions(sfn, arn, 30)
            print(f"{label:9} {runtime:11} one-Task executions, serial:      {rate:8.1f} /s")
            if concurrent:
                rate = executions(sfn, arn, 64, in_flight=16)
                print(f"{label:9} {runtime:11} 16 in flight: {rate:8.1f} invocations/s")
        except Exception as exc:  # ministack may lack a part: say which
            print(f"{label:9} {runtime:11} executions: {type(exc).__name__}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ministack", help="the ministack executable (in a venv of its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        stepfn = subprocess.Popen(
            [sys.executable, "-m", "stepfn", "server", "--port", str(port), "--db",
             os.path.join(tmp, "bench.db")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_up(url + "/health", stepfn)
            measure("stepfn", url, concurrent=True)
        finally:
            stepfn.terminate()
            stepfn.wait(30)
        if not args.ministack:
            print("ministack: not measured (give --ministack PATH)")
            return
        port = free_port()
        ministack = subprocess.Popen(
            [args.ministack],
            env={**os.environ, "GATEWAY_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_up(url + "/_localstack/health", ministack)
            measure("ministack", url, concurrent=True)
        finally:
            ministack.terminate()
            ministack.wait(30)


if __name__ == "__main__":
    main()
