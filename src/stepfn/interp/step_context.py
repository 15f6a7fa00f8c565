"""The step context: what a state's code may ask of the step running it.

The state modules (``states.py``, ``fanout.py``, ``flow.py``) are functions of a
``StepContext`` and a thread, never of the interpreter itself: this protocol is all
they reach. ``Interpreter`` implements it; TestState implements it too
(``teststate.service.Probe``), passing most members on to an interpreter it holds
(``PassThrough``) and answering a few itself: where a state's run ends
(``exit_state``, ``fail_thread``, ``state_failed``), which threads run (``enqueue``),
and what a state reads (``context_object``, ``variables``).

The members, by what they are for:

* facts of the step: ``now`` (the stimulus's time), ``ids``, ``info`` (the execution),
  ``run`` (the run state), ``inspector`` (TestState's watcher of the data flow, or
  None), ``state_of`` (the state a thread is in), ``info_of`` (the execution a thread
  belongs to: its own or a child execution's);
* what a step records and asks for: ``emit`` (a history event), ``new_timer``,
  ``command`` (any other command: invoke or cancel a task, start a child execution);
* what expressions read: ``scope`` (JSONPath), ``variables``, ``context_object``, and
  the compiled forms of templates and Choice rules, cached per interpreter;
* where a thread goes: ``exit_state``, ``state_failed``, ``fail_thread``,
  ``guarded`` (an action whose failure goes to Retry and Catch), ``continue_thread``;
* fan-out: ``new_thread``, ``enqueue``, ``abort_thread``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stepfn.definition.model import ChoiceRuleModel, State
    from stepfn.interp.commands import Command
    from stepfn.interp.context import ExecutionInfo
    from stepfn.interp.dataflow import Scope
    from stepfn.interp.events import Event
    from stepfn.interp.flow import Inspector
    from stepfn.interp.runstate import RunState, Thread

Outcome = tuple[str | None, Any] | None
Vars = dict[str, Any] | None  # variables a state assigned
Next = str | None  # the state a thread goes to
MapItem = tuple[int, Any] | None  # (index, value) of a Map iteration's item


class StepContext(Protocol):
    """What state code may use of the step that runs it (see the module's docstring)."""

    @property
    def now(self) -> float:
        """When the step's stimulus happened (seconds since the epoch)."""

    @property
    def ids(self) -> Any:
        """The step's source of ids and random numbers (``clock.IdSource``)."""

    @property
    def info(self) -> ExecutionInfo:
        """The execution being stepped."""

    @property
    def run(self) -> RunState:
        """The run state the step changes."""

    @property
    def inspector(self) -> Inspector | None:
        """TestState's watcher of the data flow, or None in an execution."""

    def state_of(self, thread: Thread) -> State:
        """The state ``thread`` is in."""

    def info_of(self, thread: Thread) -> ExecutionInfo:
        """The execution ``thread`` runs in, as its context object shows it."""

    def emit(self, thread: Thread, type_: str, details: dict[str, Any] | None = None) -> Event:
        """Append a history event on ``thread``'s chain."""

    def new_timer(self, thread: Thread, due: float, purpose: str) -> str:
        """Start a timer owned by ``thread``; its id."""

    def command(self, command: Command) -> None:
        """Ask the driver for ``command`` (after the step is committed)."""

    def scope(
        self, thread: Thread, task_token: str | None = None, map_item: MapItem = None
    ) -> Scope:
        """The variables and context object JSONPath reads in the thread's state."""

    def variables(self, thread: Thread) -> dict[str, Any]:
        """The variables ``thread`` sees."""

    def context_object(
        self, thread: Thread, task_token: str | None, map_item: tuple[int, Any] | None
    ) -> dict[str, Any]:
        """The context object (``$$``, ``$states.context``) of the thread's state."""

    def compiled_template(self, value: Any) -> Any:
        """A JSONPath template (an Assign block) compiled once."""

    def choice_rule(self, rule: ChoiceRuleModel) -> Any:
        """A JSONPath Choice rule compiled once."""

    def exit_state(
        self, thread: Thread, state: State, output: Any, assigned: Vars, next_state: Next = None
    ) -> Outcome:
        """The state left with ``output``: its next state and input, or None (ended)."""

    def state_failed(
        self, thread: Thread, state: State, error: str | None, cause: str | None
    ) -> Outcome:
        """The state failed: Retry, then Catch, then fail the thread."""

    def fail_thread(self, thread: Thread, error: str | None, cause: str | None) -> None:
        """Fail ``thread`` with nothing left to handle the error."""

    def guarded(self, thread: Thread, state: State, action: Callable[..., Any], *args: Any) -> Any:
        """``action(context, thread, state, *args)``; a failure goes to Retry and Catch."""

    def continue_thread(self, thread: Thread, outcome: Outcome) -> None:
        """Go on after a blocked state finished: its next state, or nothing."""

    def new_thread(self, parent: Thread, machine_key: str, index: int) -> Thread:
        """A child thread of ``parent`` (a branch or an iteration)."""

    def enqueue(self, thread: Thread, state_name: str, data: Any, front: bool = False) -> None:
        """Make ``thread`` enter ``state_name`` with ``data`` when the step gets to it."""

    def abort_thread(self, thread: Thread) -> None:
        """Stop a thread whose result is no longer wanted."""


class PassThrough:
    """A ``StepContext`` that passes every member on to ``inner`` (an interpreter): a
    driver that answers some members itself (TestState) derives from it and defines
    those, rather than subclassing the interpreter. The members it defines are checked
    against the protocol; the others are ``inner``'s, which is one (``Interpreter``
    declares itself its own context)."""

    def __init__(self, inner: StepContext) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        # Only members not defined here reach this: they are the inner context's.
        return getattr(self.inner, name)
