"""A killed server loses nothing: SIGKILL at random moments, restart, and every execution
still finishes, with every state transition recorded exactly once.

This drives a real ``stepfn server`` subprocess over real HTTP with boto3.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pg  # tests/pg.py, put on the path by conftest.py

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/stepfn"
STATES = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def definition() -> dict[str, Any]:
    """Ten states: Pass states with two 1-second Waits among them."""
    states: dict[str, Any] = {}
    for i in range(STATES):
        name = f"S{i}"
        nxt = {"Next": f"S{i + 1}"} if i < STATES - 1 else {"End": True}
        if i in (3, 7):
            states[name] = {"Type": "Wait", "Seconds": 1, **nxt}
        else:
            states[name] = {"Type": "Pass", "Result": i, "ResultPath": f"$.s{i}", **nxt}
    return {"StartAt": "S0", "States": states}


class ServerProcess:
    def __init__(self, db: Path | str) -> None:
        self.db = db
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stepfn",
                "server",
                "--db",
                str(self.db),
                "--port",
                str(self.port),
                "--lease-seconds",
                "2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    # On PostgreSQL the server works by leases: a restarted server takes over what the
    # killed one held once its lease (cut short here) runs out.
    db = tmp_path / "crash.db" if request.param == "sqlite" else pg.schema_url()
    process = ServerProcess(db)
    process.start()
    yield process
    process.stop()


def client(url: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, connect_timeout=2, read_timeout=30),
    )


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(server: ServerProcess) -> None:
    rng = random.Random(int(os.environ.get("STEPFN_CRASH_SEED", "7")))
    sfn = client(server.url)
    sm = sfn.create_state_machine(name="crashy", definition=json.dumps(definition()), roleArn=ROLE)[
        "stateMachineArn"
    ]
    arns = [
        sfn.start_execution(stateMachineArn=sm, name=f"run-{i}", input=json.dumps({"i": i}))[
            "executionArn"
        ]
        for i in range(40)
    ]
    for _ in range(3):
        time.sleep(rng.uniform(0.05, 0.9))
        server.kill()
        server.start()
    sfn = client(server.url)
    deadline = time.monotonic() + 60
    pending = set(arns)
    while pending and time.monotonic() < deadline:
        for arn in list(pending):
            if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                pending.discard(arn)
        time.sleep(0.2)
    assert not pending, f"{len(pending)} executions never finished"
    for i, arn in enumerate(arns):
        described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", described
        output = json.loads(described["output"])
        assert output["i"] == i and all(
            output[f"s{k}"] == k for k in range(STATES) if k not in (3, 7)
        )
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        entered = Counter(
            e["stateEnteredEventDetails"]["name"]
            for e in events
            if e["type"].endswith("StateEntered")
        )
        assert entered == {f"S{k}": 1 for k in range(STATES)}, entered
        assert [e["type"] for e in events].count("ExecutionSucceeded") == 1
