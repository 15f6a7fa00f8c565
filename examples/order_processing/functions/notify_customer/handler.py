"""NotifyCustomer: email the customer a confirmation with the items, amount, address and tracking.

Over SMTP to ``SMTP_HOST``:``SMTP_PORT`` when set, else into the data directory's Maildir. A
server that is away raises ``MailServerUnavailable`` (the state machine retries it). The
message sent is recorded per order, so a retried step does not mail the customer twice.
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
from orders_app.errors import OrderNotFound  # noqa: E402

KIND = "confirmation"


def confirmation_body(order: Any, lines: list[Any], label: Any, payment: Any) -> str:
    """The confirmation's text: what was ordered, what was charged, where it goes, how to track."""
    rows = [
        f"  {line['quantity']} x {line['name']} ({line['item_id']}) at "
        f"{dollars(line['unit_price_cents'])} = "
        f"{dollars(line['unit_price_cents'] * line['quantity'])}"
        for line in lines
    ]
    charge = (
        f"Charged to the card ending {payment['card_last4']} (payment {payment['payment_id']})."
        if payment is not None
        else "Payment: not recorded."
    )
    return "\n".join(
        [
            "Thank you for your order!",
            "",
            f"Order: {order['order_id']}",
            "Items:",
            *rows,
            f"Total: {dollars(order['amount_cents'])} USD",
            charge,
            "",
            "Shipping to:",
            f"  {order['shipping_address']}",
            f"Carrier: {label['carrier']}",
            f"Tracking number: {label['tracking_number']}",
            "",
            "We will let you know when it is on its way.",
        ]
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Send (or find already sent) the confirmation of ``event["order_id"]``."""
    order_id = event.get("order_id") if isinstance(event, dict) else None
    config = settings()
    conn = db.connect()
    with db.busy_as_error():
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if order is None:
            raise OrderNotFound(f"No order {order_id!r} to confirm: ValidateOrder records it first")
        sent = conn.execute(
            "SELECT * FROM emails WHERE order_id = ? AND kind = ?", (order_id, KIND)
        ).fetchone()
        label = conn.execute(
            "SELECT * FROM shipping_labels WHERE order_id = ?", (order_id,)
        ).fetchone()
        if label is None:
            raise OrderNotFound(f"Order {order_id!r} has no shipping label: PrepareShipment first")
        lines = conn.execute(
            "SELECT i.item_id, c.name, i.quantity, i.unit_price_cents FROM order_items i"
            " JOIN catalogue c USING (item_id) WHERE i.order_id = ? ORDER BY i.line",
            (order_id,),
        ).fetchall()
        payment = conn.execute("SELECT * FROM payments WHERE order_id = ?", (order_id,)).fetchone()
    if sent is not None:
        message_id, via, replayed = sent["message_id"], sent["delivery"], True
    else:
        message = mail.compose(
            config,
            order["email"],
            f"Your order {order_id} is confirmed",
            confirmation_body(order, lines, label, payment),
        )
        delivery = mail.send(config, message)
        message_id, via, replayed = delivery.message_id, delivery.via, False
        with db.transaction(conn):
            conn.execute(
                "INSERT OR IGNORE INTO emails (order_id, kind, recipient, message_id, delivery,"
                " sent_at) VALUES (?, ?, ?, ?, ?, ?)",
                (order_id, KIND, order["email"], message_id, via, db.now()),
            )
    with db.transaction(conn):
        conn.execute(
            "UPDATE orders SET status = 'COMPLETED', updated_at = ? WHERE order_id = ?",
            (db.now(), order_id),
        )
    return {
        "order_id": order_id,
        "status": "COMPLETED",
        "email": order["email"],
        "message_id": message_id,
        "delivered_via": via,
        "replayed": replayed,
    }
