"""Kill the server three times while 1,000 executions run; count what was lost.

    python bench/crash.py [--executions 1000] [--kills 3] [--seed N] [--limit 300]

A real ``python -m stepfn server`` runs on a SQLite file in a temporary folder. A ten-state
machine (Pass states, and three Waits of 1-2 s) is created and ``--executions``
executions are started through boto3 (``endpoint_url``). Meanwhile the server is killed
with SIGKILL ``--kills`` times at random moments of the run's first 4 s (drawn from
``--seed``; printed, so a run can be repeated) and started again on the same file each
time. Starts that meet a dead server are retried with the same name and input, which
StartExecution treats as the same call (AWS's idempotency), so a start the server
committed but never answered is not started twice.

Once every execution has finished, each one's history is read back and checked:

- transitions lost: states of the machine with no ``*StateEntered`` event;
- transitions duplicated: ``*StateEntered`` events beyond one per state;
- broken histories: event ids not exactly 1..n, or not exactly one ExecutionSucceeded,
  or an output that misses what a state added.

Printed: executions completed, transitions lost, duplicated, broken histories, and the
wall time. The exit status is 1 when anything was lost, duplicated or broken, or an
execution did not finish in ``--limit`` seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from durable import ServerProcess

ROLE = "arn:aws:iam::123456789012:role/stepfn-crash"
STATES = 10
WAITS = {2: 1, 5: 2, 8: 1}  # state index -> Wait seconds
MACHINE = "crashy"


def definition() -> str:
    """Ten states: Pass states that each add a field, and three short Waits."""
    states: dict[str, Any] = {}
    for i in range(STATES):
        step = {"Next": f"S{i + 1}"} if i < STATES - 1 else {"End": True}
        if i in WAITS:
            states[f"S{i}"] = {"Type": "Wait", "Seconds": WAITS[i], **step}
        else:
            states[f"S{i}"] = {"Type": "Pass", "Result": i, "ResultPath": f"$.s{i}", **step}
    return json.dumps({"StartAt": "S0", "States": states})


def client(url: str) -> Any:
    """A boto3 client that fails fast (no retries of its own: this script retries)."""
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, connect_timeout=2, read_timeout=30),
    )


def retrying(call: Callable[[], Any], limit: float = 120.0) -> Any:
    """``call()``, again and again while the server is down or restarting."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return call()
        except BotoCoreError:  # connection refused, reset, timed out: the server is down
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class Starter:
    """Starts the executions one by one, riding out the server's deaths."""

    url: str
    machine: str
    count: int
    arns: list[str] = field(default_factory=list)
    error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            sfn = client(self.url)
            for i in range(self.count):
                self.arns.append(self._start(sfn, f"run-{i}", json.dumps({"i": i})))
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self.finished.set()

    def _start(self, sfn: Any, name: str, text: str) -> str:
        def start() -> str:
            try:
                response = sfn.start_execution(stateMachineArn=self.machine, name=name, input=text)
                arn: str = response["executionArn"]
                return arn
            except ClientError as exc:
                # A retry of a start the server committed before it died, and the
                # execution has finished since: it exists, which is all we asked.
                if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                    raise
                return self.machine.replace(":stateMachine:", ":execution:") + f":{name}"

        arn: str = retrying(start)
        return arn


@dataclass
class Tally:
    completed: int = 0
    lost: int = 0
    duplicated: int = 0
    broken: list[str] = field(default_factory=list)


def check(sfn: Any, arns: list[str], index: dict[str, int]) -> Tally:
    """Read every history back and count what is missing, doubled or malformed."""
    tally = Tally()
    for arn in arns:
        described = sfn.describe_execution(executionArn=arn)
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = sfn.get_execution_history(
                executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        entered = Counter(
            e["stateEnteredEventDetails"]["name"]
            for e in events
            if e["type"].endswith("StateEntered")
        )
        tally.lost += sum(1 for i in range(STATES) if entered[f"S{i}"] == 0)
        tally.duplicated += sum(n - 1 for n in entered.values() if n > 1)
        problems = []
        if [e["id"] for e in events] != list(range(1, len(events) + 1)):
            problems.append("event ids are not 1..n")
        if [e["type"] for e in events].count("ExecutionSucceeded") != 1:
            problems.append("not exactly one ExecutionSucceeded")
        if described["status"] == "SUCCEEDED":
            tally.completed += 1
            output = json.loads(described["output"])
            wanted = {f"s{k}": k for k in range(STATES) if k not in WAITS}
            if output.get("i") != index[arn] or any(output.get(k) != v for k, v in wanted.items()):
                problems.append(f"wrong output {described['output']}")
        else:
            problems.append(f"ended {described['status']}")
        if problems:
            tally.broken.append(f"{arn.rsplit(':', 1)[-1]}: {'; '.join(problems)}")
    return tally


def wait_all_finished(sfn: Any, arns: list[str], limit: float) -> list[str]:
    """Poll until no execution runs (oldest first); returns those still running."""
    pending = list(arns)
    deadline = time.monotonic() + limit
    while pending and time.monotonic() < deadline:
        status = retrying(lambda: sfn.describe_execution(executionArn=pending[0])["status"])
        if status == "RUNNING":
            time.sleep(0.1)
        else:
            pending.pop(0)
    return pending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds to wait at most")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    print(f"{args.executions} executions, {args.kills} SIGKILLs, seed {seed}")

    with tempfile.TemporaryDirectory(prefix="stepfn-crash-") as tmp:
        server = ServerProcess(Path(tmp) / "crash.db")
        server.start()
        began = time.perf_counter()
        try:
            sfn = client(server.url)
            machine = sfn.create_state_machine(name=MACHINE, definition=definition(), roleArn=ROLE)
            starter = Starter(server.url, machine["stateMachineArn"], args.executions)
            thread = threading.Thread(target=starter.run, name="starter")
            thread.start()
            # Kill moments drawn in the first 4 s of the run: the last execution started
            # has 4 s of Waits ahead of it, so executions are running at every one of
            # them, whatever the restarts cost. A moment that falls while the server is
            # still restarting is taken as soon as it is back.
            moments = sorted(rng.uniform(0.3, 4.0) for _ in range(args.kills))
            for kill, moment in enumerate(moments, start=1):
                time.sleep(max(0.05, moment - (time.perf_counter() - began)))
                at = time.perf_counter() - began
                started = len(starter.arns)
                server.kill()
                print(f"  SIGKILL {kill} at {at:4.1f} s ({started} started so far)")
                server.start()
            thread.join()
            if starter.error is not None:
                raise starter.error
            sfn = client(server.url)
            pending = wait_all_finished(sfn, starter.arns, args.limit)
            took = time.perf_counter() - began
            index = {arn: i for i, arn in enumerate(starter.arns)}
            tally = check(sfn, starter.arns, index)
        finally:
            server.stop()

    print(f"executions completed:     {tally.completed} of {args.executions}")
    print(f"transitions lost:         {tally.lost}")
    print(f"transitions duplicated:   {tally.duplicated}")
    print(f"broken histories:         {len(tally.broken)}")
    for line in tally.broken[:10]:
        print(f"  {line}")
    if pending:
        print(f"still running after {args.limit:g} s: {len(pending)}")
    print(f"wall time:                {took:.1f} s (start to all finished)")
    bad = tally.lost or tally.duplicated or tally.broken or pending
    return 1 if bad or len(starter.arns) != args.executions else 0


if __name__ == "__main__":
    sys.exit(main())
