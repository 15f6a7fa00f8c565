"""The Order Processing System end to end: a real ``stepfn server`` (the pytest plugin's
``stepfn_server_factory``), the app deployed and run over HTTP with boto3, its Node and
Python functions in their own processes, mail to a real SMTP server (aiosmtpd), and every
outcome checked in the app's own SQLite database: what was charged, shipped, released,
mailed and logged."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from order_server import Deployed, deploy_app, example, lambda_failures
from order_support import SmtpServer, free_port

from stepfn.testing.history import states_entered

pytestmark = [pytest.mark.acceptance, pytest.mark.usefixtures("node_modules")]

CUSTOMER, SUPPORT = "customer@example.com", "support@example.com"
STOCK = 100000  # of item1 and item2 in a fresh catalogue


@pytest.fixture
def smtp() -> Any:
    """A real SMTP server, running."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app(stepfn_server_factory: Any, tmp_path: Path, smtp: SmtpServer) -> Deployed:
    """The app on a fresh server (instant retries), mailing through ``smtp``."""
    return deploy_app(stepfn_server_factory(), tmp_path / "orders-data", smtp.port)


def body(message: Any) -> str:
    text: str = message.get_payload(decode=True).decode()
    return text


def assert_handled(
    app: Deployed, smtp: SmtpServer, done: dict[str, Any], state: str, error: str
) -> None:
    """The failure went through HandleErrors as designed: support was mailed the facts,
    the error logged once (a row and a JSON line), the execution failed with the
    original error and nothing was charged."""
    assert done["status"] == "FAILED"
    assert done["error"] == error
    entered = states_entered(app.history(done["executionArn"]))
    assert {"HandleErrors", "NotifySupport", "LogError"} <= set(entered)
    assert entered[-1] == "OrderFailed"
    [support] = smtp.inbox.to(SUPPORT)
    text = body(support)
    assert done["executionArn"] in text
    assert f"Failed state: {state}" in text
    assert error in text
    [row] = app.query("SELECT execution_arn, state, error, cause FROM error_log")
    assert tuple(row) == (done["executionArn"], state, error, done["cause"])
    logged = (app.data / "errors.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(logged) == 1 and done["executionArn"] in logged[0]
    assert smtp.inbox.to(CUSTOMER) == []


def test_the_example_order_is_charged_once_shipped_and_confirmed(
    app: Deployed, smtp: SmtpServer
) -> None:
    done = app.run(example())
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert states_entered(app.history(done["executionArn"])) == [
        "ValidateOrder",
        "ProcessPayment",
        "PrepareShipment",
        "NotifyCustomer",
        "OrderCompleted",
    ]

    output = json.loads(done["output"])
    [payment] = app.query("SELECT payment_id, order_id, amount_cents FROM payments")
    assert tuple(payment) == (output["payment_id"], "12345", 10050)
    [label] = app.query("SELECT order_id, carrier, tracking_number FROM shipping_labels")
    assert label["tracking_number"] == output["tracking_number"]
    [pick] = app.query("SELECT order_id, status FROM warehouse_queue")
    assert tuple(pick) == ("12345", "QUEUED")
    [order] = app.query("SELECT status, stock_state FROM orders")
    assert tuple(order) == ("COMPLETED", "shipped")
    assert (app.stock("item1"), app.stock("item2")) == (STOCK - 2, STOCK - 1)

    [message] = smtp.inbox.to(CUSTOMER)
    assert message["Message-ID"] == output["email_message_id"]
    text = body(message)
    for fact in (output["tracking_number"], "100.50", "123 Main St, Anytown, USA", "item1"):
        assert fact in text
    assert app.query("SELECT * FROM error_log") == []

    # The same order again (a client's retry): the same result, nothing charged or mailed.
    again = app.run(example())
    assert json.loads(again["output"]) == output
    assert len(app.query("SELECT * FROM payments")) == 1
    assert len(smtp.inbox.to(CUSTOMER)) == 1
    assert (app.stock("item1"), app.stock("item2")) == (STOCK - 2, STOCK - 1)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"items": [{"item_id": "item9", "quantity": 1}], "amount": 1.0},
            "unknown item item9",
        ),
        (
            {"items": [{"item_id": "item1", "quantity": -2}, {"item_id": "item2", "quantity": 1}]},
            "items[0].quantity must be a positive whole number",
        ),
        ({"amount": 99.5}, "amount 99.50 does not match the items' total 100.50"),
    ],
    ids=["unknown-item", "bad-quantity", "mismatched-amount"],
)
def test_an_invalid_order_is_handled_and_reserves_nothing(
    app: Deployed, smtp: SmtpServer, changes: dict[str, Any], reason: str
) -> None:
    done = app.run(example(**changes))
    assert_handled(app, smtp, done, "ValidateOrder", "OrderValidationError")
    assert reason in done["cause"]
    # ValidateOrder reserves only a valid order: there is nothing to release.
    assert "ReleaseStock" not in states_entered(app.history(done["executionArn"]))
    assert (app.stock("item1"), app.stock("item2")) == (STOCK, STOCK)
    assert app.query("SELECT * FROM orders") == []
    assert app.query("SELECT * FROM payments") == []


def test_a_declined_card_is_not_retried_and_its_stock_is_released(
    app: Deployed, smtp: SmtpServer
) -> None:
    done = app.run(example(payment={"card_number": "4000000000000002"}))
    assert_handled(app, smtp, done, "ProcessPayment", "PaymentDeclinedError")
    assert "declined" in done["cause"]
    history = app.history(done["executionArn"])
    assert states_entered(history)[:3] == ["ValidateOrder", "ProcessPayment", "ReleaseStock"]
    assert len(lambda_failures(history, "process_payment")) == 1  # not retried
    outcomes = [r[0] for r in app.query("SELECT outcome FROM payment_attempts")]
    assert outcomes == ["declined"]
    assert app.query("SELECT * FROM payments") == []
    [order] = app.query("SELECT status, stock_state FROM orders")
    assert tuple(order) == ("CANCELLED", "released")
    assert (app.stock("item1"), app.stock("item2")) == (STOCK, STOCK)


def test_a_flaky_gateway_is_retried_and_charged_once(app: Deployed, smtp: SmtpServer) -> None:
    done = app.run(example(payment={"card_number": "4000000000000119"}))
    assert done["status"] == "SUCCEEDED", done.get("cause")
    history = app.history(done["executionArn"])
    failures = lambda_failures(history, "process_payment")
    assert [f["error"] for f in failures] == ["PaymentGatewayUnavailable"] * 2
    outcomes = [r[0] for r in app.query("SELECT outcome FROM payment_attempts")]
    assert outcomes == ["gateway_unavailable", "gateway_unavailable", "charged"]
    assert len(app.query("SELECT * FROM payments")) == 1
    assert len(smtp.inbox.to(CUSTOMER)) == 1


def wait_for_failures(app: Deployed, execution_arn: str, function: str, count: int) -> None:
    """Until ``function`` has failed ``count`` times in the execution's history."""
    deadline = time.monotonic() + 60
    while len(lambda_failures(app.history(execution_arn), function)) < count:
        assert time.monotonic() < deadline, f"{function} did not fail {count} times"
        time.sleep(0.05)


def test_a_mail_server_down_for_a_while_is_retried_then_delivered(
    stepfn_server_factory: Any, tmp_path: Path
) -> None:
    # A virtual clock: the retry waits until the test moves time on, with the server back.
    server = stepfn_server_factory(clock="virtual")
    smtp = SmtpServer()  # its port chosen, nothing listening yet
    app = deploy_app(server, tmp_path / "orders-data", smtp.port)
    execution = app.start(example())
    wait_for_failures(app, execution, "notify_customer", 1)
    smtp.start()
    try:
        server.advance(1)  # NotifyCustomer's first retry is due after 1 s
        done = app.wait(execution)
    finally:
        smtp.stop()
    assert done["status"] == "SUCCEEDED", done.get("cause")
    history = app.history(execution)
    assert [f["error"] for f in lambda_failures(history, "notify_customer")] == [
        "MailServerUnavailable"
    ]

    [message] = smtp.inbox.to(CUSTOMER)
    assert message["Message-ID"] == json.loads(done["output"])["email_message_id"]
    assert len(app.query("SELECT * FROM payments")) == 1
    assert len(app.query("SELECT * FROM emails")) == 1
    assert app.query("SELECT * FROM error_log") == []


def test_a_mail_server_that_stays_down_is_handled(
    stepfn_server_factory: Any, tmp_path: Path
) -> None:
    app = deploy_app(stepfn_server_factory(), tmp_path / "orders-data", free_port())
    done = app.run(example())
    assert done["status"] == "FAILED"
    assert done["error"] == "MailServerUnavailable"
    history = app.history(done["executionArn"])
    # NotifyCustomer: 1 + 4 retries; support's mail goes through the same server, down
    # too: NotifySupport's 1 + 3, then its branch ends in SupportUnreachable.
    assert len(lambda_failures(history, "notify_customer")) == 5
    assert len(lambda_failures(history, "notify_support")) == 4
    entered = states_entered(history)
    assert {"HandleErrors", "SupportUnreachable", "LogError"} <= set(entered)
    assert entered[-1] == "OrderFailed"
    [row] = app.query("SELECT execution_arn, state, error FROM error_log")
    assert tuple(row) == (done["executionArn"], "NotifyCustomer", "MailServerUnavailable")
    # Paid and shipped, as designed: the goods go out, support resends the mail.
    [order] = app.query("SELECT status, stock_state FROM orders")
    assert tuple(order) == ("SHIPPING", "shipped")
    assert len(app.query("SELECT * FROM payments")) == 1
    assert app.query("SELECT * FROM emails") == []
