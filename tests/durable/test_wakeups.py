"""Wake-ups between servers on one PostgreSQL database (LISTEN/NOTIFY).

Engines in this process on one schema stand for servers. The polling that is the
fallback is slowed to a minute here, so that a hand-off within seconds can only be a
notification's doing: an activity task one server schedules is handed out at once by a
GetActivityTask long poll waiting on another, and a task answered where nothing steps
(a read-only engine, as a CLI) wakes the servers that do.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import pg  # tests/pg.py, put on the path by conftest.py
from stepfn.durable import loop
from stepfn.service import tokens
from stepfn.service.engine import Engine

pytestmark = pytest.mark.integration
pytest.importorskip("psycopg")

ROLE = "arn:aws:iam::123456789012:role/stepfn"
SLOW_POLL = 60.0  # seconds: the fallback never comes within a test
WAIT = 10.0  # seconds a hand-off may take on a loaded machine


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(loop, "POLL_SECONDS", SLOW_POLL)
    monkeypatch.setattr(tokens, "ACTIVITY_RECHECK_SECONDS", SLOW_POLL)
    return pg.schema_url()


@pytest.fixture
def servers(url: str) -> Iterator[tuple[Engine, Engine]]:
    a = Engine.open(url)
    b = Engine.open(url)
    yield a, b
    b.close()
    a.close()


def machine(engine: Engine) -> tuple[str, str]:
    """An activity and a state machine of one Task on it: (activity, machine)."""
    activity = engine.create_activity(name="work")["activityArn"]
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Task", "Resource": activity, "End": True}},
    }
    made = engine.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)
    return activity, made["stateMachineArn"]


def status_within(engine: Engine, arn: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        status = str(engine.describe_execution(executionArn=arn)["status"])
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def test_an_activity_task_scheduled_on_one_server_is_handed_out_by_anothers_long_poll(
    servers: tuple[Engine, Engine],
) -> None:
    a, b = servers
    activity, sm = machine(a)
    got: dict[str, Any] = {}

    def poll() -> None:
        got.update(b.get_activity_task(activityArn=activity, workerName="w"))
        got["at"] = time.monotonic()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)  # the poll waits on b, having found nothing
    began = time.monotonic()
    arn = a.start_execution(stateMachineArn=sm, name="e1")["executionArn"]
    poller.join(WAIT)
    assert not poller.is_alive() and "taskToken" in got, "the long poll never heard of the task"
    assert got["at"] - began < WAIT
    b.send_task_success(taskToken=got["taskToken"], output='{"done":1}')
    assert status_within(a, arn, WAIT) == "SUCCEEDED"
    types = [e["type"] for e in a.get_execution_history(executionArn=arn)["events"]]
    assert types.count("ActivityStarted") == 1 and types.count("ActivitySucceeded") == 1


def test_an_answer_written_where_nothing_steps_wakes_the_servers_that_do(
    servers: tuple[Engine, Engine], url: str
) -> None:
    a, b = servers
    activity, sm = machine(a)
    arn = a.start_execution(stateMachineArn=sm, name="e1")["executionArn"]
    task = b.claim_activity_task(activityArn=activity, workerName="w")
    assert task is not None
    # TaskStarted was queued where it was claimed; now the answer comes from elsewhere.
    cli = Engine.open(url, read_only=True)
    try:
        cli.send_task_success(taskToken=task["taskToken"], output="{}")
        with pytest.raises(Exception, match="Task Timed Out"):
            cli.send_task_success(taskToken=task["taskToken"], output="{}")
    finally:
        cli.close()
    assert status_within(a, arn, WAIT) == "SUCCEEDED"
    events = a.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in events].count("ActivitySucceeded") == 1
