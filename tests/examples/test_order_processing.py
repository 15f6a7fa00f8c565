"""The Order Processing System (examples/order_processing): each function against a fresh
database, then the whole state machine under ``stepfn.run``.

Node functions run in real ``node`` processes (better-sqlite3 on the same database file the
Python functions use); mail goes to a real SMTP server (aiosmtpd) or to the Maildir.
"""

from __future__ import annotations

import copy
import json
import mailbox
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from order_support import (
    APP,
    NodeFunctionError,
    SmtpServer,
    all_functions,
    call,
    free_port,
    query,
)

import stepfn

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("node_modules")]

EXAMPLE_TEXT = (APP / "orders" / "example.json").read_text(encoding="utf-8")
DEFINITION = json.loads((APP / "statemachine.asl.json").read_text(encoding="utf-8"))


def example(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(EXAMPLE_TEXT)
    order.update(changes)
    return order


def stock(data_dir: Path, item_id: str) -> int:
    return int(query(data_dir, "SELECT stock FROM catalogue WHERE item_id = ?", item_id)[0][0])


def node_error(name: str, event: Any) -> NodeFunctionError:
    with pytest.raises(NodeFunctionError) as caught:
        call(name, event)
    return caught.value


def place(order: dict[str, Any]) -> dict[str, Any]:
    """ValidateOrder, then ProcessPayment with what ValidateOrder returned."""
    valid = call("validate_order", order)
    call(
        "process_payment",
        {
            "order_id": valid["order_id"],
            "amount_cents": valid["amount_cents"],
            "card_number": valid["payment"]["card_number"],
        },
    )
    return valid


# -- ValidateOrder (Node) ---------------------------------------------------------------


def test_the_example_order_validates_reserves_stock_and_is_recorded(data_dir: Path) -> None:
    result = call("validate_order", example())
    assert result["order_id"] == "12345"
    assert result["status"] == "VALIDATED"
    assert result["amount_cents"] == 10050
    assert [(i["item_id"], i["quantity"], i["unit_price"]) for i in result["items"]] == [
        ("item1", 2, 25),
        ("item2", 1, 50.5),
    ]
    assert stock(data_dir, "item1") == 100000 - 2
    assert stock(data_dir, "item2") == 100000 - 1
    [order] = query(data_dir, "SELECT * FROM orders")
    assert (order["order_id"], order["status"], order["stock_state"]) == (
        "12345",
        "VALIDATED",
        "reserved",
    )
    assert order["amount_cents"] == 10050

    # Validating the same order again (a retry, a re-run) reserves nothing more.
    call("validate_order", example())
    assert stock(data_dir, "item1") == 100000 - 2


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"items": [{"item_id": "item9", "quantity": 1}], "amount": 1.0},
            "unknown item item9 (not in the catalogue)",
        ),
        (
            {"items": [{"item_id": "item1", "quantity": 0}], "amount": 0},
            "items[0].quantity must be a positive whole number (got number 0)",
        ),
        (
            {"items": [{"item_id": "item1", "quantity": 1.5}]},
            "items[0].quantity must be a positive whole number (got number 1.5)",
        ),
        (
            {"items": [{"item_id": "item1", "quantity": "2"}]},
            'items[0].quantity must be a positive whole number (got the string "2")',
        ),
        (
            {"amount": 99.5},
            "amount 99.50 does not match the items' total 100.50 "
            "(2 x item1 at 25.00 + 1 x item2 at 50.50)",
        ),
        ({"amount": "100.50"}, "amount must be a non-negative number of dollars (got the string"),
        ({"email": "not-an-address"}, "email must be an email address"),
        ({"shipping_address": ""}, "shipping_address must be a non-empty string"),
        ({"order_id": 12345}, "order_id must be a non-empty string (got number 12345)"),
        ({"payment": {"card_number": "4242424242424241"}}, "must be a valid card number"),
    ],
)
def test_an_invalid_order_is_refused_with_a_reason_and_reserves_nothing(
    data_dir: Path, changes: dict[str, Any], expected: str
) -> None:
    error = node_error("validate_order", example(**changes))
    assert error.error_type == "OrderValidationError"
    assert expected in str(error)
    assert stock(data_dir, "item1") == 100000
    assert query(data_dir, "SELECT * FROM orders") == []


def test_every_field_problem_is_named_at_once(data_dir: Path) -> None:
    order = {"order_id": "o-1", "items": [{"item_id": "item1"}], "email": 7}
    message = str(node_error("validate_order", order))
    assert "items[0].quantity" in message
    assert "amount must be" in message
    assert "email must be an email address (got number 7)" in message
    assert "shipping_address must be a non-empty string (got nothing)" in message


def test_an_order_that_is_not_an_object_is_refused(data_dir: Path) -> None:
    error = node_error("validate_order", [1, 2])
    assert error.error_type == "OrderValidationError"
    assert "must be a JSON object (got an array)" in str(error)


def test_out_of_stock_is_its_own_error_and_reserves_no_line(data_dir: Path) -> None:
    items = [{"item_id": "item1", "quantity": 1}, {"item_id": "item3", "quantity": 1}]
    error = node_error("validate_order", example(order_id="o-2", items=items, amount=37.99))
    assert error.error_type == "OutOfStockError"
    assert "item3 (Sold-out gizmo): 1 requested, 0 in stock" in str(error)
    # item1 was available, but a partly filled order takes nothing.
    assert stock(data_dir, "item1") == 100000


def test_the_last_one_in_stock_goes_to_the_first_order(data_dir: Path) -> None:
    one = [{"item_id": "item4", "quantity": 1}]
    call("validate_order", example(order_id="first", items=one, amount=199))
    error = node_error("validate_order", example(order_id="second", items=one, amount=199))
    assert error.error_type == "OutOfStockError"
    assert stock(data_dir, "item4") == 0


def test_an_order_id_reused_for_another_order_is_refused(data_dir: Path) -> None:
    call("validate_order", example())
    error = node_error("validate_order", example(shipping_address="1 Other Rd"))
    assert error.error_type == "OrderValidationError"
    assert "already placed with different" in str(error)


# -- ProcessPayment (Node) --------------------------------------------------------------


def test_a_payment_is_charged_once_however_often_it_is_called(data_dir: Path) -> None:
    call("validate_order", example())
    request = {"order_id": "12345", "amount_cents": 10050, "card_number": "4242424242424242"}
    first = call("process_payment", request)
    second = call("process_payment", request)
    assert first["status"] == "CHARGED"
    assert first["amount"] == 100.5
    assert first["replayed"] is False
    assert second["replayed"] is True
    assert second["payment_id"] == first["payment_id"]
    rows = query(data_dir, "SELECT order_id, amount_cents, card_last4 FROM payments")
    assert [tuple(r) for r in rows] == [("12345", 10050, "4242")]
    assert query(data_dir, "SELECT status FROM orders")[0][0] == "PAID"


def test_a_declined_card_charges_nothing(data_dir: Path) -> None:
    call("validate_order", example())
    request = {"order_id": "12345", "amount_cents": 10050, "card_number": "4000000000000002"}
    error = node_error("process_payment", request)
    assert error.error_type == "PaymentDeclinedError"
    assert "declined (card ending 0002)" in str(error)
    assert query(data_dir, "SELECT * FROM payments") == []
    outcomes = query(data_dir, "SELECT outcome FROM payment_attempts")
    assert [r[0] for r in outcomes] == ["declined"]


def test_the_flaky_gateway_card_fails_twice_then_charges(data_dir: Path) -> None:
    call("validate_order", example())
    request = {"order_id": "12345", "amount_cents": 10050, "card_number": "4000000000000119"}
    for _ in range(2):
        assert node_error("process_payment", request).error_type == "PaymentGatewayUnavailable"
    assert call("process_payment", request)["status"] == "CHARGED"
    assert len(query(data_dir, "SELECT * FROM payments")) == 1


def test_a_payment_for_another_amount_than_the_order_is_refused(data_dir: Path) -> None:
    call("validate_order", example())
    error = node_error("process_payment", {"order_id": "12345", "amount_cents": 1})
    assert error.error_type == "PaymentConflictError"
    assert "is for 100.50, not 0.01" in str(error)


# -- PrepareShipment, NotifyCustomer, ReleaseStock (Python) -----------------------------


def test_a_label_and_a_pick_list_are_made_once(data_dir: Path) -> None:
    place(example())
    label = call("prepare_shipment", {"order_id": "12345"})
    assert label["carrier"] == "Example Parcel Service"
    assert label["tracking_number"].startswith("EPS")
    again = call("prepare_shipment", {"order_id": "12345"})
    assert again["label_id"] == label["label_id"]
    assert again["replayed"] is True
    [row] = query(data_dir, "SELECT * FROM shipping_labels")
    assert (row["label_id"], row["tracking_number"]) == (
        label["label_id"],
        label["tracking_number"],
    )
    [pick] = query(data_dir, "SELECT * FROM warehouse_queue")
    assert pick["status"] == "QUEUED"
    assert json.loads(pick["lines_json"]) == [
        {"item_id": "item1", "name": "Widget", "quantity": 2},
        {"item_id": "item2", "name": "Gadget", "quantity": 1},
    ]


def test_the_confirmation_reaches_a_real_smtp_server(data_dir: Path, smtp: SmtpServer) -> None:
    place(example())
    label = call("prepare_shipment", {"order_id": "12345"})
    sent = call("notify_customer", {"order_id": "12345"})
    assert sent["delivered_via"] == f"smtp://127.0.0.1:{smtp.port}"
    [message] = smtp.inbox.to("customer@example.com")
    assert message["Message-ID"] == sent["message_id"]
    assert message["Subject"] == "Your order 12345 is confirmed"
    body = message.get_payload(decode=True).decode()
    for fact in (
        "2 x Widget (item1) at 25.00 = 50.00",
        "1 x Gadget (item2) at 50.50 = 50.50",
        "Total: 100.50 USD",
        "123 Main St, Anytown, USA",
        f"Tracking number: {label['tracking_number']}",
    ):
        assert fact in body

    # A retried step does not mail the customer again.
    assert call("notify_customer", {"order_id": "12345"})["message_id"] == sent["message_id"]
    assert len(smtp.inbox.messages) == 1
    assert query(data_dir, "SELECT status FROM orders")[0][0] == "COMPLETED"


def test_without_a_server_the_confirmation_goes_to_the_maildir(data_dir: Path) -> None:
    place(example())
    call("prepare_shipment", {"order_id": "12345"})
    sent = call("notify_customer", {"order_id": "12345"})
    assert sent["delivered_via"].startswith("maildir:")
    box = mailbox.Maildir(data_dir / "maildir", create=False)
    [message] = list(box)
    assert message["Message-ID"] == sent["message_id"]
    assert message["To"] == "customer@example.com"


def test_a_mail_server_that_is_down_is_mail_server_unavailable(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(example())
    call("prepare_shipment", {"order_id": "12345"})
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    notify = all_functions()["notify_customer"]
    with pytest.raises(Exception, match=f"mail server 127.0.0.1:{port} is unavailable") as caught:
        notify({"order_id": "12345"}, None)
    assert type(caught.value).__name__ == "MailServerUnavailable"
    assert query(data_dir, "SELECT * FROM emails") == []


def test_a_kept_connection_is_reused_and_a_server_gone_since_is_unavailable(
    data_dir: Path, smtp: SmtpServer
) -> None:
    from orders_app import mail
    from orders_app.config import settings

    config = settings()

    def message(n: int) -> Any:
        return mail.compose(config, "customer@example.com", f"message {n}", "text")

    mail.send(config, message(1))
    mail.send(config, message(2))
    assert [m["Subject"] for m in smtp.inbox.messages] == ["message 1", "message 2"]
    # One connection for both: the same client address and port.
    assert smtp.inbox.peers[0] == smtp.inbox.peers[1]
    smtp.stop()
    with pytest.raises(Exception, match="is unavailable") as caught:
        mail.send(config, message(3))
    assert type(caught.value).__name__ == "MailServerUnavailable"


def test_release_stock_gives_back_once(data_dir: Path) -> None:
    place(example())
    first = call("release_stock", {"order_id": "12345"})
    assert first["released"] == [
        {"item_id": "item1", "quantity": 2},
        {"item_id": "item2", "quantity": 1},
    ]
    assert call("release_stock", {"order_id": "12345"})["released"] == []
    assert stock(data_dir, "item1") == 100000
    assert query(data_dir, "SELECT status, stock_state FROM orders")[0][:] == (
        "CANCELLED",
        "released",
    )
    # The customer may place the same order again, and it reserves again.
    call("validate_order", example())
    assert stock(data_dir, "item1") == 100000 - 2


# -- HandleErrors: NotifySupport and LogError (Python) ----------------------------------

FAILURE = {
    "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:orders:run-1",
    "order_id": "12345",
    "state": "ProcessPayment",
    "error": "PaymentDeclinedError",
    "cause": "Your card was declined.",
}


def test_support_is_emailed_the_failure(
    data_dir: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORT_EMAIL", "oncall@example.org")
    call("validate_order", example())
    sent = call("notify_support", FAILURE)
    assert sent["notified"] == "oncall@example.org"
    [message] = smtp.inbox.to("oncall@example.org")
    assert message["Subject"] == "[orders] PaymentDeclinedError in ProcessPayment for order 12345"
    body = message.get_payload(decode=True).decode()
    for value in FAILURE.values():
        assert value in body
    assert "Payment: nothing charged" in body


def test_the_error_is_logged_as_a_row_and_a_json_line_once(data_dir: Path) -> None:
    logged = call("log_error", FAILURE)
    assert logged["logged"] is True
    again = call("log_error", FAILURE)
    assert (again["logged"], again["error_id"]) == (False, logged["error_id"])
    [row] = query(data_dir, "SELECT * FROM error_log")
    assert {k: row[k] for k in FAILURE} == FAILURE
    lines = (data_dir / "errors.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert {k: line[k] for k in FAILURE} == FAILURE
    assert line["logged_at"] == row["logged_at"]


# -- The state machine ------------------------------------------------------------------


def test_the_definition_is_valid() -> None:
    assert stepfn.validate(DEFINITION) == []
    states = DEFINITION["States"]
    for name in ("ValidateOrder", "ProcessPayment", "PrepareShipment", "NotifyCustomer"):
        assert states[name]["Type"] == "Task"
        assert states[name]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    branches = [b["StartAt"] for b in states["HandleErrors"]["Branches"]]
    assert branches == ["NotifySupport", "LogError"]
    retried = {e for s in states.values() for r in s.get("Retry", []) for e in r["ErrorEquals"]}
    assert {"PaymentGatewayUnavailable", "MailServerUnavailable", "Lambda.ServiceException"} <= (
        retried
    )
    assert not {"PaymentDeclinedError", "OrderValidationError", "OutOfStockError"} & retried


def test_the_example_order_runs_to_completion(data_dir: Path, smtp: SmtpServer) -> None:
    execution = stepfn.run(DEFINITION, json.loads(EXAMPLE_TEXT), functions=all_functions())
    assert execution.status == "SUCCEEDED", execution.cause
    output = execution.output
    [label] = query(data_dir, "SELECT tracking_number FROM shipping_labels")
    [payment] = query(data_dir, "SELECT payment_id FROM payments")
    [message] = smtp.inbox.to("customer@example.com")
    assert output == {
        "order_id": "12345",
        "status": "COMPLETED",
        "amount": 100.5,
        "payment_id": payment["payment_id"],
        "tracking_number": label["tracking_number"],
        "email_message_id": message["Message-ID"],
    }
    assert query(data_dir, "SELECT * FROM error_log") == []

    # Running the same order again charges nothing more and sends no second email.
    again = stepfn.run(DEFINITION, json.loads(EXAMPLE_TEXT), functions=all_functions())
    assert again.output == output
    assert len(query(data_dir, "SELECT * FROM payments")) == 1
    assert len(smtp.inbox.messages) == 1


def test_a_declined_card_is_handled_and_fails_with_the_original_error(
    data_dir: Path, smtp: SmtpServer
) -> None:
    order = example(payment={"card_number": "4000 0000 0000 0002"})
    execution = stepfn.run(DEFINITION, order, functions=all_functions())
    assert execution.status == "FAILED"
    assert execution.error == "PaymentDeclinedError"
    cause = json.loads(execution.cause or "")
    assert cause["errorType"] == "PaymentDeclinedError"
    assert "was declined (card ending 0002)" in cause["errorMessage"]

    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in execution.history
        if e["type"].endswith("StateEntered")
    ]
    assert entered[:3] == ["ValidateOrder", "ProcessPayment", "ReleaseStock"]
    assert set(entered[3:]) == {"HandleErrors", "NotifySupport", "LogError", "OrderFailed"}
    # A declined card is not retried.
    scheduled = [e for e in execution.history if e["type"] == "LambdaFunctionScheduled"]
    assert (
        sum(
            "process_payment" in e["lambdaFunctionScheduledEventDetails"]["resource"]
            for e in scheduled
        )
        == 1
    )

    assert stock(data_dir, "item1") == 100000  # released
    assert query(data_dir, "SELECT * FROM payments") == []
    [support] = smtp.inbox.to("support@example.com")
    body = support.get_payload(decode=True).decode()
    assert execution.execution_arn in body
    assert "Failed state: ProcessPayment" in body
    [row] = query(data_dir, "SELECT * FROM error_log")
    assert (row["execution_arn"], row["state"], row["error"], row["cause"]) == (
        execution.execution_arn,
        "ProcessPayment",
        "PaymentDeclinedError",
        execution.cause,
    )


def test_an_invalid_order_fails_without_touching_stock(data_dir: Path) -> None:
    execution = stepfn.run(DEFINITION, example(amount=1), functions=all_functions())
    assert execution.error == "OrderValidationError"
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in execution.history
        if e["type"].endswith("StateEntered")
    ]
    assert "ReleaseStock" not in entered
    [row] = query(data_dir, "SELECT order_id, state FROM error_log")
    assert tuple(row) == ("12345", "ValidateOrder")
    # No SMTP server configured: support's email is in the Maildir.
    [support] = list(mailbox.Maildir(data_dir / "maildir", create=False))
    assert support["To"] == "support@example.com"


def test_a_flaky_gateway_is_retried_and_the_order_completes(data_dir: Path) -> None:
    order = example(payment={"card_number": "4000000000000119"})
    execution = stepfn.run(DEFINITION, order, functions=all_functions())
    assert execution.status == "SUCCEEDED", execution.cause
    outcomes = [r[0] for r in query(data_dir, "SELECT outcome FROM payment_attempts")]
    assert outcomes == ["gateway_unavailable", "gateway_unavailable", "charged"]


def test_a_mail_server_that_stays_down_is_handled(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    execution = stepfn.run(DEFINITION, copy.deepcopy(example()), functions=all_functions())
    assert execution.status == "FAILED"
    assert execution.error == "MailServerUnavailable"
    attempts = [e for e in execution.history if e["type"] == "LambdaFunctionFailed"]
    # NotifyCustomer: 1 + 4 retries; NotifySupport: 1 + 3 retries (support's mail is down too).
    assert len(attempts) == 5 + 4
    # The goods ship all the same: nothing is released, the payment stands.
    [order] = query(data_dir, "SELECT status, stock_state FROM orders")
    assert tuple(order) == ("SHIPPING", "shipped")
    assert len(query(data_dir, "SELECT * FROM payments")) == 1
    [row] = query(data_dir, "SELECT state, error FROM error_log")
    assert tuple(row) == ("NotifyCustomer", "MailServerUnavailable")


def test_concurrent_orders_for_the_last_item_reserve_it_once(data_dir: Path) -> None:
    one = [{"item_id": "item4", "quantity": 1}]

    def attempt(n: int) -> str:
        try:
            call("validate_order", example(order_id=f"race-{n}", items=one, amount=199))
        except NodeFunctionError as exc:
            return exc.error_type
        return "reserved"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(attempt, range(6)))
    assert outcomes == ["OutOfStockError"] * 5 + ["reserved"]
    assert stock(data_dir, "item4") == 0
    assert len(query(data_dir, "SELECT * FROM orders")) == 1


def test_a_mail_server_down_for_a_while_is_retried_then_delivered(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = SmtpServer()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(server.port))
    functions = all_functions()
    notify = functions["notify_customer"]
    failures: list[str] = []

    def notify_while_the_server_comes_back(event: Any, context: Any) -> Any:
        try:
            return notify(event, context)
        except Exception as exc:
            failures.append(type(exc).__name__)
            if len(failures) == 2:
                server.start()  # back after two refused attempts
            raise

    functions["notify_customer"] = notify_while_the_server_comes_back
    try:
        execution = stepfn.run(DEFINITION, example(), functions=functions)
        assert execution.status == "SUCCEEDED", execution.cause
        assert failures == ["MailServerUnavailable", "MailServerUnavailable"]
        [message] = server.inbox.to("customer@example.com")
        assert message["Message-ID"] == execution.output["email_message_id"]
    finally:
        if failures[1:]:
            server.stop()


def test_run_local_runs_the_example_order_and_shows_the_email(data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(APP / "run_local.py")],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SUCCEEDED: arn:aws:states:")
    assert '"order_id": "12345"' in done.stdout
    assert "Subject: Your order 12345 is confirmed" in done.stdout
    assert str(data_dir / "orders.sqlite3") in done.stdout
    [payment] = query(data_dir, "SELECT order_id FROM payments")
    assert payment[0] == "12345"
