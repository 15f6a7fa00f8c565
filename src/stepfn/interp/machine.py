"""The interpreter: ``Interpreter.step(run, stimulus)`` moves an execution forward.

``step`` is pure in DESIGN.md's sense: it reads no clock and does no I/O. It is given the
run state, a stimulus (start, a task's result, a timer firing, a stop) and the time at
which the stimulus happened, and it returns the history events to append and the
commands to carry out (invoke a task, start or cancel a timer). Whoever drives it (the
in-process runner of ``stepfn.run``, or the durable engine's worker) commits the events
and the new run state, then performs the commands and feeds their outcomes back.

The run state is a tree of *threads*: the execution is the root thread; each Parallel
branch and each Map iteration is a child thread. A thread runs state after state until
it blocks (on a task, a timer, or its children) or ends. Threads that are ready run
depth-first, so an iteration that does not block runs to its end before the next one
starts, which is also the order AWS records for such iterations.

An item of a distributed Map whose ExecutionType is STANDARD is a child execution, as on
AWS: its thread is the root of a history of its own (ids from 1, ``ExecutionStarted`` to
``ExecutionSucceeded``/``Failed``/``Aborted``) and of a context object of its own. Its
events come out in ``StepResult.child_events``, tagged with its ARN, never among the
execution's own; a ``StartChildExecution`` command announces it to the driver (see
``children.py``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stepfn import errors
from stepfn.definition.model import (
    Catcher,
    ChoiceRuleModel,
    ChoiceState,
    FailState,
    Machine,
    MapState,
    ParallelState,
    PassState,
    RetryingState,
    State,
    SucceedState,
    TaskState,
    WaitState,
    compile_template,
)
from stepfn.errors import ExecutionError, StateError
from stepfn.interp import children, fanout, map_data, states
from stepfn.interp import retry as retry_rules
from stepfn.interp.commands import (
    Begin,
    CancelTask,
    CancelTimer,
    Command,
    InvokeTask,
    Redrive,
    Start,
    StartChildExecution,
    StartTimer,
    Stimulus,
    Stop,
    TaskFailed,
    TaskHeartbeat,
    TaskRestarted,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
)
from stepfn.interp.context import ExecutionInfo, context_object
from stepfn.interp.dataflow import Scope
from stepfn.interp.events import Event, to_json_text
from stepfn.interp.runstate import FanOut, RunState, Thread
from stepfn.interp.step_context import StepContext

if TYPE_CHECKING:
    from stepfn.interp.flow import Inspector

# The step API in one place: stimuli in, commands and events out, run state carried.
__all__ = [
    "Begin",
    "CancelTask",
    "CancelTimer",
    "Command",
    "FanOut",
    "Interpreter",
    "InvokeTask",
    "Redrive",
    "RunState",
    "Start",
    "StartChildExecution",
    "StartTimer",
    "StepResult",
    "Stimulus",
    "Stop",
    "TaskFailed",
    "TaskHeartbeat",
    "TaskRestarted",
    "TaskStarted",
    "TaskSubmitted",
    "TaskSucceeded",
    "Thread",
    "TimerFired",
]


# AWS's quota of history events for one (Standard) execution, and its cause text.
MAX_HISTORY_EVENTS = 25_000
HISTORY_LIMIT_CAUSE = "The execution reached the maximum number of history events (25000)."
# States entered in one step (without waiting for a task, a timer or a callback) after
# which the execution is taken for an endless loop. Standard executions meet the history
# quota long before; this ends Express executions and child executions, whose loops
# would otherwise hold the engine forever. Our own limit and wording.
STEP_TRANSITIONS = 1_000_000
# How often (in states entered) a step asks whether it should yield.
YIELD_EVERY = 32
STEP_LIMIT_CAUSE = (
    "The execution entered 1000000 states without waiting for a task, a timer or a "
    "callback: stepfn ends it as an endless loop."
)


@dataclass(slots=True)
class StepResult:
    """What one step produced."""

    events: list[Event]
    commands: list[Command]
    # Events of child executions (distributed Map items), each tagged with its ARN.
    child_events: list[Event] = field(default_factory=list)


class Compiled:
    """What interpreters of one machine derive from it, made once and shared: the
    machine and its branches and item processors by key (``Thread.machine_key``), and
    the JSONPath Assign templates and Choice rules compiled as they are first used.
    Interpreters of one machine on several threads may share it: a race compiles a
    part twice, and either copy does."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.machines: dict[str, Machine] = {}
        self._index("", machine)
        # By id() of the model's part, with the part itself kept beside its compiled
        # form, so that the id stays that part's while the entry lives.
        self.templates: dict[int, Any] = {}
        self.rules: dict[int, Any] = {}

    def _index(self, key: str, machine: Machine) -> None:
        self.machines[key] = machine
        for name, state in machine.states.items():
            if isinstance(state, ParallelState):
                for i, branch in enumerate(state.branches):
                    self._index(f"{key}/{name}/{i}", branch)
            elif isinstance(state, MapState) and state.processor is not None:
                self._index(f"{key}/{name}", state.processor)


class Interpreter:
    """Runs one state machine. Not shared between threads; holds no per-run state
    between calls except what ``RunState`` carries."""

    def __init__(
        self,
        machine: Machine,
        info: ExecutionInfo,
        ids: Any,
        time_limit: float | None = None,
        context: StepContext | None = None,
        compiled: Compiled | None = None,
    ) -> None:
        self.machine = machine
        # A driver's context around this interpreter that answers some of its members
        # (TestState), or None: see ``ctx``.
        self._context = context
        # TestState's watcher of the data flow (``flow.Inspector``); None in executions.
        self.inspector: Inspector | None = None
        self.info = info
        self.ids = ids
        # AWS ends a Standard execution whose history would outgrow its quota; Express
        # executions keep no history and have no such limit.
        self.max_events = (
            MAX_HISTORY_EVENTS if info.state_machine_type == "STANDARD" else float("inf")
        )
        self._transitions = 0  # states entered in this step (see STEP_TRANSITIONS)
        # Asked every YIELD_EVERY states: True when the step has used its budget and
        # should yield (the driver's choice; the interpreter reads no clock itself).
        self.yield_check: Callable[[], bool] | None = None
        self._yielded = False
        # The execution's time limit: the machine's TimeoutSeconds, or a service limit
        # (Express executions end after 5 minutes), whichever is sooner.
        limits = [t for t in (machine.timeout_seconds, time_limit) if t]
        self.time_limit = min(limits) if limits else None
        # What is derived from the machine once: given by a driver that keeps it for
        # the machine's next interpreters (the durable worker makes one per step).
        if compiled is None or compiled.machine is not machine:
            compiled = Compiled(machine)
        self.machines = compiled.machines
        self._templates = compiled.templates
        self._rules = compiled.rules
        # per-step scratch
        self.run = RunState()
        self.now = 0.0
        self.events: list[Event] = []
        self.commands: list[Command] = []
        self.child_events: list[Event] = []
        # The context-object facts of running child executions, by ARN (children.py).
        self.child_infos: dict[str, ExecutionInfo] = {}
        self._ready: deque[tuple[Thread, str, Any]] = deque()

    @property
    def ctx(self) -> StepContext:
        """What the state modules are given (``step_context.py``): this interpreter, or
        the driver's context around it. A property, not an attribute holding ``self``:
        that would make every interpreter a reference cycle, garbage that only the
        cyclic collector frees (one per step)."""
        return self if self._context is None else self._context

    @ctx.setter
    def ctx(self, context: StepContext) -> None:
        self._context = None if context is self else context

    def compiled_template(self, value: Any) -> Any:
        """A JSONPath Assign block compiled once per machine (``Compiled``)."""
        key = id(value)
        node = self._templates.get(key)
        if node is None:
            node = self._templates[key] = (value, compile_template(value))
        return node[1]

    def choice_rule(self, rule: ChoiceRuleModel) -> Any:
        """A JSONPath Choice rule compiled once per machine (``Compiled``)."""
        key = id(rule)
        compiled = self._rules.get(key)
        if compiled is None:
            from stepfn.interp.choice import compile_rule

            compiled = self._rules[key] = (rule, compile_rule(rule.rule))
        return compiled[1]

    # --- the public step ---------------------------------------------------------------

    def step(self, run: RunState, stimulus: Stimulus, now: float) -> StepResult:
        """Apply ``stimulus`` (happening at ``now``) to ``run``, which is updated in place."""
        self.run = run
        now = max(now, run.last_time)
        run.last_time = now
        self.now = now
        self.events = []
        self.commands = []
        self.child_events = []
        self._transitions = 0
        self._yielded = False
        if isinstance(stimulus, Redrive):
            self._redrive(stimulus)
            self._drain()
            return self._result()
        if run.status != "RUNNING":
            return StepResult([], [])
        if isinstance(stimulus, Start):
            self._start(stimulus.begin)
        elif isinstance(stimulus, Begin):
            root = run.threads[""]
            self.enqueue(root, self.machine.start_at, self.info.input)
        elif isinstance(stimulus, TaskSucceeded):
            self._task_succeeded(stimulus)
        elif isinstance(stimulus, TaskFailed):
            self._task_failed(stimulus)
        elif isinstance(stimulus, TimerFired):
            self._timer_fired(stimulus.timer_id)
        elif isinstance(stimulus, TaskHeartbeat):
            self._heartbeat(stimulus.token)
        elif isinstance(stimulus, TaskSubmitted):
            self._task_submitted(stimulus)
        elif isinstance(stimulus, TaskStarted):
            self._task_started(stimulus)
        elif isinstance(stimulus, TaskRestarted):
            self._task_restarted(stimulus)
        elif isinstance(stimulus, Stop):
            self._stop(stimulus)
        self._drain()
        return self._result()

    def _result(self) -> StepResult:
        # States entered without waiting add up across the steps that yielded.
        run = self.run
        if self._yielded:
            run.busy, run.yields = run.busy + self._transitions, run.yields + 1
        elif not run.pending:  # a step that yielded before and still has states to enter
            run.busy, run.yields = 0, 0
        return StepResult(self.events, self.commands, self.child_events)

    def _yield(self, thread: Thread, state_name: str, data: Any) -> None:
        """End the step early: ``thread`` enters ``state_name`` in a later step, as do
        the threads still ready (``_drain`` moves them), after a timer due now."""
        if not self._yielded:
            self._yielded = True
            self.new_timer(self.run.threads[""], self.now, "resume")
        self.run.pending.append([thread.id, state_name, data])

    def _resume(self) -> None:
        """Enter the states a yielded step left pending, in the order they were ready."""
        pending, self.run.pending = self.run.pending, []
        for thread_id, state_name, data in pending:
            thread = self.run.threads.get(thread_id)
            if thread is not None and not thread.done:
                self.enqueue(thread, state_name, data)

    # --- events and bookkeeping ----------------------------------------------------------

    def emit(self, thread: Thread, type_: str, details: dict[str, Any] | None = None) -> Event:
        """Append an event on ``thread``'s chain."""
        run = self.run
        if thread.execution:  # a child execution's event, or a silent thread's
            return children.emit(self, thread, type_, details)
        event = Event(run.next_event_id, thread.last_event_id, self.now, type_, details, thread.id)
        run.next_event_id += 1
        thread.last_event_id = event.id
        self.events.append(event)
        return event

    def info_of(self, thread: Thread) -> ExecutionInfo:
        """The execution ``thread`` runs in, as its context object shows it: the
        execution's own, or that of the child execution it belongs to."""
        return children.info_of(self, thread) if thread.execution else self.info

    def new_timer(self, thread: Thread, due: float, purpose: str) -> str:
        """Start a timer owned by ``thread``."""
        run = self.run
        run.next_timer += 1
        timer_id = f"t{run.next_timer}"
        run.timers[timer_id] = thread.id
        thread.timers[timer_id] = purpose
        self.commands.append(StartTimer(timer_id, due))
        return timer_id

    def cancel_timers(self, thread: Thread, purposes: tuple[str, ...] | None = None) -> None:
        """Cancel the thread's timers (all of them, or those with the given purposes)."""
        for timer_id, purpose in list(thread.timers.items()):
            if purposes is None or purpose in purposes:
                del thread.timers[timer_id]
                self.run.timers.pop(timer_id, None)
                self.commands.append(CancelTimer(timer_id))

    def new_thread(self, parent: Thread, machine_key: str, index: int) -> Thread:
        """A child thread of ``parent`` (a branch or an iteration)."""
        run = self.run
        run.next_thread += 1
        child = Thread(
            id=f"{parent.id}/{run.next_thread}",
            machine_key=machine_key,
            parent=parent.id,
            index=index,
            last_event_id=parent.last_event_id,
        )
        if parent.execution:  # a thread of a child execution belongs to it too
            child.execution = parent.execution
        run.threads[child.id] = child
        return child

    def scope(
        self,
        thread: Thread,
        task_token: str | None = None,
        map_item: tuple[int, Any] | None = None,
    ) -> Scope:
        """What JSONPath expressions of the thread's current state may read."""
        ctx = self.ctx
        return Scope(
            lambda: ctx.context_object(thread, task_token, map_item),
            ctx.variables(thread),
            self.ids,
        )

    def context_object(
        self, thread: Thread, task_token: str | None, map_item: tuple[int, Any] | None
    ) -> dict[str, Any]:
        """The context object of the thread's current state."""
        return context_object(
            self.info_of(thread),
            thread.state,
            thread.entered_time,
            self.retry_count_of(thread),
            task_token,
            map_item,
        )

    def state_of(self, thread: Thread) -> State:
        """The state ``thread`` is in."""
        return self.machines[thread.machine_key].states[thread.state]

    def command(self, command: Command) -> None:
        """Ask the driver for ``command`` once the step is committed."""
        self.commands.append(command)

    def retry_count_of(self, thread: Thread) -> int | None:
        """``$$.State.RetryCount``: shown for Task states only."""
        state = self.machines[thread.machine_key].states.get(thread.state)
        return thread.retry_count if isinstance(state, TaskState) else None

    def variables(self, thread: Thread) -> dict[str, Any]:
        """The variables a thread sees: its own over its ancestors'."""
        if thread.parent is None:
            return thread.variables
        merged: dict[str, Any] = {}
        chain = []
        current: Thread | None = thread
        while current is not None:
            chain.append(current)
            current = None if current.parent is None else self.run.threads.get(current.parent)
        for t in reversed(chain):
            merged.update(t.variables)
        return merged

    # --- driving threads ---------------------------------------------------------------------

    def enqueue(self, thread: Thread, state_name: str, data: Any, front: bool = False) -> None:
        """Make ``thread`` enter ``state_name`` with input ``data`` when the loop gets to it."""
        if front:
            self._ready.appendleft((thread, state_name, data))
        else:
            self._ready.append((thread, state_name, data))

    def _drain(self) -> None:
        ready = self._ready
        while ready and self.run.status == "RUNNING":
            thread, state_name, data = ready.popleft()
            if thread.done:
                continue
            if self._yielded:
                self.run.pending.append([thread.id, state_name, data])
                continue
            self._run_thread(thread, state_name, data)
        ready.clear()

    def _run_thread(self, thread: Thread, state_name: str | None, data: Any) -> None:
        """Run states on ``thread`` until it blocks or ends."""
        machine = self.machines[thread.machine_key]
        if thread.announce is not None:
            type_, details = thread.announce
            thread.announce = None
            self.emit(thread, type_, details)
        while state_name is not None and not thread.done:
            transitions = self._transitions
            if self.run.next_event_id > self.max_events or (
                transitions + self.run.busy > STEP_TRANSITIONS
            ):
                self._endless()
                return
            if (
                self.yield_check is not None
                and transitions % YIELD_EVERY == YIELD_EVERY - 1
                and self.yield_check()
            ):
                self._yield(thread, state_name, data)
                return
            self._transitions = transitions + 1
            state = machine.states[state_name]
            thread.state = state_name
            thread.state_input = data
            thread.attempts = {}
            thread.retry_count = 0
            thread.entered_time = self.now
            entered = self.emit(
                thread, f"{state.type}StateEntered", {"name": state_name, "input": data}
            )
            thread.entered_id = entered.id
            outcome = self.guarded(thread, state, enter_state)
            if outcome is None:
                return
            state_name, data = outcome

    def guarded(self, thread: Thread, state: State, action: Any, *args: Any) -> Any:
        """Run ``action(context, thread, state, *args)``; a failure goes to Retry/Catch."""
        try:
            return action(self.ctx, thread, state, *args)
        except StateError as exc:
            cause = (
                f"An error occurred while executing the state '{state.name}' "
                f"(entered at the event id #{thread.entered_id}). {exc.detail}"
            )
            if exc.error == errors.QUERY_EVALUATION_ERROR:
                # AWS records a failed JSONata evaluation as an event of its own; a Map
                # or Parallel whose own fields failed to evaluate then reports failing.
                self.emit(
                    thread,
                    "EvaluationFailed",
                    {"error": exc.error, "cause": cause, "state": state.name},
                )
                if isinstance(state, MapState | ParallelState) and not retry_rules.will_retry(
                    thread, state, exc.error
                ):
                    self.emit(thread, f"{state.type}StateFailed")
            return self.ctx.state_failed(thread, state, exc.error, cause)
        except ExecutionError as exc:
            return self.ctx.state_failed(thread, state, exc.error, exc.cause)

    def continue_thread(self, thread: Thread, outcome: tuple[str | None, Any] | None) -> None:
        """Go on after a blocked state finished: run the next state, or end the thread."""
        if outcome is None or thread.done:
            return
        next_state, data = outcome
        if next_state is not None:
            self.ctx.enqueue(thread, next_state, data, front=True)

    # --- leaving states -------------------------------------------------------------------

    def exit_state(
        self,
        thread: Thread,
        state: State,
        output: Any,
        assigned: dict[str, Any] | None = None,
        next_state: str | None = None,
    ) -> tuple[str | None, Any] | None:
        """Record the state's exit and go to its Next, or end the thread."""
        details: dict[str, Any] = {"name": state.name, "output": output}
        if assigned:
            details["assignedVariables"] = {k: to_json_text(v) for k, v in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        self.emit(thread, f"{state.type}StateExited", details)
        target = next_state or state.next
        if state.end or target is None:
            self.end_thread(thread, output)
            return None
        return target, output

    # --- ending threads -----------------------------------------------------------------------

    def end_thread(self, thread: Thread, output: Any) -> None:
        """A thread reached an end state with ``output``."""
        thread.done = True
        if thread.parent is None:
            run = self.run
            run.status = "SUCCEEDED"
            run.output = output
            self.emit(thread, "ExecutionSucceeded", {"output": output})
            self._finish_all()
            return
        parent = self.run.threads[thread.parent]
        if thread.execution and children.is_root(self, thread, parent):
            children.end(self, thread, "ExecutionSucceeded", {"output": output})
        fanout.child_succeeded(self.ctx, parent, thread, output)

    def fail_thread(self, thread: Thread, error: str | None, cause: str | None) -> None:
        """A thread failed with nothing left to handle the error."""
        thread.done = True
        self.abort_children(thread)
        if thread.parent is None:
            run = self.run
            run.status = "FAILED"
            if error == errors.TIMEOUT and cause == "":
                cause = None  # ExecutionFailed shows no cause for a timeout
            run.error, run.cause = error, cause
            self.emit(thread, "ExecutionFailed", _failure_details(error, cause))
            self._finish_all()
            return
        parent = self.run.threads[thread.parent]
        if thread.execution and children.is_root(self, thread, parent):
            shown = None if error == errors.TIMEOUT and cause == "" else cause
            children.end(self, thread, "ExecutionFailed", _failure_details(error, shown))
        fanout.child_failed(self.ctx, parent, thread, error, cause)

    def abort_thread(self, thread: Thread) -> None:
        """Stop a thread whose result is no longer wanted; its tasks and timers go."""
        if thread.done:
            return
        thread.done = True
        self.cancel_timers(thread)
        if thread.token is not None:
            self.run.tokens.pop(thread.token, None)
            self.commands.append(CancelTask(thread.token))
            thread.token = None
        self.abort_children(thread)
        if thread.execution and children.is_root(self, thread):
            children.end(self, thread, "ExecutionAborted", None)

    def abort_children(self, thread: Thread) -> None:
        """Abort all running children of ``thread``'s Map or Parallel state."""
        fan = thread.fan
        if fan is None:
            return
        for child_id in list(fan.running.values()):
            child = self.run.threads.get(child_id)
            if child is not None:
                self.abort_thread(child)
        fan.running.clear()
        fan.pending.clear()

    def _finish_all(self) -> None:
        for thread in list(self.run.threads.values()):
            if not thread.done:
                self.abort_thread(thread)
        self.run.tokens.clear()
        self.run.timers.clear()
        self.run.pending.clear()
        self._ready.clear()

    # --- errors -------------------------------------------------------------------------------

    def state_failed(
        self, thread: Thread, state: State, error: str | None, cause: str | None
    ) -> tuple[str | None, Any] | None:
        """Apply Retry, then Catch, then fail the thread."""
        if isinstance(state, RetryingState):
            index = retry_rules.find_retrier(state.retry, error)
            if index is not None:
                retrier = state.retry[index]
                done = thread.attempts.get(index, 0)
                if done < retrier.max_attempts:
                    thread.attempts[index] = done + 1
                    thread.retry_count += 1
                    delay = retry_rules.backoff_delay(retrier, done, self.ids)
                    self.new_timer(thread, self.now + delay, "retry")
                    return None
            catcher = retry_rules.find_catcher(state.catch, error)
            if catcher is not None:
                return self.caught(thread, state, catcher, error, cause)
        self.ctx.fail_thread(thread, error, cause)
        return None

    def caught(
        self, thread: Thread, state: State, catcher: Catcher, error: str | None, cause: str | None
    ) -> tuple[str | None, Any] | None:
        """Go to a catcher's Next with the error output placed by its ResultPath/Output."""
        error_output = {"Error": error, "Cause": cause}
        if cause is None:
            error_output = {"Error": error}
        output, assigned = states.catch_output(self.ctx, thread, state, catcher, error_output)
        details: dict[str, Any] = {"name": state.name, "output": output}
        if assigned:
            details["assignedVariables"] = {k: to_json_text(v) for k, v in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        self.emit(thread, f"{state.type}StateExited", details)
        return catcher.next, output

    # --- stimuli --------------------------------------------------------------------------------

    def _start(self, begin: bool) -> None:
        run = self.run
        root = Thread(id="", machine_key="")
        run.threads[""] = root
        info = self.info
        # AWS's ExecutionStartedEventDetails: the state machine's own ARN is not among
        # them; a version's or an alias's is, when the execution was started through one.
        details: dict[str, Any] = {"input": info.input, "roleArn": info.role_arn}
        if info.alias_arn is not None:
            details["stateMachineAliasArn"] = info.alias_arn
        if info.version_arn is not None:
            details["stateMachineVersionArn"] = info.version_arn
        self.emit(root, "ExecutionStarted", details)
        if self.time_limit:
            self.new_timer(root, self.now + self.time_limit, "execution-timeout")
        if begin:
            self.enqueue(root, self.machine.start_at, info.input)

    def _thread_for_token(self, token: str) -> Thread | None:
        thread_id = self.run.tokens.get(token)
        if thread_id is None:
            return None
        thread = self.run.threads.get(thread_id)
        if thread is None or thread.done or thread.token != token:
            return None
        return thread

    def _task_succeeded(self, stimulus: TaskSucceeded) -> None:
        thread = self._thread_for_token(stimulus.token)
        if thread is None:
            return  # a late answer for a task that timed out or was aborted
        self._release_task(thread)
        state = self.machines[thread.machine_key].states[thread.state]
        if isinstance(state, MapState):  # its ItemReader's read or ResultWriter's write
            self.continue_thread(
                thread, self.guarded(thread, state, map_data.data_answered, stimulus.output)
            )
            return
        assert isinstance(state, TaskState)
        outcome = self.guarded(thread, state, states.task_result, stimulus.output)
        self.continue_thread(thread, outcome)

    def _task_failed(self, stimulus: TaskFailed) -> None:
        thread = self._thread_for_token(stimulus.token)
        if thread is None:
            return
        self._release_task(thread)
        state = self.machines[thread.machine_key].states[thread.state]
        if isinstance(state, MapState):
            outcome = map_data.data_refused(self, thread, state, stimulus.error, stimulus.cause)
            self.continue_thread(thread, outcome)
            return
        assert isinstance(state, TaskState)
        states.task_failure_event(self.ctx, thread, state, stimulus.error, stimulus.cause)
        outcome = self.ctx.state_failed(thread, state, stimulus.error, stimulus.cause)
        self.continue_thread(thread, outcome)

    def _release_task(self, thread: Thread) -> None:
        if thread.token is not None:
            self.run.tokens.pop(thread.token, None)
            thread.token = None
        self.cancel_timers(thread, ("task-timeout", "heartbeat"))

    def _task_submitted(self, stimulus: TaskSubmitted) -> None:
        # The task goes on: only its event (a late one, for a task that ended, is dropped).
        thread = self._thread_for_token(stimulus.token)
        if thread is None:
            return
        state = self.machines[thread.machine_key].states[thread.state]
        assert isinstance(state, TaskState)
        states.task_submitted_event(self, thread, state, stimulus.output)

    def _task_started(self, stimulus: TaskStarted) -> None:
        # An activity worker took the task: ActivityStarted, and its heartbeat restarts.
        thread = self._thread_for_token(stimulus.token)
        if thread is None:
            return
        details = {"workerName": stimulus.worker_name} if stimulus.worker_name else None
        self.emit(thread, "ActivityStarted", details)
        self._heartbeat(stimulus.token)

    def _task_restarted(self, stimulus: TaskRestarted) -> None:
        # The task's timers start again from its new start (no event: AWS records none,
        # its tasks never outlive their service).
        thread = self._thread_for_token(stimulus.token)
        if thread is None:
            return
        self.cancel_timers(thread, ("task-timeout", "heartbeat"))
        start = max(stimulus.at, self.now)
        if stimulus.timeout_seconds:
            self.new_timer(thread, start + stimulus.timeout_seconds, "task-timeout")
        if stimulus.heartbeat_seconds:
            self.new_timer(thread, start + stimulus.heartbeat_seconds, "heartbeat")

    def _heartbeat(self, token: str) -> None:
        thread = self._thread_for_token(token)
        if thread is None:
            return
        state = self.machines[thread.machine_key].states[thread.state]
        seconds = states.heartbeat_of(self.ctx, thread)
        if isinstance(state, TaskState) and seconds:
            self.cancel_timers(thread, ("heartbeat",))
            self.new_timer(thread, self.now + seconds, "heartbeat")

    def _timer_fired(self, timer_id: str) -> None:
        thread_id = self.run.timers.pop(timer_id, None)
        if thread_id is None:
            return
        thread = self.run.threads.get(thread_id)
        if thread is None or thread.done:
            return
        purpose = thread.timers.pop(timer_id, None)
        if purpose is None:
            return
        if purpose == "resume":
            self._resume()
            return
        if purpose == "execution-timeout":
            run = self.run
            run.status = "TIMED_OUT"
            run.error = errors.TIMEOUT
            run.cause = None
            self.emit(thread, "ExecutionTimedOut", {"error": errors.TIMEOUT})
            self._finish_all()
            return
        state = self.machines[thread.machine_key].states[thread.state]
        if purpose == "wait":
            outcome = self.guarded(thread, state, states.wait_done)
        elif purpose == "retry":
            outcome = self.guarded(thread, state, states.retry_state)
        elif purpose in ("task-timeout", "heartbeat"):
            assert isinstance(state, TaskState)
            if thread.token is not None:
                self.run.tokens.pop(thread.token, None)
                self.commands.append(CancelTask(thread.token))
                thread.token = None
            self.cancel_timers(thread, ("task-timeout", "heartbeat"))
            states.task_timed_out_event(self.ctx, thread, state)
            # AWS gives a timed-out task an empty cause (a catcher sees "Cause": "").
            outcome = self.ctx.state_failed(thread, state, errors.TIMEOUT, "")
        else:
            raise ValueError(f"unknown timer purpose {purpose!r}")
        self.continue_thread(thread, outcome)

    def _redrive(self, stimulus: Redrive) -> None:
        run = self.run
        root = run.threads.get("")
        if run.status in ("RUNNING", "SUCCEEDED") or root is None:
            return  # only a stopped, unsuccessful execution can be redriven
        # Children of the stopped state are dropped: the state runs again whole, or,
        # a top-level inline Map or Parallel, its unsuccessful children do.
        run.threads = {"": root}
        run.children.clear()
        run.tokens.clear()
        run.timers.clear()
        run.status, run.output, run.error, run.cause = "RUNNING", None, None, None
        root.done = False
        root.token = None
        root.timers = {}
        self.emit(root, "ExecutionRedriven", {"redriveCount": stimulus.redrive_count})
        if self.time_limit:
            self.new_timer(root, self.now + self.time_limit, "execution-timeout")
        # Redriving never starts the fan-out a stopped top-level inline Map or Parallel
        # kept over again: only its unsuccessful children run (fanout.redrive).
        kept, root.fan = root.fan, None
        state = self.machine.states.get(root.state) if root.state else None
        if kept is not None and _goes_on_with(state, kept):
            # Not entered again (its Entered event has no Exited yet), fresh retries.
            assert state is not None
            root.attempts, root.retry_count = {}, 0
            outcome = self.guarded(root, state, fanout.redrive, kept)
            self.continue_thread(root, outcome)
        elif stimulus.map_run is not None and isinstance(state, MapState) and state.distributed:
            # A distributed Map goes on with its map run: not entered again (its
            # MapStateEntered has no MapStateExited yet), with fresh retries.
            root.attempts, root.retry_count = {}, 0
            outcome = self.guarded(root, state, fanout.run_map, stimulus.map_run)
            self.continue_thread(root, outcome)
        elif root.state:
            self.enqueue(root, root.state, root.state_input)
        else:
            self.enqueue(root, self.machine.start_at, self.info.input)

    def _endless(self) -> None:
        """Fail an execution that would outgrow its history, or that ran more states in
        one step than any execution that ever waits for something: nothing else would
        end it (its time limit needs the step to end first)."""
        if self.run.next_event_id > self.max_events:
            cause = HISTORY_LIMIT_CAUSE
        else:
            cause = STEP_LIMIT_CAUSE
        self._stop(Stop(errors.RUNTIME, cause, fail=True))

    def _stop(self, stimulus: Stop) -> None:
        run = self.run
        root = run.threads.get("")
        run.status = "FAILED" if stimulus.fail else "ABORTED"
        run.error, run.cause = stimulus.error, stimulus.cause
        if root is not None:
            details = {k: v for k, v in (("error", stimulus.error), ("cause", stimulus.cause)) if v}
            kind = "ExecutionFailed" if stimulus.fail else "ExecutionAborted"
            self.emit(root, kind, details or None)
        self._finish_all()


# What entering each type of state does (``states.py`` and ``fanout.py``).
_ENTER: dict[type, Callable[[StepContext, Thread, Any], tuple[str | None, Any] | None]] = {
    PassState: states.run_pass,
    TaskState: states.run_task,
    ChoiceState: states.run_choice,
    WaitState: states.run_wait,
    SucceedState: states.run_succeed,
    FailState: states.run_fail,
    ParallelState: fanout.run_parallel,
    MapState: fanout.run_map,
}


def enter_state(ctx: StepContext, thread: Thread, state: State) -> tuple[str | None, Any] | None:
    """Start the state ``thread`` just entered. Returns (next state, its input), or
    None when the state blocks or the thread ended."""
    enter = _ENTER.get(type(state))
    if enter is None:
        raise TypeError(f"unknown state {state!r}")
    return enter(ctx, thread, state)


def _goes_on_with(state: State | None, fan: FanOut) -> bool:
    """Whether a redrive goes on with ``fan``, the kept fan-out of the stopped ``state``:
    an inline Map's or a Parallel's (a distributed Map goes on with its map run)."""
    if isinstance(state, MapState):
        return fan.kind == "map" and not state.distributed
    return isinstance(state, ParallelState) and fan.kind == "parallel"


def _failure_details(error: str | None, cause: str | None) -> dict[str, Any]:
    """``ExecutionFailed``'s details: the error and cause that are set."""
    return {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
