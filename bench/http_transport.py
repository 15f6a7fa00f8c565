"""The HTTP stack measured with ``wrk``: uvicorn + Starlette against the old transport.

    python bench/http_transport.py [--seconds 10] [--connections 16] [--threads 2]
                                   [--rounds 3] [--old-ref 1bac6a2]

Two servers run as their own processes, each on a fresh SQLite file (durable, as
``stepfn server`` is by default): the new one (``stepfn server``) and the hand-written
``socketserver`` transport this replaces, its ``server.py`` read from git (``--old-ref``,
a commit that had it) into a temporary folder and run in front of today's ``Api``, so
that only the transports differ. The machine is shared and noisy: the two take turns
for ``--rounds`` rounds, and the medians are compared.
For each, ``wrk`` posts AWS JSON 1.0 calls from a Lua script:

- ``AWSStepFunctions.StartExecution`` on a Standard state machine whose first state
  is a one-hour Wait (each call commits a new execution and its first events);
- ``AWSStepFunctions.DescribeStateMachine`` on the same machine (a read).

It prints calls per second of both, the ratio StartExecution/DescribeStateMachine
(issue 14's target: toward 0.6) and new/old for each operation (target: at least 1).
Needs Debian's ``wrk``. Figures are printed, never asserted; answers other than 200 are
counted and shown.
"""

from __future__ import annotations

import os
import sys

# This file's name is the standard library's ``http``: run as a script, its folder comes
# first on the path and would shadow it for every module imported below.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

# ruff: noqa: E402
import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::123456789012:role/bench"
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}

OLD_SERVER = """
import sys, importlib.util
from stepfn.service.engine import Engine
spec = importlib.util.spec_from_file_location("old_server", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
engine = Engine.open(sys.argv[2])
server = module.Server(engine, "127.0.0.1", 0)
print("stepfn server on", server.url, file=sys.stderr, flush=True)
server.serve_forever()
"""


@contextmanager
def process(command: list[str]) -> Iterator[str]:
    """A server process; its endpoint URL, read from the first line it writes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert child.stderr is not None
    try:
        line = child.stderr.readline().decode()
        if not line.startswith("stepfn server on http://"):
            raise SystemExit(f"the server did not start: {line}{child.stderr.read().decode()}")
        yield line.split()[3]
    finally:
        child.terminate()
        child.wait(timeout=60)
        child.stderr.close()


def machine(url: str) -> str:
    """A Standard state machine whose executions wait an hour; its ARN."""
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )
    arn: str = sfn.create_state_machine(
        name="wait", definition=json.dumps(WAIT), roleArn=ROLE, type="STANDARD"
    )["stateMachineArn"]
    return arn


def script(folder: Path, operation: str, body: dict[str, str]) -> Path:
    path = folder / f"{operation}.lua"
    path.write_text(
        textwrap.dedent(
            f"""\
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
            wrk.headers["X-Amz-Target"] = "AWSStepFunctions.{operation}"
            wrk.body = '{json.dumps(body)}'
            """
        )
    )
    return path


def wrk(url: str, lua: Path, args: argparse.Namespace) -> tuple[float, int]:
    """(calls per second, answers other than 2xx) of one wrk run."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "-s",
            str(lua),
            url + "/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad.group(1)) if bad else 0


def measure(url: str, folder: Path, args: argparse.Namespace) -> dict[str, tuple[float, int]]:
    arn = machine(url)
    start = script(folder, "StartExecution", {"stateMachineArn": arn})
    describe = script(folder, "DescribeStateMachine", {"stateMachineArn": arn})
    wrk(url, describe, argparse.Namespace(**{**vars(args), "seconds": 2}))  # warm up
    return {
        "DescribeStateMachine": wrk(url, describe, args),
        "StartExecution": wrk(url, start, args),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--old-ref", default="1bac6a2", help="a git commit with the old socketserver server.py"
    )
    parser.add_argument("--new-only", action="store_true", help="skip the old transport")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk (apt-get install -y wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{args.old_ref}:src/stepfn/api/server.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "socketserver" not in old:
            raise SystemExit(f"{args.old_ref}:src/stepfn/api/server.py is not the old transport")
        (folder / "old_server.py").write_text(old)
        runs = {
            NEW: lambda db: [sys.executable, "-m", "stepfn", "server", "--db", db, "--port", "0"],
            OLD: lambda db: [sys.executable, "-c", OLD_SERVER, str(folder / "old_server.py"), db],
        }
        if args.new_only:
            del runs[OLD]
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, "
            f"{os.cpu_count()} CPUs, durable SQLite store, {args.rounds} rounds"
        )
        rates: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
        for round_ in range(args.rounds):
            for name, command in runs.items():
                db = str(folder / f"{name.split()[0]}-{round_}.db")
                with process(command(db)) as url:
                    figures = measure(url, folder, args)
                line = f"  round {round_ + 1} {name:18}"
                for operation in OPERATIONS:
                    rate, bad = figures[operation]
                    rates[name].setdefault(operation, []).append(rate)
                    line += f" {operation} {rate:6.0f}/s" + (f" (non-2xx: {bad})" if bad else "")
                print(line, flush=True)
        print("\nmedians")
        medians = {
            name: {op: statistics.median(values) for op, values in by_op.items()}
            for name, by_op in rates.items()
        }
        for name, by_op in medians.items():
            describe, start = by_op["DescribeStateMachine"], by_op["StartExecution"]
            print(
                f"{name:18} DescribeStateMachine {describe:8.0f}/s  StartExecution "
                f"{start:8.0f}/s  StartExecution/DescribeStateMachine {start / describe:.2f}"
            )
        if OLD in medians:
            print(
                "new/old           "
                + "  ".join(f"{op} {medians[NEW][op] / medians[OLD][op]:.2f}x" for op in OPERATIONS)
            )


NEW = "uvicorn+starlette"
OLD = "old socketserver"
OPERATIONS = ("DescribeStateMachine", "StartExecution")


if __name__ == "__main__":
    main()
