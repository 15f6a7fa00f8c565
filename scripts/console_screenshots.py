"""Screenshots of the console's execution page (a succeeded and a failed execution) for
the docs: ``docs/console-succeeded.png`` and ``docs/console-failed.png``.

Runs an Engine on a temporary store, serves the console with uvicorn on a free port and
takes the pictures with Debian's chromium through Playwright. Usage:

    python scripts/console_screenshots.py [OUTPUT_DIR]
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import uvicorn
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette

from stepfn.console.app import console_routes
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/orders"
ORDER = {
    "Comment": "Checks an order, reserves its items and charges the customer",
    "StartAt": "Validate order",
    "States": {
        "Validate order": {
            "Type": "Pass",
            "Assign": {"orderId.$": "$.orderId"},
            "Next": "In stock?",
        },
        "In stock?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.inStock", "BooleanEquals": True, "Next": "Fulfil"}],
            "Default": "Back-order",
        },
        "Fulfil": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Reserve items",
                    "States": {
                        "Reserve items": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "StartAt": "Reserve one",
                                "States": {"Reserve one": {"Type": "Pass", "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Charge card",
                    "States": {
                        "Charge card": {
                            "Type": "Choice",
                            "Choices": [
                                {
                                    "Variable": "$.card",
                                    "StringEquals": "expired",
                                    "Next": "Declined",
                                }
                            ],
                            "Default": "Charged",
                        },
                        "Charged": {"Type": "Pass", "End": True},
                        "Declined": {
                            "Type": "Fail",
                            "Error": "Payment.Declined",
                            "Cause": "The card on file expired in 2025-11",
                        },
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["Stock.Unavailable"], "Next": "Back-order"}],
            "Next": "Confirm",
        },
        "Back-order": {"Type": "Pass", "Next": "Confirm"},
        "Confirm": {"Type": "Succeed"},
    },
}
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def finish(engine: Engine, machine: str, value: dict[str, object]) -> str:
    arn = engine.start_execution(stateMachineArn=machine, input=json.dumps(value))["executionArn"]
    while engine.describe_execution(executionArn=arn)["status"] == "RUNNING":
        time.sleep(0.05)
    return str(arn)


def main(out: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed: run scripts/ensure_chromium.sh")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        engine = Engine.open(str(Path(work) / "stepfn.db"))
        machine = engine.create_state_machine(
            name="order-processing", definition=json.dumps(ORDER), roleArn=ROLE
        )["stateMachineArn"]
        items = [{"sku": "tea-01", "qty": 2}, {"sku": "mug-07", "qty": 1}]
        good = finish(
            engine, machine, {"orderId": "A-1001", "inStock": True, "card": "ok", "items": items}
        )
        bad = finish(
            engine,
            machine,
            {"orderId": "A-1002", "inStock": True, "card": "expired", "items": items},
        )
        app = Starlette(routes=console_routes(engine, token=secrets.token_urlsafe(16)))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1700})
                for name, arn in (("succeeded", good), ("failed", bad)):
                    page.goto(f"http://127.0.0.1:{port}/console/executions/{quote(arn, safe=':/')}")
                    page.wait_for_selector("#graph[data-drawn=true]")
                    target = out / f"console-{name}.png"
                    page.screenshot(path=str(target), full_page=False)
                    print(f"wrote {target}")
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs")
