"""How many steppers step at once on an unleased store (``Loop._join``).

Two step at once, so that one prepares while the other commits, and what becomes ready
meanwhile gathers into the next batch; a further stepper joins only when the active
steps have all run longer than ``LONG_STEP_SECONDS``, so that a long step does not hold
up the rest. A leased loop lets every stepper step.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from stepfn.durable import loop
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"


@pytest.fixture
def engine() -> Iterator[Engine]:
    made = Engine.open("memory://", background=False)  # no stepper threads of its own
    yield made
    made.close()


def test_two_step_at_once_and_a_third_waits(engine: Engine) -> None:
    steppers = engine.loop
    assert steppers._join(1) and steppers._join(2)
    began = time.monotonic()
    assert not steppers._join(3)  # refused after a wait for a step to run long
    assert time.monotonic() - began >= loop.LONG_STEP_SECONDS * 0.9
    steppers._leave(1)
    assert steppers._join(3)


def test_a_third_joins_when_the_active_steps_have_run_long(engine: Engine) -> None:
    steppers = engine.loop
    assert steppers._join(1) and steppers._join(2)
    long_ago = time.monotonic() - 2 * loop.LONG_STEP_SECONDS
    steppers._active = {1: long_ago, 2: long_ago}
    assert steppers._join(3)
    # One of them has just begun a step: the next waits again.
    assert not steppers._join(4)


def test_a_leased_loop_lets_every_stepper_step(engine: Engine) -> None:
    steppers = engine.loop
    steppers._active_limit = None
    assert all(steppers._join(n) for n in range(10))


def test_executions_all_end_with_the_steppers_limited() -> None:
    """Started threads: many executions of a few states each all end, with more
    stepper threads than may step at once, and ``Engine.on_end`` tells each end once,
    with its status."""
    with_loop = Engine.open("memory://")
    try:
        definition = {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Wait", "Seconds": 0, "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "F"}],
                    "Default": "D",
                },
                "D": {"Type": "Pass", "End": True},
                "F": {"Type": "Fail", "Error": "Asked"},
            },
        }
        arn = with_loop.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        told: list[tuple[str, str]] = []
        ended = threading.Semaphore(0)

        def on_end(execution_arn: str, status: str) -> None:
            told.append((execution_arn, status))
            ended.release()

        with_loop.on_end(on_end)
        started = {
            with_loop.start_execution(stateMachineArn=arn, input=json.dumps({"fail": n % 3 == 0}))[
                "executionArn"
            ]: "FAILED" if n % 3 == 0 else "SUCCEEDED"
            for n in range(60)
        }
        for _ in started:
            assert ended.acquire(timeout=30)
        assert sorted(told) == sorted(started.items())
        for execution_arn, status in started.items():
            assert with_loop.describe_execution(executionArn=execution_arn)["status"] == status
    finally:
        with_loop.close()


def test_a_short_execution_is_not_held_up_by_long_steps() -> None:
    """Two executions each in a long step (a JSONata expression, which cannot yield
    halfway) on the two active steppers, and then a short one: the short one gets a
    stepper of its own once the long steps have run past LONG_STEP_SECONDS, and ends
    before either of them."""
    heavy_work = "{% $count($filter([1..40000], function($v){$v % 7 = 0})) %}"

    def after_a_second(then: dict[str, object], language: str = "JSONPath") -> str:
        # A Wait of 1 s: the rest runs on a stepper when its timer fires (StartExecution
        # runs a new execution's states itself up to its first wait).
        return json.dumps(
            {
                "QueryLanguage": language,
                "StartAt": "W",
                "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": then},
            }
        )

    heavy = after_a_second({"Type": "Pass", "Output": heavy_work, "End": True}, "JSONata")
    light = after_a_second({"Type": "Pass", "End": True})
    engine = Engine.open("memory://")
    try:
        machines = {
            name: engine.create_state_machine(name=name, definition=text, roleArn=ROLE)[
                "stateMachineArn"
            ]
            for name, text in (("heavy", heavy), ("light", light))
        }
        ended_at: dict[str, float] = {}
        ended = threading.Semaphore(0)

        def on_end(execution_arn: str, status: str) -> None:
            ended_at[execution_arn] = time.monotonic()
            ended.release()

        engine.on_end(on_end)
        started = []
        # Apart, so that their timers fire in rounds of their own and each long step
        # is a batch of its own, on a stepper of its own.
        for name in ("heavy", "heavy", "light"):
            started.append(
                engine.start_execution(stateMachineArn=machines[name], input="{}")["executionArn"]
            )
            time.sleep(0.06)
        for _ in started:
            assert ended.acquire(timeout=60)
        *heavies, short = started
        assert ended_at[short] < min(ended_at[arn] for arn in heavies)
        for arn in started:
            assert engine.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    finally:
        engine.close()
