"""The Order Processing System on a stepfn server: the README's main job.

    python examples/order_processing/main.py [ORDER.json] [--data DIR] [--keep-serving]

1. starts ``stepfn server`` on a SQLite store in the data directory (a free port);
2. deploys the application through the server's own AWS APIs, with boto3 as any AWS
   client would: its seven functions as Lambda functions (CreateFunction with a zip of the
   application: the Node ones run in ``node``, the Python ones in Python worker
   processes), and its state machine (CreateStateMachine); a second run updates them;
3. runs the order (by default ``orders/example.json``, the seed's example input byte for
   byte) with StartExecution and waits for it to end;
4. prints the execution's result, the email that was sent (with no SMTP server set, it is
   delivered to a Maildir in the data directory) and where to look next.

Set ``SMTP_HOST``/``SMTP_PORT`` to send mail to a real server; ``ORDERS_DATA_DIR`` (or
``--data``) chooses where the data go. Exits with status 1 when the order did not succeed.
"""

from __future__ import annotations

import argparse
import email.utils
import io
import json
import mailbox
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

APP = Path(__file__).resolve().parent
DEFINITION = APP / "statemachine.asl.json"
EXAMPLE = APP / "orders" / "example.json"
ROLE = "arn:aws:iam::123456789012:role/OrderProcessingRole"
NODE_RUNTIME = "nodejs20.x"
PYTHON_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
# Function name -> (runtime, handler inside the application's zip).
FUNCTIONS = {
    "validate_order": (NODE_RUNTIME, "functions/validate_order/index.handler"),
    "process_payment": (NODE_RUNTIME, "functions/process_payment/index.handler"),
    "prepare_shipment": (PYTHON_RUNTIME, "functions.prepare_shipment.handler.handler"),
    "notify_customer": (PYTHON_RUNTIME, "functions.notify_customer.handler.handler"),
    "notify_support": (PYTHON_RUNTIME, "functions.notify_support.handler.handler"),
    "log_error": (PYTHON_RUNTIME, "functions.log_error.handler.handler"),
    "release_stock": (PYTHON_RUNTIME, "functions.release_stock.handler.handler"),
}
# What the zip leaves out: data, caches, and the seed's own Terraform example.
SKIPPED = {".orders-data", "__pycache__", "seed", "orders", ".git"}


def application_zip() -> bytes:
    """The application as one zip, as a Lambda deployment package bundles its layer: the
    functions, their shared code (``orders_app``, ``functions/lib``) and the Node
    dependencies. Every function is created from it; the server unpacks it once."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(APP.rglob("*")):
            relative = path.relative_to(APP)
            if path.is_dir() or SKIPPED & set(relative.parts) or path.suffix == ".pyc":
                continue
            if not runtime_file(relative):
                continue
            archive.write(path, relative.as_posix())
    return buffer.getvalue()


def runtime_file(relative: Path) -> bool:
    """Whether a Node dependency's file is needed at run time: better-sqlite3's C sources
    and build intermediates (most of its 28 MB) are not, its compiled addon is."""
    parts = relative.parts
    if "better-sqlite3" not in parts:
        return True
    inner = parts[parts.index("better-sqlite3") + 1 :]
    if inner[:1] in (("deps",), ("src",)):
        return False
    if inner[:1] == ("build",):
        return relative.suffix == ".node" and "Release" in inner
    return True


def ensure_node_modules() -> None:
    """The Node functions' dependencies (better-sqlite3), installed once with npm."""
    sys.path.insert(0, str(APP))
    from run_local import ensure_node_modules as install

    install()


def start_server(data: Path) -> tuple[subprocess.Popen[str], str]:
    """``stepfn server`` on the data directory's store and a free port; (process, URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stepfn", "server", "--db", str(data / "stepfn.db"), "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    if not line.startswith("stepfn server on "):
        process.kill()
        raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
    return process, line.split()[3]


def clients(url: str) -> tuple[Any, Any]:
    """boto3 Step Functions and Lambda clients for the server."""
    options: dict[str, Any] = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "orders",
        "aws_secret_access_key": "orders",
        "config": Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    }
    return boto3.client("stepfunctions", **options), boto3.client("lambda", **options)


SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SUPPORT_EMAIL", "ORDERS_MAIL_FROM")


def deploy(
    sfn: Any,
    lam: Any,
    data: Path,
    settings: dict[str, str] | None = None,
    code: bytes | None = None,
) -> str:
    """Create (or update) the functions and the state machine; the machine's ARN.

    ``settings`` are the functions' environment beside ``ORDERS_DATA_DIR`` (by default
    the ``SMTP_*``, ``SUPPORT_EMAIL`` and ``ORDERS_MAIL_FROM`` of this process); ``code``
    the application's zip (built when not given)."""
    code = application_zip() if code is None else code
    if settings is None:
        settings = {name: os.environ[name] for name in SETTINGS if os.environ.get(name)}
    environment = {"Variables": {"ORDERS_DATA_DIR": str(data), **settings}}
    existing = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    for name, (runtime, handler) in FUNCTIONS.items():
        settings = {"Runtime": runtime, "Handler": handler, "Environment": environment}
        if name in existing:
            lam.update_function_code(FunctionName=name, ZipFile=code)
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
            lam.update_function_configuration(FunctionName=name, Timeout=30, **settings)
        else:
            lam.create_function(
                FunctionName=name, Role=ROLE, Code={"ZipFile": code}, Timeout=30, **settings
            )
    definition = DEFINITION.read_text(encoding="utf-8")
    machines = sfn.list_state_machines()["stateMachines"]
    found = [m["stateMachineArn"] for m in machines if m["name"] == "OrderProcessing"]
    if found:
        sfn.update_state_machine(stateMachineArn=found[0], definition=definition)
        return found[0]
    created = sfn.create_state_machine(name="OrderProcessing", definition=definition, roleArn=ROLE)
    arn: str = created["stateMachineArn"]
    return arn


def run_order(sfn: Any, machine: str, order_text: str) -> dict[str, Any]:
    """Start an execution on the order and wait until it ends."""
    execution = sfn.start_execution(stateMachineArn=machine, input=order_text)["executionArn"]
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)


def last_email(data: Path) -> str | None:
    """The newest message of the Maildir, as text (None with SMTP or no mail)."""
    folder = data / "maildir"
    if not folder.is_dir():
        return None
    messages = list(mailbox.Maildir(folder, create=False))
    if not messages:
        return None
    # The newest by its Date header (the Maildir keeps no order).
    message = max(messages, key=lambda m: email.utils.parsedate_to_datetime(m["Date"]))
    body = message.get_payload(decode=True)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(message)
    head = "\n".join(f"{k}: {message[k]}" for k in ("From", "To", "Subject") if message[k])
    return f"{head}\n\n{text.strip()}"


def main() -> int:
    """Deploy and run the order; the exit status says whether it succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("order", nargs="?", type=Path, default=EXAMPLE)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("ORDERS_DATA_DIR") or APP / ".orders-data")
    )
    parser.add_argument("--keep-serving", action="store_true", help="leave the server running")
    args = parser.parse_args()
    data: Path = args.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    order_text = args.order.read_text(encoding="utf-8")
    ensure_node_modules()
    process, url = start_server(data)
    try:
        sfn, lam = clients(url)
        machine = deploy(sfn, lam, data)
        print(f"stepfn server on {url}: deployed OrderProcessing and its 7 functions")
        print(f"running the order in {args.order}")
        ended = run_order(sfn, machine, order_text)
        print(f"\nexecution {ended['executionArn']}\nstatus: {ended['status']}")
        if ended["status"] == "SUCCEEDED":
            print("result: " + json.dumps(json.loads(ended["output"]), indent=2))
        else:
            print(f"error: {ended.get('error')}\ncause: {ended.get('cause')}")
        sent = last_email(data)
        if sent is not None:
            print("\nthe email that was sent (from the Maildir):\n" + sent)
        elif os.environ.get("SMTP_HOST"):
            print(f"\nthe email went to the SMTP server at {os.environ['SMTP_HOST']}")
        print(
            f"\nwhere to look next:\n  the console:     {url}/console/\n"
            f"  the data:        {data} (orders.sqlite3, maildir/, errors.jsonl)\n"
            f"  the history:     aws stepfunctions get-execution-history --endpoint-url {url} "
            f"--execution-arn {ended['executionArn']}"
        )
        if args.keep_serving:
            print("\nserving until Ctrl-C")
            process.wait()
        return 0 if ended["status"] == "SUCCEEDED" else 1
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
