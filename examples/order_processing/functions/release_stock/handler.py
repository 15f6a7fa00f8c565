"""ReleaseStock: the compensation for an order that will not ship.

Runs on the error path after ProcessPayment or PrepareShipment fails: gives the order's
reserved stock back to the catalogue, cancels its pick list if the warehouse has not
started it, and marks the order CANCELLED. Idempotent: the order's ``stock_state`` moves to
``released`` once, so running it again gives nothing back twice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_APP = str(Path(__file__).resolve().parents[2])
if _APP not in sys.path:
    sys.path.insert(0, _APP)

from orders_app import db  # noqa: E402


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Release what ``event["order_id"]`` holds; an unknown order holds nothing."""
    order_id = event.get("order_id") if isinstance(event, dict) else None
    conn = db.connect()
    with db.transaction(conn):
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if order is None:
            return {"order_id": order_id, "released": [], "status": None}
        released: list[dict[str, Any]] = []
        if order["stock_state"] != "released":
            # A label printed by a PrepareShipment whose answer was lost is no reason to
            # keep the goods: the pick list is cancelled with the rest.
            conn.execute(
                "UPDATE warehouse_queue SET status = 'CANCELLED' WHERE order_id = ?"
                " AND status = 'QUEUED'",
                (order_id,),
            )
            for line in conn.execute(
                "SELECT item_id, quantity FROM order_items WHERE order_id = ? ORDER BY line",
                (order_id,),
            ).fetchall():
                conn.execute(
                    "UPDATE catalogue SET stock = stock + ? WHERE item_id = ?",
                    (line["quantity"], line["item_id"]),
                )
                released.append({"item_id": line["item_id"], "quantity": line["quantity"]})
            conn.execute(
                "UPDATE orders SET stock_state = 'released', status = 'CANCELLED', updated_at = ?"
                " WHERE order_id = ?",
                (db.now(), order_id),
            )
        return {"order_id": order_id, "released": released, "status": "CANCELLED"}
