"""Execution status-change events, shaped as EventBridge's "Step Functions Execution
Status Change" events, delivered to a webhook URL or appended to a JSON-lines file.

AWS sends one such event to the account's default event bus each time an execution of
a Standard state machine changes status (RUNNING, then SUCCEEDED, FAILED, TIMED_OUT or
ABORTED). Tests that wait for an execution to end can watch for them instead of
polling DescribeExecution::

    {"version": "0", "id": "...", "detail-type": "Step Functions Execution Status Change",
     "source": "aws.states", "account": "123456789012", "time": "2024-01-01T00:00:00Z",
     "region": "us-east-1", "resources": ["arn:aws:states:...:execution:m:e"],
     "detail": {"executionArn": "...", "stateMachineArn": "...", "name": "e",
                "status": "SUCCEEDED", "startDate": 1704067200000,
                "stopDate": 1704067201000, "input": "{}", "output": "{}",
                "inputDetails": {"included": true}, "outputDetails": {"included": true},
                "error": null, "cause": null, "redriveCount": 0}}

The engine calls ``StatusEvents.changed`` after it committed a change. Delivery happens
on a thread of its own, so a slow webhook never holds an execution up; a webhook that
fails is logged and skipped (EventBridge itself delivers at least once, best effort).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DETAIL_TYPE = "Step Functions Execution Status Change"
WEBHOOK_TIMEOUT = 5.0  # seconds per POST

log = logging.getLogger("stepfn.status_events")


def status_event(record: Any, time: float) -> dict[str, Any]:
    """The EventBridge event of an execution now in ``record.status`` (an
    ``ExecutionRecord``: its ARN, machine, name, dates, input, output, error, cause)."""
    parts = record.arn.split(":")
    region = parts[3] if len(parts) > 3 else "us-east-1"
    account = parts[4] if len(parts) > 4 else "123456789012"
    ended = record.status != "RUNNING"
    output = record.output if record.status == "SUCCEEDED" else None
    detail = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": _millis(record.start_date),
        "stopDate": _millis(record.stop_date) if ended and record.stop_date else None,
        "input": record.input,
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": record.error if ended else None,
        "cause": record.cause if ended else None,
        "redriveCount": getattr(record, "redrive_count", 0) or 0,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": account,
        "time": datetime.fromtimestamp(time, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [record.arn],
        "detail": detail,
    }


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


class StatusEvents:
    """Delivers status-change events to ``target``: an ``http(s)://`` URL (each event
    POSTed as JSON) or a file path (one JSON object a line, appended)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.webhook = target.startswith(("http://", "https://"))
        if not self.webhook:
            path = Path(target)
            if not path.parent.is_dir():
                raise ValueError(f"status events: no directory {str(path.parent)!r}")
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._deliver, daemon=True, name="stepfn-status")
        self._thread.start()

    def changed(self, record: Any, time: float) -> None:
        """An execution's status change was committed: send its event (not waiting)."""
        with self._idle:
            self._pending += 1
        self._queue.put(status_event(record, time))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event handed over so far was delivered (or given up)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Deliver what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=WEBHOOK_TIMEOUT * 2)

    def _deliver(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self._send(event)
            except Exception as exc:  # a bad target must not stop the delivery thread
                log.warning(
                    "status event for %s not delivered to %s: %s",
                    event["resources"][0],
                    self.target,
                    exc,
                )
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _send(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        if not self.webhook:
            with open(self.target, "a", encoding="utf-8") as out:
                out.write(body + "\n")
            return
        request = urllib.request.Request(
            self.target,
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read()
