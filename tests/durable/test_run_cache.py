"""The worker's parsed run states (``durable/run_cache.py``): taken back only for the text
the store still holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.durable import run_cache
from stepfn.durable.run_cache import RunStates
from stepfn.interp.runstate import RunState, run_state_to_json
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


def state(next_event_id: int) -> tuple[str, RunState]:
    run = RunState()
    run.next_event_id = next_event_id
    return run_state_to_json(run), run


def test_a_kept_state_comes_back_for_its_own_text_only() -> None:
    cache = RunStates()
    text, run = state(7)
    cache.keep("a", text, run)
    assert cache.take("a", text) is run
    assert len(cache) == 0  # taken: the caller changes it in place
    cache.keep("a", text, run)
    other, _ = state(8)  # another writer moved the execution on
    parsed = cache.take("a", other)
    assert parsed is not run and parsed.next_event_id == 8


def test_the_cache_holds_at_most_its_characters_least_recent_out() -> None:
    text, run = state(1)
    cache = RunStates(max_characters=2 * len(text))
    for arn in ("a", "b", "c"):
        cache.keep(arn, text, run)
    assert len(cache) == 2
    assert cache.take("a", text) is not run  # the oldest went first
    assert cache.take("c", text) is run
    big = text + " " * (3 * len(text))  # the same state, in more text than the budget
    cache.keep("big", big, run)
    assert cache.take("big", big) is not run  # not kept


def test_steps_of_a_map_parse_its_state_once_and_a_foreign_write_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    original = run_cache.run_state_from_json

    def counting(text: str) -> RunState:
        parsed.append(len(text))
        return original(text)

    monkeypatch.setattr(run_cache, "run_state_from_json", counting)

    def echo(event: Any, context: Any) -> Any:
        return event

    path = str(tmp_path / "cache.db")
    engine = Engine.open(path, clock=VirtualClock(), functions={"echo": echo})
    try:
        task = {"Type": "Task", "Resource": LAMBDA + "echo", "End": True}
        definition = {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {"StartAt": "T", "States": {"T": task}},
                    "End": True,
                }
            },
        }
        machine = engine.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        arn = engine.start_execution(stateMachineArn=machine, input=json.dumps(list(range(20))))[
            "executionArn"
        ]
        engine.run_until_idle()
        ended = engine.describe_execution(executionArn=arn)
        assert ended["status"] == "SUCCEEDED" and json.loads(ended["output"]) == list(range(20))
        assert parsed == []  # every step took the state the previous one committed

        # A row written by someone else (here: the text changed under the worker's feet)
        # is parsed, not taken from the cache.
        arn = engine.start_execution(stateMachineArn=machine, input="[1]")["executionArn"]
        record = engine.store.get_execution(arn)
        assert record is not None and record.run_state is not None
        record.run_state = json.dumps(json.loads(record.run_state), indent=1)  # new text
        engine.store.update_execution(record)
        engine.run_until_idle()
        assert engine.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        assert len(parsed) == 1
    finally:
        engine.close()
