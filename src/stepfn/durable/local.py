"""Running one execution in this process, start to end: what ``stepfn.run`` does.

A small driver around the pure interpreter: it performs the commands each step returns
(tasks through the adapter registry, timers in a heap) and feeds their outcomes back in
time order. With a virtual clock a timer "sleeps" by moving the clock, so a one-day
Wait ends at once and the history still shows the day. Nothing is stored; the durable
engine drives the same interpreter with a database in between.

The child executions of a distributed Map (ExecutionType STANDARD) are kept beside the
execution, each with its own history: ``Execution.children``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import queue
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict

from stepfn.clock import Clock, IdSource, VirtualClock
from stepfn.definition.model import Machine, MapState, ParallelState, TaskState, build
from stepfn.definition.parse import parse_definition
from stepfn.durable.effects import ending, plan, task_request
from stepfn.durable.map_results import wants_children
from stepfn.interp.context import ExecutionInfo, execution_info
from stepfn.interp.events import Event, to_json_text
from stepfn.interp.machine import (
    CancelTask,
    Compiled,
    Interpreter,
    InvokeTask,
    RunState,
    Start,
    StartChildExecution,
    StartTimer,
    StepResult,
    Stimulus,
    TaskFailed,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
)
from stepfn.lang.nesting import depth_problem, value_too_deep
from stepfn.tasks.base import Registry, TaskOutcome
from stepfn.tasks.lambda_functions import FunctionCode, split_functions, with_coded_functions
from stepfn.tasks.lambda_local import Handler
from stepfn.tasks.registry import RoutingConfig, Unrouted, default_registry

if TYPE_CHECKING:
    from stepfn.durable.local_children import LocalExecutions, LocalTokens

# An Express execution runs at most five minutes, as on AWS.
EXPRESS_TIME_LIMIT = 300.0


@dataclass
class Execution:
    """A finished (or stuck) execution: its status, result and history."""

    execution_arn: str
    name: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_time: float = 0.0
    stop_time: float | None = None
    events: list[Event] = field(default_factory=list, repr=False)
    # The child executions its distributed Maps started, in the order they started.
    children: list[Execution] = field(default_factory=list, repr=False)

    @property
    def history(self) -> list[dict[str, Any]]:
        """The events, shaped as GetExecutionHistory returns them."""
        return [event.render() for event in self.events]


_MODELS: OrderedDict[str, Machine] = OrderedDict()
_MODELS_LOCK = threading.Lock()
_MODELS_KEPT = 128


def load_machine(definition: Any) -> Machine:
    """Parse, validate and build a definition (dict, JSON or YAML text).

    Models are immutable, so the last few are kept by their text: running the same
    definition again (a test suite, a benchmark, a loop) skips parsing and validation.
    """
    from stepfn.definition.validate import check

    key = definition if isinstance(definition, str) else _cache_key(definition)
    if key is not None:
        with _MODELS_LOCK:
            model = _MODELS.get(key)
            if model is not None:
                _MODELS.move_to_end(key)
                return model
    raw = parse_definition(definition)
    check(raw)
    model = build(raw)
    if key is not None:
        with _MODELS_LOCK:
            _MODELS[key] = model
            while len(_MODELS) > _MODELS_KEPT:
                _MODELS.popitem(last=False)
    return model


def _cache_key(definition: Any) -> str | None:
    try:
        return json.dumps(definition, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None  # not plain JSON: parse_definition will say what is wrong


class RunOptions(TypedDict, total=False):
    """The options of ``stepfn.run``, each as it documents it: the public ones of
    ``run`` here, which ``stepfn.run`` passes on as they are."""

    name: str | None
    functions: Mapping[str, Handler | FunctionCode] | None
    state_machine_type: str
    clock: Clock | None
    mock_config: Any
    test_case: str | None
    routing: RoutingConfig
    state_machines: Mapping[str, Any] | None
    callbacks: LocalTokens | None


def run(
    definition: Any,
    input: Any = None,
    *,
    name: str | None = None,
    functions: Mapping[str, Handler | FunctionCode] | None = None,
    state_machine_type: str = "STANDARD",
    clock: Clock | None = None,
    registry: Registry | None = None,
    ids: IdSource | None = None,
    state_machine_name: str = "stepfn",
    mock_config: Any = None,
    test_case: str | None = None,
    routing: RoutingConfig = None,
    state_machines: Mapping[str, Any] | None = None,
    callbacks: LocalTokens | None = None,
    region: str | None = None,
    account: str | None = None,
    children: LocalExecutions | None = None,
) -> Execution:
    """Run an execution to its end and return it. See ``stepfn.run``.

    ``state_machines`` (ARN or name -> definition) are what nested executions
    (``states:startExecution*``) may start; ``callbacks`` answers ``.waitForTaskToken``
    tasks and activities from outside (``LocalTokens``); ``children`` is the nested
    executions' runner a parent passes on to its children."""
    machine = definition if isinstance(definition, Machine) else load_machine(definition)
    clock = clock if clock is not None else VirtualClock()
    ids = ids if ids is not None else IdSource()
    if value_too_deep(input):
        # As StartExecution refuses it: every walk of a value recurses once per level.
        raise ValueError(f"Invalid execution input: {depth_problem()}")
    owned: Registry | None = None
    if registry is None and _asks_nothing(machine, functions, routing, state_machines):
        # No state of it calls out: the adapters would be built for nothing on every run.
        registry = _NO_ADAPTERS
    elif registry is None:
        local, coded = split_functions(functions)
        registry = default_registry(local, routing, clock=clock)
        if coded:
            # Functions given by their code run in warm workers of this run alone.
            registry = owned = with_coded_functions(coded, registry, local, clock=clock)
        if children is None:
            from stepfn.durable.local_children import LocalExecutions

            children = LocalExecutions(state_machines or {}, registry, ids, clock, callbacks)
            if callbacks is None and state_machines:
                # A nested .waitForTaskToken child answers its parent through these.
                callbacks = children.callbacks
        from stepfn.tasks.nested import NestedExecutions

        registry.prepend(NestedExecutions(children))
    try:
        return _run(
            machine, input, name, state_machine_type, clock, registry, ids,
            state_machine_name, mock_config, test_case,
            callbacks=callbacks, region=region, account=account,
        )  # fmt: skip
    finally:
        if owned is not None:
            owned.close()


# The registry of runs whose machine has no Task and no Map that reads or writes items:
# nothing ever asks it, so one serves them all (it holds no state of a run).
_NO_ADAPTERS = Registry([Unrouted()])
# Per model (models are cached and immutable): whether any state may ask the adapters.
_CALLS_OUT: dict[int, tuple[Machine, bool]] = {}
_CALLS_OUT_KEPT = 256


def _asks_nothing(
    machine: Machine,
    functions: object,
    routing: object,
    state_machines: object,
) -> bool:
    """Whether a run of ``machine`` needs no adapters: no functions, routes or child
    machines were given, and no state of it (nested branches and processors included)
    is a Task or a Map with an ItemReader or a ResultWriter."""
    if functions or routing is not None or state_machines:
        return False
    known = _CALLS_OUT.get(id(machine))
    if known is None or known[0] is not machine:
        if len(_CALLS_OUT) >= _CALLS_OUT_KEPT:
            _CALLS_OUT.clear()
        known = _CALLS_OUT[id(machine)] = (machine, _calls_out(machine))
    return not known[1]


def _calls_out(machine: Machine) -> bool:
    pending = [machine]
    while pending:
        for state in pending.pop().states.values():
            if isinstance(state, TaskState):
                return True
            if isinstance(state, ParallelState):
                pending.extend(state.branches)
            elif isinstance(state, MapState):
                if state.item_reader is not None or state.result_writer is not None:
                    return True
                if state.processor is not None:
                    pending.append(state.processor)
    return False


def _run(
    machine: Machine,
    input: Any,
    name: str | None,
    state_machine_type: str,
    clock: Clock,
    registry: Registry,
    ids: IdSource,
    state_machine_name: str,
    mock_config: Any,
    test_case: str | None,
    *,
    callbacks: LocalTokens | None = None,
    region: str | None = None,
    account: str | None = None,
) -> Execution:
    mocks = None
    if mock_config is not None or test_case is not None:
        from stepfn.tasks.mock_adapter import mock_tasks_for_run

        mocks, state_machine_name, test_case = mock_tasks_for_run(mock_config, test_case)
        registry = mocks.wrap(registry)
    name = name or ids.uuid()
    time_limit = EXPRESS_TIME_LIMIT if state_machine_type == "EXPRESS" else None
    where: dict[str, str] = {}
    if region is not None:
        where["region"] = region
    if account is not None:
        where["account"] = account
    info = execution_info(
        name,
        {} if input is None else input,
        clock.now(),
        state_machine_name=state_machine_name,
        state_machine_type=state_machine_type,
        **where,
    )
    if mocks is not None and test_case is not None:
        mocks.bind(info.execution_arn, state_machine_name, test_case, dict(machine.raw))
    return Driver(
        machine, info, ids, clock, registry, time_limit=time_limit, callbacks=callbacks
    ).run()


class Driver:
    """Carries out one execution's commands until it ends."""

    def __init__(
        self,
        machine: Machine,
        info: ExecutionInfo,
        ids: IdSource,
        clock: Clock,
        registry: Registry,
        *,
        time_limit: float | None = None,
        callbacks: LocalTokens | None = None,
        compiled: Compiled | None = None,
    ) -> None:
        self.info = info
        # Answers from outside (SendTask*, activity workers) for tokens in ``_waiting``.
        self.callbacks = callbacks
        self._answers: queue.SimpleQueue[Stimulus] = queue.SimpleQueue()
        self._waiting: set[str] = set()
        self._peeked: Stimulus | None = None
        self.clock = clock
        self.registry = registry
        self.interpreter = Interpreter(machine, info, ids, time_limit, compiled=compiled)
        self.run_state = RunState()
        self.events: list[Event] = []
        # (due time, sequence, stimulus); the sequence keeps equal times FIFO.
        self._queue: list[tuple[float, int, Stimulus]] = []
        self._sequence = itertools.count()
        self._cancelled: set[str] = set()
        self._children: dict[str, Execution] = {}
        self._started: dict[str, StartChildExecution] = {}  # by child ARN

    def run(self) -> Execution:
        """Drive the execution to its end (or until nothing can move it on)."""
        try:
            return self._run()
        finally:
            if self.callbacks is not None:
                self.callbacks.release(self._waiting)

    def _run(self) -> Execution:
        self._apply(self.interpreter.step(self.run_state, Start(), self.clock.now()))
        run = self.run_state
        while run.status == "RUNNING":
            self._take_answers()
            if not self._queue:
                # Nothing but answers from outside can move it on now.
                if self._waiting and self._wait_for_answer(None):
                    continue
                break
            if self._waiting and self._wait_for_answer(self._queue[0][0]):
                continue  # an answer came before the next timer
            due, _, stimulus = heapq.heappop(self._queue)
            if isinstance(stimulus, TimerFired) and stimulus.timer_id in self._cancelled:
                self._cancelled.discard(stimulus.timer_id)
                continue
            self.clock.sleep_until(due)
            # The stimulus happened at ``due`` (a virtual clock may already be past it, when
            # a task "took" simulated time): its events carry that time.
            self._apply(self.interpreter.step(run, stimulus, due))
        info = self.info
        return Execution(
            execution_arn=info.execution_arn,
            name=info.name,
            status=run.status,
            output=run.output if run.status == "SUCCEEDED" else None,
            error=run.error,
            cause=run.cause,
            start_time=info.start_time,
            stop_time=self.clock.now() if run.status != "RUNNING" else None,
            events=self.events,
            children=list(self._children.values()),
        )

    def deliver(self, stimulus: Stimulus) -> None:
        """An answer from outside (any thread): SendTask*, an activity worker's poll."""
        self._answers.put(stimulus)

    def _take_answers(self) -> None:
        while True:
            if self._peeked is not None:
                stimulus, self._peeked = self._peeked, None
            else:
                try:
                    stimulus = self._answers.get_nowait()
                except queue.Empty:
                    return
            if isinstance(stimulus, TaskSucceeded | TaskFailed):
                self._waiting.discard(stimulus.token)
            self._push(self.clock.now(), stimulus)

    def _wait_for_answer(self, due: float | None) -> bool:
        """Wait for an answer from outside before the clock moves on to ``due`` (None:
        nothing else is due). A virtual clock waits ``callbacks.grace`` real seconds,
        then lets simulated time pass; a real clock waits until ``due``."""
        assert self.callbacks is not None
        if due is not None and due <= self.clock.now():
            return False
        if self.clock.virtual or due is None:
            timeout: float | None = self.callbacks.grace
        else:
            timeout = due - self.clock.now()
        try:
            stimulus = self._answers.get(timeout=timeout)
        except queue.Empty:
            return False
        self._peeked = stimulus  # taken first by _take_answers, in its order
        return True

    def _push(self, due: float, stimulus: Stimulus) -> None:
        heapq.heappush(self._queue, (due, next(self._sequence), stimulus))

    def _apply(self, result: StepResult) -> None:
        self.events.extend(result.events)
        if not result.commands and not result.child_events:
            return  # a step that only moved from state to state (most, in a short run)
        effects = plan(result.commands)
        self._cancelled.update(effects.cancelled_timers)
        # The children first: a task of this step may read them (a ResultWriter's).
        for command in effects.commands:
            if isinstance(command, StartChildExecution):
                self._children[command.arn] = Execution(
                    command.arn, command.name, "RUNNING", start_time=self.interpreter.now
                )
                self._started[command.arn] = command
        for event in result.child_events:
            child = self._children[event.execution]
            child.events.append(event)
            end = ending(event)
            if end is not None:
                child.status, child.stop_time = end.status, end.stopped
                child.output, child.error, child.cause = end.output, end.error, end.cause
        # In the order asked for: effects due at one instant happen in that order.
        for command in effects.commands:
            if isinstance(command, StartTimer):
                self._push(command.due, TimerFired(command.timer_id))
            elif isinstance(command, InvokeTask):
                self._invoke(command)
            elif isinstance(command, CancelTask) and command.token in self._waiting:
                # Invoked tasks ran to completion already; a callback stops waiting.
                self._waiting.discard(command.token)
                if self.callbacks is not None:
                    self.callbacks.release([command.token])

    def _map_run_children(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The children of a map run, as a ResultWriter writes them (``map_results``)."""
        found: list[dict[str, Any]] = []
        for arn, started in self._started.items():
            if started.map_run_arn != payload["MapRunArn"] or started.map_run_event_id != (
                payload.get("MapRunEventId", started.map_run_event_id)
            ):
                continue
            child = self._children[arn]
            first = child.events[0].details or {} if child.events else {}
            found.append(
                {
                    "ExecutionArn": arn,
                    "Name": child.name,
                    "Input": to_json_text(first.get("input")),
                    "Output": None if child.output is None else to_json_text(child.output),
                    "Status": child.status,
                    "Error": child.error,
                    "Cause": child.cause,
                    "StartDate": child.start_time,
                    "StopDate": child.stop_time,
                    "RedriveCount": 0,
                    "StateMachineArn": started.state_machine_arn,
                    "Index": started.index,
                }
            )
        found.sort(key=lambda entry: entry["Index"])
        return found

    def _invoke(self, command: InvokeTask) -> None:
        started = self.clock.now()
        request = task_request(command, self.info)
        if wants_children(command.resource, command.payload):  # a ResultWriter's write
            children = self._map_run_children(command.payload)
            request = replace(request, payload={**command.payload, "Children": children})
        callbacks = self.callbacks
        callback = command.resource.endswith(".waitForTaskToken")
        mocks = getattr(self.registry, "mocks", None)
        if mocks is not None and mocks.covers(self.info.execution_arn, command.state_name):
            # A mocked callback or activity is answered like a call (the worker's rule).
            callbacks, callback = None, False
        if callbacks is not None and (callback or callbacks.is_activity(command.resource)):
            # Answered from outside: the token is live before the call, which may be
            # answered before it returns.
            self._waiting.add(command.token)
            callbacks.own(command.token, self)
            if not callback:
                callbacks.schedule_activity(command.resource, request)
                return
            if self.registry.find(command.resource) is None:
                return  # nothing to call: the token is all there is
        outcome = self.registry.invoke(request)
        # The answer arrives when the task ended: after its simulated duration on a
        # virtual clock, after the real time it took on a real one. A timeout timer due
        # earlier fires first, as it would on AWS.
        ended = max(self.clock.now(), started + outcome.duration)
        if outcome.submitted is not None:
            self._push(started, TaskSubmitted(command.token, outcome.submitted.output))
        if callback and callbacks is not None:
            if outcome.succeeded:  # the call was made; SendTask* ends the task
                self._push(ended, TaskSubmitted(command.token, outcome.output))
                return
            self._waiting.discard(command.token)
            callbacks.release([command.token])
        self._push_end(command.token, outcome, ended)

    def _push_end(self, token: str, outcome: TaskOutcome, ended: float) -> None:
        if outcome.succeeded:
            self._push(ended, TaskSucceeded(token, outcome.output))
        else:
            self._push(ended, TaskFailed(token, outcome.error, outcome.cause))
