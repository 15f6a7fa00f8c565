"""A distributed Map over S3 items on a ``stepfn server``, beside an inline Map over the
same items given as input.

    python bench/distributed_map_s3.py [--items 100000] [--formats json,csv] [--skip-peer]

A moto server (``tests/moto_server.py``) stands for S3. The items, ``{"id": i, "name":
"item-i"}``, are put there as one JSON array (and as one CSV file with a header row).
For each format a ``stepfn server`` subprocess on a fresh SQLite file runs one
execution of a distributed Map (ExecutionType STANDARD: every item is a stored child
execution, as on AWS) whose ItemReader reads the object and whose ResultWriter writes
the results back to S3 (``manifest.json``, ``SUCCEEDED_0.json``). The server finds S3
through ``AWS_ENDPOINT_URL_S3``, the SDKs' own convention. Timed: from StartExecution
to DescribeExecution reporting SUCCEEDED. Printed: items per second, the server
process's peak resident memory (``VmHWM``), its CPU seconds, and the size of the
results file written.

The peer, measured in the same run: an inline Map over the same items given as input,
run by ``stepfn.run`` (EXPRESS, in memory: an inline Map of 100,000 iterations is past a
Standard execution's 25,000 history events, and its input past StartExecution's 256 KiB)
in a subprocess of its own, with its items per second and peak memory (``ru_maxrss``).
Figures are printed, never asserted: they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # moto_server

from moto_server import AWS_ENV, running_moto  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"
BUCKET, RESULTS = "bench-items", "bench-results"


def items(count: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"item-{i}"} for i in range(count)]


def csv_text(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "name"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def distributed_map(key: str, kind: str) -> dict[str, Any]:
    config: dict[str, Any] = {"InputType": kind.upper()}
    if kind == "csv":
        config["CSVHeaderLocation"] = "FIRST_ROW"
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Label": "each",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": config,
                    "Parameters": {"Bucket": BUCKET, "Key": key},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Touch",
                    "States": {
                        "Touch": {
                            "Type": "Pass",
                            "Parameters": {"id.$": "$.id", "seen": True},
                            "End": True,
                        }
                    },
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": RESULTS, "Prefix": f"runs-{kind}"},
                },
                "End": True,
            }
        },
    }


INLINE = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Touch",
                "States": {
                    "Touch": {
                        "Type": "Pass",
                        "Parameters": {"id.$": "$.id", "seen": True},
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}


@contextmanager
def stepfn_server(db: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """``stepfn server`` in its own process; (URL, process id)."""
    command = [sys.executable, "-m", "stepfn", "server", "--db", str(db), "--port", "0"]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        if not line.startswith("stepfn server on "):
            raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
        yield line.split()[3], process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process, in KiB (Linux)."""
    found = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_distributed(moto_url: str, kind: str, key: str, count: int) -> dict[str, Any]:
    import boto3

    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL_S3": moto_url}
    with (
        tempfile.TemporaryDirectory() as tmp,
        stepfn_server(Path(tmp) / "b.db", env) as (
            url,
            pid,
        ),
    ):
        sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1")
        machine = sfn.create_state_machine(
            name=f"dmap-{kind}", definition=json.dumps(distributed_map(key, kind)), roleArn=ROLE
        )["stateMachineArn"]
        before = cpu_seconds(pid)
        started = time.perf_counter()
        execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        while True:
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - started
        memory = proc_status(pid)
        cpu = cpu_seconds(pid) - before
    if described["status"] != "SUCCEEDED":
        raise SystemExit(f"the {kind} run ended {described['status']}: {described.get('cause')}")
    details = json.loads(described["output"])["ResultWriterDetails"]
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    manifest = json.loads(
        s3.get_object(Bucket=details["Bucket"], Key=details["Key"])["Body"].read()
    )
    (written,) = manifest["ResultFiles"]["SUCCEEDED"]
    return {
        "seconds": seconds,
        "items_per_second": count / seconds,
        "peak_mib": memory["VmHWM"] / 1024,
        "cpu_seconds": cpu,
        "results_mib": written["Size"] / 2**20,
    }


PEER = """
import json, resource, sys, time
import stepfn
definition, path = json.loads(sys.argv[1]), sys.argv[2]
with open(path, encoding="utf-8") as f:
    given = json.load(f)
started = time.perf_counter()
ex = stepfn.run(definition, given, state_machine_type="EXPRESS")
seconds = time.perf_counter() - started
assert ex.status == "SUCCEEDED", ex.cause
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "peak_kib": usage.ru_maxrss,
                  "cpu": usage.ru_utime + usage.ru_stime, "count": len(ex.output)}))
"""


def run_peer(rows: list[dict[str, Any]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", PEER, json.dumps(INLINE), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    figures = json.loads(done.stdout)
    return {
        "seconds": figures["seconds"],
        "items_per_second": figures["count"] / figures["seconds"],
        "peak_mib": figures["peak_kib"] / 1024,
        "cpu_seconds": figures["cpu"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--formats", default="json,csv")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    rows = items(args.items)
    print(f"{args.items:,} items; load average {os.getloadavg()[0]:.1f}")
    with running_moto() as moto:
        import boto3

        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=RESULTS)
        s3.put_object(Bucket=BUCKET, Key="items.json", Body=json.dumps(rows).encode())
        s3.put_object(Bucket=BUCKET, Key="items.csv", Body=csv_text(rows).encode())
        results: dict[str, dict[str, Any]] = {}
        for kind in args.formats.split(","):
            results[f"distributed Map, S3 {kind.upper()}, stepfn server"] = run_distributed(
                moto.url, kind, f"items.{kind}", args.items
            )
    if not args.skip_peer:
        results["peer: inline Map, items as input, stepfn.run EXPRESS"] = run_peer(rows)
    print(f"{'run':<52} {'items/s':>9} {'seconds':>8} {'CPU s':>7} {'peak MiB':>9}")
    for name, figures in results.items():
        print(
            f"{name:<52} {figures['items_per_second']:>9,.0f} {figures['seconds']:>8.1f} "
            f"{figures['cpu_seconds']:>7.1f} {figures['peak_mib']:>9,.0f}"
        )
        if "results_mib" in figures:
            print(f"{'':<52} results file {figures['results_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
