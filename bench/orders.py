"""Orders per second through the Order Processing System, end to end, and where the time goes.

    python bench/orders.py [--orders 400] [--concurrency 32] [--pool-size N]

Starts ``stepfn server`` on a fresh SQLite store, a real SMTP server (aiosmtpd) on a free
port, deploys the application as ``examples/order_processing/main.py`` does (its seven
functions as Lambda functions: ValidateOrder and ProcessPayment in Node, the others in
Python worker processes) and then measures, each phase on its own:

1. **end to end**: ``--orders`` orders (the seed's example order, each with its own id)
   started with StartExecution from ``--concurrency`` client threads; orders/s from the
   first start to the last end, and p50/p99 of each execution's own duration (its
   ``stopDate - startDate``). Every order is checked: SUCCEEDED, charged once, one email
   received by the SMTP server.
2. **the functions alone**: the same four calls an order makes (ValidateOrder,
   ProcessPayment, PrepareShipment, NotifyCustomer, mail included) through Lambda's
   Invoke on the same server, from the same number of threads: the app's own cost per
   order with the server's Lambda runtimes, without the state machine.
3. **the engine alone**: a machine of the same shape (four Tasks, JSONata, Assign, Retry
   and Catch) whose Tasks call a Python function that returns at once: the engine's cost
   per order with the Lambda runtime's round trip but no application work.

Figures are printed, never asserted. The issue's target is at least 200 orders/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "order_processing"
ROLE = "arn:aws:iam::123456789012:role/OrderProcessingRole"


def load_main() -> Any:
    """``examples/order_processing/main.py`` as a module (deploy, server start, clients)."""
    spec = importlib.util.spec_from_file_location("order_processing_main", APP / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMTP_SERVER = """
import sys, time
from email import message_from_bytes
from aiosmtpd.controller import Controller

class Collect:
    async def handle_DATA(self, server, session, envelope):
        subject = message_from_bytes(envelope.original_content)["Subject"] or ""
        with open(sys.argv[2], "a", encoding="utf-8") as out:
            out.write(subject + "\\n")
        return "250 OK"

Controller(Collect(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
print("ready", flush=True)
sys.stdin.read()  # until the bench closes our stdin
"""


def start_smtp(subjects: Path) -> tuple[subprocess.Popen[str], int]:
    """A real SMTP server (aiosmtpd) in a process of its own, as a mail server is, writing
    each message's subject to ``subjects``; (process, port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-c", SMTP_SERVER, str(port), str(subjects)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        sys.exit("the SMTP server did not start")
    return process, port


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stats() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds) of every process, from /proc."""
    stats: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        # fields[1] is the parent's pid; fields[11] and fields[12] are utime and stime.
        stats[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICKS)
    return stats


def cpu_by_part(server: int, smtp: int) -> dict[str, float]:
    """CPU seconds used so far by the server, its Node and Python function workers, the
    SMTP server and this client (Linux's /proc; empty elsewhere)."""
    if not Path("/proc/self/stat").exists():
        return {}
    stats = _proc_stats()
    parts = {"server": 0.0, "node workers": 0.0, "python workers": 0.0, "smtp": 0.0}
    for pid, (parent, name, seconds) in stats.items():
        if pid == server:
            parts["server"] += seconds
        elif pid == smtp:
            parts["smtp"] += seconds
        elif parent == server:
            parts["node workers" if name == "node" else "python workers"] += seconds
    parts["client"] = stats[os.getpid()][2] if os.getpid() in stats else 0.0
    return parts


class CpuMeter:
    """CPU ms per order of each part over a phase: ``with meter.phase(): ...``, then
    ``meter.line(count)``."""

    def __init__(self, server: int, smtp: int) -> None:
        self.server, self.smtp = server, smtp
        self.spent: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._before = cpu_by_part(self.server, self.smtp)
        return self

    def __exit__(self, *exc: object) -> None:
        after = cpu_by_part(self.server, self.smtp)
        self.spent = {k: after[k] - self._before[k] for k in after}

    def line(self, count: int) -> str:
        """``  CPU ms per order: TOTAL (server ..., ...)``, or "" without /proc."""
        if not self.spent:
            return ""
        per = {k: 1000 * v / count for k, v in self.spent.items()}
        detail = ", ".join(f"{k} {v:.1f}" for k, v in per.items())
        return f"  CPU ms per order: {sum(per.values()):.1f} ({detail})"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def order(order_id: str) -> str:
    example = json.loads((APP / "orders" / "example.json").read_text(encoding="utf-8"))
    example["order_id"] = order_id
    return json.dumps(example)


def wait_all(sfn: Any, arns: list[str]) -> list[dict[str, Any]]:
    """DescribeExecution of each, once all have ended."""
    ended: dict[str, dict[str, Any]] = {}
    while len(ended) < len(arns):
        for arn in arns:
            if arn not in ended:
                described = sfn.describe_execution(executionArn=arn)
                if described["status"] == "RUNNING":
                    break
                ended[arn] = described
        else:
            continue
        time.sleep(0.05)
    return [ended[arn] for arn in arns]


def end_to_end(
    sfn: Any, machine: str, prefix: str, count: int, concurrency: int
) -> tuple[float, list[float], list[dict[str, Any]]]:
    """Start ``count`` orders from ``concurrency`` threads; (orders/s, durations, ended)."""
    ids = [f"{prefix}-{n:05d}" for n in range(count)]

    def start(order_id: str) -> str:
        arn: str = sfn.start_execution(
            stateMachineArn=machine, name=order_id, input=order(order_id)
        )["executionArn"]
        return arn

    began = time.time()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        arns = list(pool.map(start, ids))
    ended = wait_all(sfn, arns)
    last = max(e["stopDate"].timestamp() for e in ended)
    durations = [(e["stopDate"] - e["startDate"]).total_seconds() for e in ended]
    return count / (last - began), durations, ended


def functions_alone(
    lam: Any, prefix: str, count: int, concurrency: int
) -> tuple[float, dict[str, float]]:
    """The four calls of each order through Lambda Invoke; (orders/s, mean ms per function)."""
    spent: dict[str, list[float]] = {}
    lock = threading.Lock()

    def invoke(name: str, event: Any) -> Any:
        began = time.perf_counter()
        answer = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        took = time.perf_counter() - began
        payload = json.loads(answer["Payload"].read())
        if answer.get("FunctionError"):
            raise RuntimeError(f"{name}: {payload}")
        with lock:
            spent.setdefault(name, []).append(took)
        return payload

    def one(order_id: str) -> None:
        valid = invoke("validate_order", json.loads(order(order_id)))
        invoke(
            "process_payment",
            {
                "order_id": order_id,
                "amount_cents": valid["amount_cents"],
                "card_number": valid["payment"]["card_number"],
            },
        )
        invoke("prepare_shipment", {"order_id": order_id})
        invoke("notify_customer", {"order_id": order_id})

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, [f"{prefix}-{n:05d}" for n in range(count)]))
    rate = count / (time.perf_counter() - began)
    return rate, {name: 1000 * statistics.mean(v) for name, v in spent.items()}


def noop_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("noop.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def engine_machine(definition: dict[str, Any]) -> str:
    """The app's definition with every Lambda ARN replaced by the no-op function's."""
    text = json.dumps(definition)
    for name in ("validate_order", "process_payment", "prepare_shipment", "notify_customer"):
        text = text.replace(f':function:{name}"', ':function:noop"')
    machine = json.loads(text)
    # The no-op returns its input: give the later states what they read of ValidateOrder,
    # and end with an output that the no-op results have.
    machine["States"]["OrderCompleted"]["Output"] = {
        "order_id": "{% $order.order_id %}",
        "amount": "{% $order.amount %}",
    }
    machine["States"]["ValidateOrder"]["Arguments"] = (
        "{% $merge([$states.input, {'amount_cents': 10050, 'payment': {'card_number': "
        "'4242424242424242'}}]) %}"
    )
    return json.dumps(machine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--skip-parts", action="store_true", help="end to end only")
    args = parser.parse_args()

    sys.path.insert(0, str(APP))
    main_module = load_main()
    main_module.ensure_node_modules()
    with tempfile.TemporaryDirectory(prefix="stepfn-orders-bench-") as tmp:
        subjects = Path(tmp) / "subjects.txt"
        smtp, smtp_port = start_smtp(subjects)
        data = Path(tmp) / "orders-data"
        data.mkdir()
        process, url = main_module.start_server(Path(tmp))
        try:
            sfn, lam = main_module.clients(url)
            settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
            machine = main_module.deploy(sfn, lam, data, settings=settings)
            print(f"stepfn server {url}; SMTP on {smtp_port}; cores: {os.cpu_count()}")

            end_to_end(sfn, machine, "warm", args.warmup, args.concurrency)
            with CpuMeter(process.pid, smtp.pid) as cpu:
                rate, durations, ended = end_to_end(
                    sfn, machine, "order", args.orders, args.concurrency
                )
            failed = [e["name"] for e in ended if e["status"] != "SUCCEEDED"]
            received = subjects.read_text(encoding="utf-8").splitlines()
            confirmed = sum(s.startswith("Your order order-") for s in received)
            print(
                f"end to end: {args.orders} orders, {args.concurrency} clients: "
                f"{rate:.1f} orders/s; duration p50 {1000 * percentile(durations, 0.5):.0f} ms, "
                f"p99 {1000 * percentile(durations, 0.99):.0f} ms (target >= 200 orders/s)"
            )
            print(f"  checked: {len(failed)} not SUCCEEDED, {confirmed} confirmations received")
            print(cpu.line(args.orders))
            if args.skip_parts:
                return

            with CpuMeter(process.pid, smtp.pid) as cpu:
                rate_fn, per_function = functions_alone(
                    lam, "direct", args.orders, args.concurrency
                )
            detail = ", ".join(f"{k} {v:.0f} ms" for k, v in per_function.items())
            print(f"functions alone (Lambda Invoke, no state machine): {rate_fn:.1f} orders/s")
            print(f"  mean latency per call at {args.concurrency} clients: {detail}")
            print(cpu.line(args.orders))

            lam.create_function(
                FunctionName="noop",
                Runtime=main_module.PYTHON_RUNTIME,
                Handler="noop.handler",
                Role=ROLE,
                Code={"ZipFile": noop_zip()},
            )
            definition = json.loads(main_module.DEFINITION.read_text(encoding="utf-8"))
            engine = sfn.create_state_machine(
                name="EngineAlone", definition=engine_machine(definition), roleArn=ROLE
            )["stateMachineArn"]
            end_to_end(sfn, engine, "ewarm", args.warmup, args.concurrency)
            with CpuMeter(process.pid, smtp.pid) as cpu:
                rate_en, durations_en, ended_en = end_to_end(
                    sfn, engine, "engine", args.orders, args.concurrency
                )
            bad_ones = [e for e in ended_en if e["status"] != "SUCCEEDED"]
            bad = len(bad_ones)
            if bad_ones:
                print(f"  first failure: {bad_ones[0].get('error')}: {bad_ones[0].get('cause')}")
            print(
                f"engine alone (same shape, no-op Python tasks): {rate_en:.1f} orders/s; "
                f"p50 {1000 * percentile(durations_en, 0.5):.0f} ms, "
                f"p99 {1000 * percentile(durations_en, 0.99):.0f} ms ({bad} not SUCCEEDED)"
            )
            print(cpu.line(args.orders))
        finally:
            process.terminate()
            process.wait(timeout=60)
            assert smtp.stdin is not None
            smtp.stdin.close()
            smtp.wait(timeout=30)


if __name__ == "__main__":
    main()
