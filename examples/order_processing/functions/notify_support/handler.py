"""NotifySupport (a branch of HandleErrors): email the support team what failed and where.

The message names the execution ARN, the state that failed, the error and its cause, and
what the database says about the order now (charged? stock released?), so support can act
without opening the console. Sent as NotifyCustomer sends (SMTP, or the Maildir).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_APP = str(Path(__file__).resolve().parents[2])
if _APP not in sys.path:
    sys.path.insert(0, _APP)

from orders_app import db, mail  # noqa: E402
from orders_app.config import dollars, settings  # noqa: E402
from orders_app.failures import Failure  # noqa: E402


def order_facts(order_id: str | None) -> list[str]:
    """What the database knows of the order, one line per fact."""
    if order_id is None:
        return ["Order: not known (the input had no order id)"]
    conn = db.connect()
    with db.busy_as_error():
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        payment = conn.execute("SELECT * FROM payments WHERE order_id = ?", (order_id,)).fetchone()
    if order is None:
        return [f"Order {order_id}: not recorded (nothing reserved, nothing charged)"]
    facts = [
        f"Order {order_id}: status {order['status']}, stock {order['stock_state']}, "
        f"amount {dollars(order['amount_cents'])}, customer {order['email']}"
    ]
    if payment is not None:
        facts.append(
            f"Payment {payment['payment_id']}: {dollars(payment['amount_cents'])} charged "
            f"at {payment['charged_at']} (a refund may be due)"
        )
    else:
        facts.append("Payment: nothing charged")
    return facts


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Send the support email for the failure in ``event``."""
    failure = Failure.from_event(event)
    config = settings()
    body = "\n".join(
        [
            "An order failed and needs a person.",
            "",
            f"Execution: {failure.execution_arn or 'unknown'}",
            f"Failed state: {failure.state}",
            f"Error: {failure.error}",
            f"Cause: {failure.cause}",
            "",
            *order_facts(failure.order_id),
        ]
    )
    subject = f"[orders] {failure.error} in {failure.state}" + (
        f" for order {failure.order_id}" if failure.order_id else ""
    )
    delivery = mail.send(config, mail.compose(config, config.support_email, subject, body))
    return {
        "notified": config.support_email,
        "message_id": delivery.message_id,
        "delivered_via": delivery.via,
    }
