"""PrepareShipment: print the order's shipping label and put its pick list on the warehouse queue.

Both are written in one transaction with the order's move to SHIPPING, and both are keyed
by the order id, so a retried or re-run step returns the label it made the first time.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

# The functions share the app's data layer, kept once beside them as a Lambda layer would be.
_APP = str(Path(__file__).resolve().parents[2])
if _APP not in sys.path:
    sys.path.insert(0, _APP)

from orders_app import db  # noqa: E402
from orders_app.errors import OrderNotFound  # noqa: E402

CARRIER = "Example Parcel Service"
WAREHOUSE = "WH-1"


def _label(row: Any, pick_list_id: str, replayed: bool) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "label_id": row["label_id"],
        "carrier": row["carrier"],
        "tracking_number": row["tracking_number"],
        "pick_list_id": pick_list_id,
        "warehouse": WAREHOUSE,
        "status": "SHIPPING",
        "replayed": replayed,
    }


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Create (or return) the label and pick list of ``event["order_id"]``."""
    order_id = event.get("order_id") if isinstance(event, dict) else None
    conn = db.connect()
    with db.transaction(conn):
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if order is None:
            raise OrderNotFound(f"No order {order_id!r} to ship: ValidateOrder records it first")
        label = conn.execute(
            "SELECT * FROM shipping_labels WHERE order_id = ?", (order_id,)
        ).fetchone()
        if label is not None:
            pick = conn.execute(
                "SELECT pick_list_id FROM warehouse_queue WHERE order_id = ?", (order_id,)
            ).fetchone()
            return _label(label, pick["pick_list_id"], replayed=True)
        stamp = db.now()
        label_id = f"LBL-{secrets.token_hex(6).upper()}"
        tracking = "EPS" + "".join(secrets.choice("0123456789") for _ in range(12))
        conn.execute(
            "INSERT INTO shipping_labels (label_id, order_id, carrier, tracking_number,"
            " shipping_address, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (label_id, order_id, CARRIER, tracking, order["shipping_address"], stamp),
        )
        lines = [
            {"item_id": line["item_id"], "name": line["name"], "quantity": line["quantity"]}
            for line in conn.execute(
                "SELECT i.item_id, c.name, i.quantity FROM order_items i"
                " JOIN catalogue c USING (item_id) WHERE i.order_id = ? ORDER BY i.line",
                (order_id,),
            )
        ]
        pick_list_id = f"PICK-{secrets.token_hex(6).upper()}"
        conn.execute(
            "INSERT INTO warehouse_queue (pick_list_id, order_id, label_id, lines_json, status,"
            " queued_at) VALUES (?, ?, ?, ?, 'QUEUED', ?)",
            (pick_list_id, order_id, label_id, json.dumps(lines), stamp),
        )
        # The goods now leave with the pick list: ReleaseStock must not hand them back.
        conn.execute(
            "UPDATE orders SET status = 'SHIPPING', stock_state = 'shipped', updated_at = ?"
            " WHERE order_id = ?",
            (stamp, order_id),
        )
        row = conn.execute("SELECT * FROM shipping_labels WHERE order_id = ?", (order_id,))
        return _label(row.fetchone(), pick_list_id, replayed=False)
