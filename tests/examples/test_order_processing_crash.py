"""A server killed with SIGKILL in the middle of 200 orders, and started again on the same
store: every order completes, and the ledger holds each payment once (a task may run again
after the crash, as on AWS: the payment's idempotency key makes that harmless)."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from order_server import deploy_app, example
from order_support import SmtpServer

from stepfn.testing.pytest_plugin import StepfnServer

pytestmark = [pytest.mark.acceptance, pytest.mark.usefixtures("node_modules")]

ORDERS = 200
KILL_AFTER = 20  # orders confirmed before the kill


def test_a_server_killed_mid_run_loses_no_order_and_charges_each_once(
    stepfn_server_factory: Any, tmp_path: Path
) -> None:
    smtp = SmtpServer()
    smtp.start()
    first: StepfnServer = stepfn_server_factory()
    app = deploy_app(first, tmp_path / "orders-data", smtp.port)
    ids = [f"crash-{n:03d}" for n in range(ORDERS)]

    def start(order_id: str) -> str:
        return app.start(example(order_id=order_id), name=order_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        executions = list(pool.map(start, ids))
    deadline = time.monotonic() + 120
    while len(app.query("SELECT order_id FROM emails")) < KILL_AFTER:
        assert time.monotonic() < deadline, "no order was confirmed"
        time.sleep(0.02)
    first.process.kill()  # SIGKILL: no drain, no goodbye
    first.process.wait(timeout=30)
    confirmed_at_kill = len(app.query("SELECT order_id FROM emails"))
    assert confirmed_at_kill < ORDERS, "every order ended before the kill: nothing was tested"

    again = StepfnServer(first.directory)  # the same store, a new process and port
    try:
        app.server = again
        ended = [app.wait(arn, timeout=300) for arn in executions]
        failed = [
            (e["name"], e.get("error"), e.get("cause"), _timeline(app, e["executionArn"]))
            for e in ended
            if e["status"] != "SUCCEEDED"
        ]
    finally:
        again.stop()
        smtp.stop()

    statuses = Counter(e["status"] for e in ended)
    assert statuses == {"SUCCEEDED": ORDERS}, failed
    outputs = {json.loads(e["output"])["order_id"] for e in ended}
    assert outputs == set(ids)
    # The ledger: one payment per order, of the order's amount; a charge made again after
    # the crash was a replay of the first.
    payments = app.query("SELECT order_id, amount_cents FROM payments")
    assert sorted(p["order_id"] for p in payments) == ids
    assert {p["amount_cents"] for p in payments} == {10050}
    charged = Counter(
        r["order_id"]
        for r in app.query("SELECT order_id FROM payment_attempts WHERE outcome = 'charged'")
    )
    assert charged == dict.fromkeys(ids, 1)
    # Each order shipped and confirmed once in the app's records.
    assert len(app.query("SELECT DISTINCT order_id FROM shipping_labels")) == ORDERS
    assert len(app.query("SELECT * FROM shipping_labels")) == ORDERS
    assert len(app.query("SELECT * FROM emails")) == ORDERS
    # At least once to the customer (a crash between sending and recording sends again).
    subjects = {m["Subject"] for m in smtp.inbox.to("customer@example.com")}
    assert subjects == {f"Your order {order_id} is confirmed" for order_id in ids}
    assert app.query("SELECT * FROM error_log") == []


def _timeline(app: Any, execution_arn: str) -> list[tuple[str, str, str]]:
    """What a failed order went through, for the assertion's message: each event's
    time, type and state."""
    return [
        (
            e["timestamp"].strftime("%H:%M:%S.%f"),
            e["type"],
            (e.get("stateEnteredEventDetails") or {}).get("name", ""),
        )
        for e in app.history(execution_arn)
    ]
