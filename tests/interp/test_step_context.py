"""The step context: state code reaches the step through it, and a driver may answer
some of its members around an interpreter instead of subclassing it."""

from __future__ import annotations

from typing import Any

from stepfn.clock import IdSource
from stepfn.definition.model import State, build
from stepfn.interp.context import execution_info
from stepfn.interp.machine import Interpreter, RunState, Start
from stepfn.interp.runstate import Thread
from stepfn.interp.step_context import Next, Outcome, PassThrough, StepContext, Vars

MACHINE = build(
    {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": {"n": 1}, "Next": "Second"},
            "Second": {"Type": "Pass", "Parameters": {"seen.$": "$$.Execution.Name"}, "End": True},
        },
    }
)


class Recorder(PassThrough):
    """Notes each state's exit and stops the thread at the first one."""

    def __init__(self) -> None:
        self.interpreter = Interpreter(
            MACHINE, execution_info("e1", {}, 0.0), IdSource(1), context=self
        )
        super().__init__(self.interpreter)
        self.exits: list[tuple[str, Any]] = []

    def exit_state(
        self, thread: Thread, state: State, output: Any, assigned: Vars, next_state: Next = None
    ) -> Outcome:
        self.exits.append((state.name, output))
        thread.done = True
        return None


def test_an_interpreter_is_its_own_context() -> None:
    interpreter = Interpreter(MACHINE, execution_info("e1", {}, 0.0), IdSource(1))
    context: StepContext = interpreter
    assert interpreter.ctx is context
    result = interpreter.step(RunState(), Start(), 0.0)
    assert [e.type for e in result.events][-1] == "ExecutionSucceeded"


def test_a_context_around_an_interpreter_answers_what_it_defines() -> None:
    recorder = Recorder()
    run = RunState()
    result = recorder.interpreter.step(run, Start(), 0.0)
    # The state code asked the context where to go: the recorder stopped at First.
    assert recorder.exits == [("First", {"n": 1})]
    assert [e.type for e in result.events] == ["ExecutionStarted", "PassStateEntered"]
    assert run.status == "RUNNING"


def test_members_it_does_not_define_are_the_interpreters() -> None:
    recorder = Recorder()
    recorder.interpreter.step(RunState(), Start(begin=False), 3.0)
    assert recorder.now == 3.0
    assert recorder.info.name == "e1"
    root = recorder.run.threads[""]
    assert recorder.state_of(Thread(id="x", machine_key="", state="Second")).name == "Second"
    assert recorder.variables(root) == {}


class NamedContext(PassThrough):
    """Gives every state another context object (as TestState may be handed one)."""

    def context_object(
        self, thread: Thread, task_token: str | None, map_item: tuple[int, Any] | None
    ) -> dict[str, Any]:
        return {"Execution": {"Name": "given"}}


def test_expressions_read_the_contexts_context_object() -> None:
    holder: list[NamedContext] = []
    interpreter = Interpreter(MACHINE, execution_info("e1", {}, 0.0), IdSource(1))
    holder.append(NamedContext(interpreter))
    interpreter.ctx = holder[0]
    run = RunState()
    interpreter.step(run, Start(), 0.0)
    assert run.output == {"seen": "given"}
