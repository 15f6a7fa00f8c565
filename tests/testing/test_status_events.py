"""Execution status-change events: EventBridge's shape, to a JSON-lines file or a webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.service.engine import Engine
from stepfn.testing.status_events import DETAIL_TYPE, StatusEvents

ROLE = "arn:aws:iam::123456789012:role/test"
WAITS = json.dumps(
    {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": 60, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Broken",
            },
            "Done": {"Type": "Succeed"},
            "Broken": {"Type": "Fail", "Error": "Broken", "Cause": "not ok"},
        },
    }
)


def run_two(events: StatusEvents) -> tuple[str, str]:
    with Engine.open("memory://", clock=VirtualClock(), status_events=events) as engine:
        sm = engine.create_state_machine(name="m", definition=WAITS, roleArn=ROLE)
        good = engine.start_execution(
            stateMachineArn=sm["stateMachineArn"], name="good", input='{"ok": true}'
        )["executionArn"]
        bad = engine.start_execution(
            stateMachineArn=sm["stateMachineArn"], name="bad", input='{"ok": false}'
        )["executionArn"]
        engine.run_until_idle()
        assert events.flush(10)
    return good, bad


def test_status_changes_are_appended_as_eventbridge_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good, bad = run_two(StatusEvents(str(path)))
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    seen = [(e["detail"]["name"], e["detail"]["status"]) for e in events]
    # Both start RUNNING before either ends (their Wait holds them).
    assert {s[1] for s in seen[:2]} == {"RUNNING"}
    assert sorted(seen) == sorted(
        [("good", "RUNNING"), ("bad", "RUNNING"), ("good", "SUCCEEDED"), ("bad", "FAILED")]
    )
    end = next(e for e in events if e["detail"]["status"] == "FAILED")
    assert end["detail-type"] == DETAIL_TYPE and end["source"] == "aws.states"
    assert end["resources"] == [bad] and end["account"] == "123456789012"
    detail = end["detail"]
    assert (detail["error"], detail["cause"], detail["output"]) == ("Broken", "not ok", None)
    assert detail["input"] == '{"ok":false}'
    assert detail["stopDate"] - detail["startDate"] == 60_000  # the Wait, in simulated ms
    succeeded = next(e["detail"] for e in events if e["detail"]["status"] == "SUCCEEDED")
    assert succeeded["executionArn"] == good
    assert json.loads(succeeded["output"]) == {"ok": True}
    assert succeeded["outputDetails"] == {"included": True}
    running = next(e["detail"] for e in events if e["detail"]["status"] == "RUNNING")
    assert running["stopDate"] is None and running["error"] is None


class Collector(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.integration
def test_status_changes_are_posted_to_a_webhook(webhook: tuple[str, list[Any]]) -> None:
    url, received = webhook
    good, bad = run_two(StatusEvents(url))
    statuses = sorted((e["resources"][0], e["detail"]["status"]) for e in received)
    assert statuses == sorted(
        [(good, "RUNNING"), (good, "SUCCEEDED"), (bad, "RUNNING"), (bad, "FAILED")]
    )


def test_a_redrive_sends_running_again(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    events = StatusEvents(str(path))
    with Engine.open("memory://", clock=VirtualClock(), status_events=events) as engine:
        sm = engine.create_state_machine(name="m", definition=WAITS, roleArn=ROLE)
        arn = engine.start_execution(stateMachineArn=sm["stateMachineArn"], input="{}")[
            "executionArn"
        ]
        engine.run_until_idle()
        engine.redrive_execution(executionArn=arn)
        engine.run_until_idle()
        assert events.flush(10)
    details = [json.loads(line)["detail"] for line in path.read_text().splitlines()]
    assert [(d["status"], d["redriveCount"]) for d in details] == [
        ("RUNNING", 0),
        ("FAILED", 0),
        ("RUNNING", 1),
        ("FAILED", 1),
    ]


def test_a_file_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no directory"):
        StatusEvents(str(tmp_path / "absent" / "events.jsonl"))


@pytest.mark.integration
def test_the_server_fixture_waits_on_status_events(stepfn_server: Any) -> None:
    sfn = stepfn_server.client()
    sm = sfn.create_state_machine(name="m", definition=WAITS, roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"ok": false}')[
        "executionArn"
    ]
    detail = stepfn_server.wait_for_end(arn)
    assert (detail["status"], detail["error"]) == ("FAILED", "Broken")
