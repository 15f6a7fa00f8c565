"""LogError (a branch of HandleErrors): record the failure as a row and as a JSON line.

The row goes to the ``error_log`` table and the line to ``<data dir>/errors.jsonl``, with the
same facts (execution ARN, order id, failed state, error, cause, time). A retried step
logs once: the row is unique per execution, state and error, and the line is written only
when the row is new.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

_APP = str(Path(__file__).resolve().parents[2])
if _APP not in sys.path:
    sys.path.insert(0, _APP)

from orders_app import db  # noqa: E402
from orders_app.config import settings  # noqa: E402
from orders_app.failures import Failure  # noqa: E402


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Log the failure in ``event``; returns the row's id and the log file."""
    failure = Failure.from_event(event)
    config = settings()
    stamp = db.now()
    conn = db.connect()
    with db.transaction(conn):
        cursor = conn.execute(
            "INSERT OR IGNORE INTO error_log (execution_arn, order_id, state, error, cause,"
            " logged_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                failure.execution_arn,
                failure.order_id,
                failure.state,
                failure.error,
                failure.cause,
                stamp,
            ),
        )
        new = cursor.rowcount == 1
        error_id = cursor.lastrowid if new else None
        if not new:
            row = conn.execute(
                "SELECT error_id FROM error_log WHERE execution_arn IS ? AND state = ?"
                " AND error = ?",
                (failure.execution_arn, failure.state, failure.error),
            ).fetchone()
            error_id = row["error_id"]
        if new:
            # Appended before the commit: should the commit fail, the retried step writes
            # the line again, but a committed row never lacks its line.
            config.error_log.parent.mkdir(parents=True, exist_ok=True)
            line = {"error_id": error_id, **failure.as_dict(), "logged_at": stamp}
            with config.error_log.open("a", encoding="utf-8") as log:
                log.write(json.dumps(line, sort_keys=True) + "\n")
    return {"error_id": error_id, "log_file": str(config.error_log), "logged": new}
