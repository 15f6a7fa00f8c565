"""A task's row is marked done once. Unleased, its answer goes to the worker's memory
and the commit of the step that applies it marks the row (no transaction of its own, no
inbox row); through the inbox (``Store.complete_task``: leased, or SendTask*) the answer
marks it and the step does not again; a task a step ends itself (a timeout) is marked by
that step's commit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from stepfn.clock import VirtualClock
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


def test_an_answered_task_is_marked_by_the_step_that_applies_it(tmp_path: Path) -> None:
    statements: list[str] = []

    def echo(event: Any, context: Any) -> Any:
        return event

    engine = Engine.open(str(tmp_path / "marks.db"), clock=VirtualClock(), functions={"echo": echo})
    try:
        engine.store._conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        task = {"Type": "Task", "Resource": LAMBDA + "echo", "End": True}
        definition = {"StartAt": "T", "States": {"T": task}}
        machine = engine.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        arn = engine.start_execution(stateMachineArn=machine, input='{"a": 1}')["executionArn"]
        engine.run_until_idle()
        ended = engine.describe_execution(executionArn=arn)
        assert ended["status"] == "SUCCEEDED" and json.loads(ended["output"]) == {"a": 1}
        marks = [s for s in statements if "UPDATE tasks SET status = 'done'" in s]
        assert len(marks) == 1 and "status != 'done'" not in marks[0]  # the commit's
        assert not [s for s in statements if s.startswith("INSERT INTO inbox")]
        rows = engine.store._conn.execute("SELECT status FROM tasks").fetchall()  # type: ignore[attr-defined]
        assert rows == [("done",)]
    finally:
        engine.close()


def test_a_task_the_step_ends_is_marked_by_its_commit(tmp_path: Path) -> None:
    def slow(event: Any, context: Any) -> Any:
        time.sleep(0.5)
        return event

    clock = VirtualClock()
    engine = Engine.open(str(tmp_path / "timeout.db"), clock=clock, functions={"slow": slow})
    try:
        task = {"Type": "Task", "Resource": LAMBDA + "slow", "TimeoutSeconds": 1, "End": True}
        definition = {"StartAt": "T", "States": {"T": task}}
        machine = engine.create_state_machine(
            name="t", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        engine.start_execution(stateMachineArn=machine, input="{}")
        # The timeout's step ends the task before its answer: the answer finds it done.
        engine.run_until_idle()
        rows = engine.store._conn.execute("SELECT status FROM tasks").fetchall()  # type: ignore[attr-defined]
        assert rows == [("done",)]
    finally:
        engine.close()
