"""Express executions in bounded memory: a server's resident memory over many
StartSyncExecution calls.

A ``stepfn server`` is driven with boto3 from 4 threads: 20,000 StartSyncExecution calls
on a one-state Express machine. The server's VmRSS is read (from /proc) after the
2,000th and after the 20,000th call; the growth between them is the figure (the issue's
target: under 25 MiB). ``--src DIR`` runs the server from another checkout's ``src``
(say, the commit before a change) for a figure beside it in the same run.

    python bench/express_memory.py [--calls 20000] [--src ../old-checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

THREADS = 4
ROLE = "arn:aws:iam::123456789012:role/bench"
DEFINITION = json.dumps(
    {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}}
)


def client(url: str) -> Any:
    """A boto3 client for the server (no host prefix, one attempt)."""
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench",
        config=Config(
            inject_host_prefix=False,
            retries={"max_attempts": 1},
            max_pool_connections=THREADS,
        ),
    )


def rss_mib(pid: int) -> float:
    """The process's resident memory now, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def measure(src: Path | None, calls: int) -> dict[str, float]:
    """Run the workload on a fresh server; its memory at the 10% mark and at the end."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src / "src")
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "stepfn", "server", "--db", f"{folder}/b.db"]
        process = subprocess.Popen(
            [*command, "--port", "0"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            if not line.startswith("stepfn server on "):
                raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
            url = line.split()[3]
            sfn = client(url)
            arn = sfn.create_state_machine(
                name="echo", definition=DEFINITION, roleArn=ROLE, type="EXPRESS"
            )["stateMachineArn"]
            counter = iter(range(calls))
            lock = threading.Lock()
            marks: dict[str, float] = {}
            first_mark = calls // 10

            def work() -> None:
                local = client(url)
                while True:
                    with lock:
                        n = next(counter, None)
                    if n is None:
                        return
                    answer = local.start_sync_execution(stateMachineArn=arn, input="{}")
                    assert answer["status"] == "SUCCEEDED", answer
                    if n == first_mark:
                        marks["early"] = rss_mib(process.pid)

            started = time.perf_counter()
            threads = [threading.Thread(target=work) for _ in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            marks["seconds"] = time.perf_counter() - started
            marks["end"] = rss_mib(process.pid)
            return marks
        finally:
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--src", type=Path, help="another checkout to measure beside this one")
    args = parser.parse_args()
    runs = [("this checkout", None)]
    if args.src is not None:
        runs.append((f"{args.src}", args.src.resolve()))
    print(f"{args.calls:,} StartSyncExecution calls from {THREADS} boto3 threads")
    for label, src in runs:
        m = measure(src, args.calls)
        print(
            f"  {label}: VmRSS {m['early']:.1f} MiB after call {args.calls // 10:,}, "
            f"{m['end']:.1f} MiB after call {args.calls:,}: grew {m['end'] - m['early']:.1f} MiB "
            f"({args.calls / m['seconds']:,.0f} calls/s)"
        )


if __name__ == "__main__":
    main()
