"""``stepfn server --clock virtual``: time moves only through the admin call."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from stepfn.api.admin import clock_call
from stepfn.clock import Clock, ManualClock

ROLE = "arn:aws:iam::123456789012:role/test"
DAY = json.dumps(
    {
        "StartAt": "Day",
        "States": {
            "Day": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "later", "End": True},
        },
    }
)


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(start=1000.0)
    assert clock.now() == 1000.0
    assert clock.advance(60) == 1060.0
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    clock.sleep_until(1000.0)  # already past: returns at once


class _Engine:
    def __init__(self, clock: Any) -> None:
        self.clock = clock


def test_the_admin_call_checks_what_it_is_given() -> None:
    manual = _Engine(ManualClock(start=0.0))
    assert clock_call(manual, "POST", b'{"advanceSeconds": 5}') == (
        200,
        {"now": "1970-01-01T00:00:05.000Z", "epoch": 5.0},
    )
    status, document = clock_call(manual, "POST", b'{"advanceSeconds": -5}')
    assert (status, document["__type"]) == (400, "ValidationException")
    status, document = clock_call(manual, "POST", b"not json")
    assert (status, document["__type"]) == (400, "ValidationException")
    status, document = clock_call(_Engine(Clock()), "POST", b"{}")
    assert (status, document["__type"]) == (400, "ClockNotAdjustable")


@pytest.mark.integration
def test_a_day_long_wait_ends_when_the_test_moves_time(stepfn_server_factory: Any) -> None:
    server = stepfn_server_factory(clock="virtual")
    sfn = server.client()
    sm = sfn.create_state_machine(name="day", definition=DAY, roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"])["executionArn"]
    time.sleep(0.5)  # real time passes; the server's does not
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    server.advance(86399)
    time.sleep(0.5)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    server.advance(1)
    detail = server.wait_for_end(arn)
    assert detail["status"] == "SUCCEEDED"
    assert detail["stopDate"] - detail["startDate"] == 86_400_000


@pytest.mark.integration
def test_only_a_virtual_clock_server_moves_time(stepfn_server: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        stepfn_server.advance(10)
    assert info.value.code == 400
    assert json.loads(info.value.read())["__type"] == "ClockNotAdjustable"
    info.value.close()
