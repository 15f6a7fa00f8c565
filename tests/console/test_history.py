from __future__ import annotations

from datetime import datetime

from stepfn.clock import VirtualClock
from stepfn.console.history import annotate, map_iterations, state_visits
from stepfn.service.engine import Engine

from .machines import FAN_OUT, create, failing, history, run, virtual_engine


def test_retries_are_marked_with_the_backoff_waited() -> None:
    calls = []

    def flaky(event: object, context: object) -> dict:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("not yet")
        return {}

    retrying = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3.0}
                ],
                "End": True,
            }
        },
    }
    with Engine.open(":memory:", clock=VirtualClock(), functions={"flaky": flaky}) as engine:
        events = history(engine, run(engine, create(engine, "r", retrying)))
    rows = annotate(events, events[0]["timestamp"])
    assert [r["note"] for r in rows if r["note"]] == [
        "retry 1 after 2 s backoff",
        "retry 2 after 6 s backoff",
    ]
    assert rows[-1]["elapsed"] == 8.0
    assert [r["state"] for r in rows[:2]] == [None, "Call"]
    [call] = state_visits(events)
    assert call["status"] == "succeeded"  # retried, not caught


def test_visits_carry_input_output_variables_and_errors() -> None:
    with virtual_engine() as engine:
        fan = history(engine, run(engine, create(engine, "fan", FAN_OUT), {"in": 1}))
        bad = history(engine, run(engine, create(engine, "bad", failing("E.x", "why"))))
    prepare = state_visits(fan)[0]
    assert prepare["name"] == "Prepare" and prepare["input"] == '{"in":1}'
    assert prepare["output"] == '{"items":[1,2]}'
    assert prepare["assignedVariables"] == {"n": "2"}
    both = next(v for v in state_visits(fan) if v["name"] == "Both")
    assert both["status"] == "caught"
    explode = state_visits(bad)[-1]
    assert (explode["status"], explode["error"], explode["cause"]) == ("failed", "E.x", "why")


def test_map_iterations_follow_the_previous_event_chain() -> None:
    with virtual_engine() as engine:
        events = history(engine, run(engine, create(engine, "fan", FAN_OUT)))
    found = map_iterations(events)
    assert [(i["index"], i["status"], i["states"]) for i in found] == [
        (0, "SUCCEEDED", ["Double"]),
        (1, "SUCCEEDED", ["Double"]),
    ]


def test_annotate_takes_elapsed_from_the_start() -> None:
    start = datetime.fromisoformat("2024-01-01T00:00:00+00:00")
    later = datetime.fromisoformat("2024-01-01T00:00:01.5+00:00")
    [row] = annotate([{"id": 1, "type": "PassStateEntered", "timestamp": later}], start)
    assert row["elapsed"] == 1.5 and row["note"] == ""
