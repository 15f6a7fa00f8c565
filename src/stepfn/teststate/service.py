"""TestState: run one state against an input and show what it did, as AWS's TestState does.

The state runs in the ordinary interpreter, whose step context (``interp.step_context``)
is a ``Probe``: it stops where TestState stops, when the state leaves (``output`` and
``nextState``), fails, or meets a Retry or a Catch. TestState does not retry or go on to
the catcher's state; it says what would happen (``status``):

==============  ========================================================================
SUCCEEDED       the state left normally: ``output``, and ``nextState`` unless it ends
FAILED          the error and cause; no retrier or catcher takes it (``errorDetails``
                still names a retrier whose attempts ``retrierRetryCount`` used up)
RETRIABLE       a retrier takes the error: ``errorDetails`` has its index and backoff
CAUGHT_ERROR    a catcher takes it: the catcher's ``output`` and ``nextState``
==============  ========================================================================

With ``inspectionLevel`` DEBUG or TRACE, ``inspectionData`` shows the data flow, stage by
stage (``afterInputPath``, ``afterParameters``, ``result``, ``afterResultSelector``...).
The interpreter reports the stages through its ``inspector`` hook (``interp.flow``); AWS
shows only some of them for each kind of state, and ``_SHOWN`` says which, as recorded.
TRACE adds the HTTP request and response of HTTP tasks, which stepfn does not run, so it
shows what DEBUG shows.

A mock replaces the work: a Task's service call (its result is checked against the
service's API, see ``teststate.mocks``), or a Map's iterations and a Parallel's branches,
which TestState never runs (``stateConfiguration`` says how many iterations failed).
Without a mock a Task runs through the engine's task registry (the Lambda stand-ins).
Request checks and the lookup of the state are in ``teststate.checks``.

Example:
    >>> engine.test_state(definition='{"Type": "Pass", "Result": 1, "End": true}')
    {'output': '1', 'status': 'SUCCEEDED'}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stepfn import errors
from stepfn.clock import iso8601
from stepfn.definition.model import (
    FailState,
    MapState,
    PassState,
    RetryingState,
    State,
    TaskState,
)
from stepfn.durable.effects import plan, task_request
from stepfn.errors import ExecutionError
from stepfn.interp import fanout, flow, states
from stepfn.interp.commands import (
    Begin,
    InvokeTask,
    Start,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
)
from stepfn.interp.context import ExecutionInfo, execution_info
from stepfn.interp.dataflow import evaluate_template, read_field
from stepfn.interp.events import to_json_text
from stepfn.interp.fanout import TOLERANCE_EXCEEDED_CAUSE
from stepfn.interp.machine import Interpreter, StepResult
from stepfn.interp.retry import backoff_delay, find_retrier, matches
from stepfn.interp.runstate import FanOut, RunState, Thread
from stepfn.interp.step_context import Next, Outcome, PassThrough, Vars
from stepfn.service.context import ServiceContext
from stepfn.tasks.base import Registry, TaskOutcome, TaskRequest
from stepfn.teststate.checks import (
    READER_VARIABLE,
    SINGLE_STATE_NAME,
    Target,
    TestRequest,
    check_against_state,
    read_request,
    reader_items,
    resolve,
    with_reader_items,
)
from stepfn.teststate.mocks import check_mock_result

__all__ = ["Probe", "TestState"]

# A state that needs more rounds than this (a task answered, a wait over, a fan-out
# settled: three at most) is not finishing; the bound keeps a bug from spinning forever.
MAX_ROUNDS = 16

# The data-flow stages AWS shows, by query language and state type (recorded answers:
# a Parallel shows no afterInputPath even with an InputPath; a Pass with a Result shows
# the Result and not the input processing; JSONata states show their input and little
# more). Fail never evaluates an InputPath; AWS shows its input there.
_JSONPATH_RESULT = ("afterResultSelector", "afterResultPath")
_SHOWN: dict[tuple[bool, str], tuple[str, ...]] = {
    (False, "Pass"): ("input", "afterInputPath", "afterParameters", *_JSONPATH_RESULT),
    (False, "PassResult"): ("input", "result", *_JSONPATH_RESULT),
    (False, "Task"): ("input", "afterInputPath", "afterParameters", "result", *_JSONPATH_RESULT),
    (False, "Map"): (
        "input",
        "afterInputPath",
        "afterItemsPath",
        "afterItemSelector",
        "afterItemBatcher",
        *_JSONPATH_RESULT,
    ),
    (False, "Parallel"): ("input", *_JSONPATH_RESULT),
    (True, "Task"): ("input", "afterArguments", "result"),
    (True, "Map"): ("input", "afterItemSelector", "afterItemBatcher"),
}
_SHOWN_OTHERWISE = {False: ("input", "afterInputPath"), True: ("input",)}
# inspectionData's members in the service model's order.
_ORDER = (
    "input",
    "afterArguments",
    "afterInputPath",
    "afterParameters",
    "result",
    "afterResultSelector",
    "afterResultPath",
    "variables",
    "errorDetails",
    "afterItemsPath",
    "afterItemSelector",
    "afterItemBatcher",
    "toleratedFailureCount",
    "toleratedFailurePercentage",
    "maxConcurrency",
)
_MAP_NUMBERS = ("toleratedFailureCount", "toleratedFailurePercentage", "maxConcurrency")

_TOKEN_PATTERN = re.compile(r"\.waitForTaskToken$")
# The interpreter locates a state's failure in the history; a tested state has none.
_LOCATION = re.compile(
    r"^An error occurred while executing the state '.*?' \(entered at the event id #\d+\)\. ",
    re.DOTALL,
)


class TestState:
    """The TestState operation."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, ctx: ServiceContext, registry: Registry) -> None:
        self.clock = ctx.clock
        self.ids = ctx.ids
        self.region = ctx.region
        self.account = ctx.account
        self.registry = registry

    def test_state(
        self,
        definition: str,
        roleArn: str | None = None,
        input: str | None = None,
        inspectionLevel: str | None = None,
        revealSecrets: bool | None = None,
        variables: str | None = None,
        stateName: str | None = None,
        mock: dict[str, Any] | None = None,
        context: str | None = None,
        stateConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """TestState: run the state and answer as AWS answers (boto3's response shape).

        Raises:
            ServiceError: ``ValidationException``, ``InvalidDefinition`` or
                ``InvalidExecutionInput``, with AWS's texts.
        """
        request = read_request(
            definition=definition,
            role_arn=roleArn,
            input=input,
            level=inspectionLevel,
            reveal_secrets=revealSecrets,
            variables=variables,
            state_name=stateName,
            mock=mock,
            context=context,
            configuration=stateConfiguration,
        )
        target = resolve(definition, stateName)
        check_against_state(request, target.state)
        if request.has_mock_result and isinstance(target.state, TaskState):
            check_mock_result(target.state.resource, request.mock_result, request.validation_mode)
        hidden: dict[str, Any] = {}
        if request.reader_data is not None:
            assert isinstance(target.state, MapState)
            hidden[READER_VARIABLE] = reader_items(target.state, request.reader_data)
            target = with_reader_items(target)
        now = self.clock.now()
        info = execution_info(
            self.ids.uuid(),
            request.input,
            now,
            state_machine_name=self.ids.uuid(),
            state_machine_type="EXPRESS",
            role_arn=request.role_arn,
            region=self.region,
            account=self.account,
        )
        probe = Probe(target, request, info, self.ids, hidden)
        probe.run_state(now, self.registry.invoke)
        return probe.response()


@dataclass
class Verdict:
    """How the tested state ended."""

    status: str
    output: Any = None
    has_output: bool = False
    next_state: str | None = None
    error: str | None = None
    cause: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Probe(PassThrough):
    """A step context (``interp.step_context``) that runs one state and stops, watching
    its data flow.

    It drives an ordinary interpreter and is the context that interpreter hands the
    state modules: it passes most members on (``PassThrough``) and answers itself where
    a state's run ends (``exit_state``, ``fail_thread``, ``state_failed``: a
    ``Verdict`` instead of moving on), what the state reads (``context_object``,
    ``variables``), and never starts the children of a Map or Parallel (``enqueue``): a
    test mocks their results. It is its own ``inspector`` (``interp.flow.Inspector``),
    keeping the stages the data flow reports.
    """

    def __init__(
        self,
        target: Target,
        request: TestRequest,
        info: ExecutionInfo,
        ids: Any,
        hidden: dict[str, Any] | None = None,
    ) -> None:
        self.interpreter = Interpreter(target.machine, info, ids, context=self)
        super().__init__(self.interpreter)
        self.inspector = self
        self.state = target.state
        self.request = request
        self.hidden = hidden or {}
        self.stages: dict[str, Any] = {}
        self.verdict: Verdict | None = None
        self.root: Thread | None = None

    # --- the inspector -----------------------------------------------------------------------

    def stage(self, name: str, value: Any) -> None:
        """Keep a data-flow stage (the last one of a name wins)."""
        self.stages[name] = value

    # --- what the state reads ----------------------------------------------------------------

    def context_object(
        self, thread: Thread, task_token: str | None, map_item: tuple[int, Any] | None
    ) -> dict[str, Any]:
        """The context object: the one the request gave, or the one AWS makes up for a
        test (an Express execution's ARNs, the state named ``StateName``, no
        ``RedriveCount``, ``RetryCount`` for states with Retry). ``Task`` is there only
        for the ``.waitForTaskToken`` pattern, the one that hands its token on."""
        state = self._state_of(thread)
        if not _waits_for_token(state):
            task_token = None
        given = self.request.context
        if given is not None:
            ctx = dict(given)
            if task_token is not None and "Task" not in ctx:
                ctx["Task"] = {"Token": task_token}
        else:
            info = self.interpreter.info
            ctx = {
                "Execution": {
                    "Id": info.execution_arn,
                    "Input": info.input,
                    "Name": info.name,
                    "RoleArn": self.request.role_arn,
                    "StartTime": iso8601(info.start_time),
                },
                "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
                "State": {"Name": SINGLE_STATE_NAME, "EnteredTime": iso8601(thread.entered_time)},
            }
            # ``RetryCount`` as the request sets it (``retrierRetryCount``), for states
            # with Retry: AWS shows it for Map states too.
            if isinstance(state, RetryingState):
                ctx["State"]["RetryCount"] = self.request.retry_count
            if task_token is not None:
                ctx["Task"] = {"Token": task_token}
        if map_item is not None:
            ctx["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
        return ctx

    def _state_of(self, thread: Thread) -> State | None:
        return self.interpreter.machines[thread.machine_key].states.get(thread.state)

    def variables(self, thread: Thread) -> dict[str, Any]:
        """The variables, with the items a Map's reader would read (``hidden``)."""
        seen = self.interpreter.variables(thread)
        return {**seen, **self.hidden} if self.hidden else seen

    # --- the interpreter, as far as one state goes ---------------------------------------------

    def enqueue(self, thread: Thread, state_name: str, data: Any, front: bool = False) -> None:
        """Run only the state under test: its iterations and branches are mocked."""
        if thread.parent is None:
            self.interpreter.enqueue(thread, state_name, data, front)

    def exit_state(
        self, thread: Thread, state: State, output: Any, assigned: Vars, next_state: Next = None
    ) -> Outcome:
        """The state left: its output, and where it would go."""
        target = None if state.end else (next_state or state.next)
        thread.done = True
        self._decide(Verdict("SUCCEEDED", output=output, has_output=True, next_state=target))
        return None

    def fail_thread(self, thread: Thread, error: str | None, cause: str | None) -> None:
        """A Fail state's error (nothing can handle it)."""
        thread.done = True
        self._decide(Verdict("FAILED", error=error, cause=cause))

    def state_failed(
        self, thread: Thread, state: State, error: str | None, cause: str | None
    ) -> tuple[str | None, Any] | None:
        """What Retry and Catch would do with the error, without doing it."""
        thread.done = True
        cause = _items_cause(state, error, _unlocated(cause))
        details: dict[str, Any] = {}
        if isinstance(state, RetryingState):
            index = find_retrier(state.retry, error)
            if index is not None:
                details["retryIndex"] = index
                retrier = state.retry[index]
                done = self.request.retry_count
                if done < retrier.max_attempts:
                    delay = backoff_delay(retrier, done, self.ids)
                    details["retryBackoffIntervalSeconds"] = int(delay)
                    self._decide(Verdict("RETRIABLE", error=error, cause=cause, details=details))
                    return None
            for index, catcher in enumerate(state.catch):
                if matches(catcher.error_equals, error):
                    details["catchIndex"] = index
                    self._catch(thread, state, index, error, cause, details)
                    return None
        self._decide(Verdict("FAILED", error=error, cause=cause, details=details))
        return None

    def _catch(
        self,
        thread: Thread,
        state: State,
        index: int,
        error: str | None,
        cause: str | None,
        details: dict[str, Any],
    ) -> None:
        assert isinstance(state, RetryingState)
        catcher = state.catch[index]
        error_output = {"Error": error} if cause is None else {"Error": error, "Cause": cause}
        try:
            output, _ = states.catch_output(self, thread, state, catcher, error_output)
        except ExecutionError as exc:
            self._decide(Verdict("FAILED", error=exc.error, cause=_unlocated(exc.cause)))
            return
        self._decide(
            Verdict(
                "CAUGHT_ERROR",
                output=output,
                has_output=True,
                next_state=catcher.next,
                error=error,
                cause=cause,
                details=details,
            )
        )

    def _decide(self, verdict: Verdict) -> None:
        if self.verdict is None:
            self.verdict = verdict

    # --- running the state ---------------------------------------------------------------------

    def run_state(self, now: float, invoke: Callable[[TaskRequest], TaskOutcome]) -> None:
        """Run the state to its verdict: a task is answered by its mock or by ``invoke``, a
        Wait ends at once, a Map or Parallel settles with its mock."""
        run = RunState()
        step = self.interpreter.step
        step(run, Start(begin=False), now)
        root = self.root = run.threads[""]
        root.variables.update(self.request.variables)
        state = self.state
        info = self.interpreter.info
        self.stage("input", info.input)
        if isinstance(state, FailState):
            self.stage("afterInputPath", info.input)
        if isinstance(state, PassState) and state.has_result:
            self.stage("result", state.result)
        result = step(run, Begin(), now)
        for _ in range(MAX_ROUNDS):
            if self.verdict is not None:
                return
            effects = plan(result.commands)
            if effects.tasks:
                result = self._answer(run, root, effects.tasks[0], invoke, now)
                continue
            wait = next((c for c in effects.timers if root.timers.get(c.timer_id) == "wait"), None)
            if wait is not None:
                result = step(run, TimerFired(wait.timer_id), now)
                continue
            if root.fan is not None:
                self._settle(root, root.fan)
                continue
            break
        if self.verdict is None:
            raise RuntimeError(f"the state '{state.name}' did not finish its test")

    def _answer(
        self,
        run: RunState,
        root: Thread,
        task: InvokeTask,
        invoke: Callable[[TaskRequest], TaskOutcome],
        now: float,
    ) -> StepResult:
        request, step = self.request, self.interpreter.step
        if request.has_mock_result:
            self.stage("result", request.mock_result)
            return step(run, TaskSucceeded(task.token, request.mock_result), now)
        if request.mocked:
            return step(run, TaskFailed(task.token, request.mock_error, request.mock_cause), now)
        outcome = invoke(task_request(task, self.interpreter.info, attempt=request.retry_count))
        # A task that took longer than its TimeoutSeconds (or, never sending a heartbeat,
        # its HeartbeatSeconds) times out, as it would in an execution.
        for limit, purpose in (
            (task.timeout_seconds, "task-timeout"),
            (task.heartbeat_seconds, "heartbeat"),
        ):
            if limit and outcome.duration > limit:
                timer = next(t for t, p in root.timers.items() if p == purpose)
                return step(run, TimerFired(timer), now)
        if outcome.succeeded:
            self.stage("result", outcome.output)
            return step(run, TaskSucceeded(task.token, outcome.output), now)
        return step(run, TaskFailed(task.token, outcome.error, outcome.cause), now)

    def _settle(self, root: Thread, fan: FanOut) -> None:
        """End a Map or Parallel with its mock: the results, or the error."""
        state = self.interpreter.machine.states[root.state]
        self.interpreter.abort_children(root)
        root.fan = None
        request = self.request
        if isinstance(state, MapState):
            self.guarded(root, state, Probe._inspect_map, fan)
            if self.verdict is not None:
                return
        if request.mock_error is not None:
            self.state_failed(root, state, request.mock_error, request.mock_cause)
            return
        results = request.mock_result
        if isinstance(state, MapState) and _exceeds_tolerance(
            fan, request.failure_count or 0, len(results) if isinstance(results, list) else 0
        ):
            self.state_failed(
                root, state, errors.EXCEED_TOLERATED_FAILURE_THRESHOLD, TOLERANCE_EXCEEDED_CAUSE
            )
            return
        self.guarded(root, state, fanout.finish_results, results)

    def _inspect_map(self, thread: Thread, state: MapState, fan: FanOut) -> None:
        """A Map's inspection data: its limits, and its items as they would go to the
        iterations (ItemsPath, ItemBatcher, ItemSelector)."""
        self.stage("maxConcurrency", int(fan.max_concurrency))
        if fan.tolerated_count is not None:
            self.stage("toleratedFailureCount", int(fan.tolerated_count))
        if fan.tolerated_percentage is not None:
            self.stage("toleratedFailurePercentage", float(fan.tolerated_percentage))
        if not state.jsonata:
            effective = fan.effective_input
            scope = self.scope(thread)
            items = (
                read_field(state.items_path, effective, scope) if state.items_path else effective
            )
            self.stage("afterItemsPath", items)
        if state.item_batcher:
            self.stage("afterItemBatcher", fan.items)
        if state.has_item_selector:
            inputs = [self._item_input(thread, state, fan, i, v) for i, v in enumerate(fan.items)]
            self.stage("afterItemSelector", inputs)

    def _item_input(
        self, thread: Thread, state: MapState, fan: FanOut, index: int, item: Any
    ) -> Any:
        if state.jsonata:
            bindings = flow.jsonata_bindings(
                self, thread, thread.state_input, map_item=(index, item)
            )
            return flow.jsonata_value(self, state.item_selector_raw, bindings, "ItemSelector")
        assert state.item_selector is not None
        scope = self.scope(thread, map_item=(index, item))
        return evaluate_template(state.item_selector, fan.effective_input, scope)

    # --- the answer ----------------------------------------------------------------------------

    def response(self) -> dict[str, Any]:
        """TestState's response (boto3's shape: JSON values as JSON text)."""
        verdict = self.verdict
        assert verdict is not None
        out: dict[str, Any] = {}
        if verdict.has_output:
            out["output"] = to_json_text(verdict.output)
        if verdict.error is not None:
            out["error"] = verdict.error
        if verdict.cause is not None:
            out["cause"] = verdict.cause
        if self.request.level != "INFO":
            out["inspectionData"] = self._inspection(verdict)
        if verdict.next_state is not None:
            out["nextState"] = verdict.next_state
        out["status"] = verdict.status
        return out

    def _inspection(self, verdict: Verdict) -> dict[str, Any]:
        state = self.state
        kind = state.type
        if isinstance(state, PassState) and state.has_result:
            kind = "PassResult"
        shown = _SHOWN.get((state.jsonata, kind), _SHOWN_OTHERWISE[state.jsonata])
        data: dict[str, Any] = {}
        for name in shown:
            if name in self.stages:
                data[name] = to_json_text(self.stages[name])
        if isinstance(state, MapState):
            for name in _MAP_NUMBERS:
                if name in self.stages:
                    data[name] = self.stages[name]
        variables = self.root.variables if self.root is not None else {}
        if variables:
            data["variables"] = to_json_text(variables)
        if verdict.details:
            data["errorDetails"] = dict(verdict.details)
        return {name: data[name] for name in _ORDER if name in data}


def _exceeds_tolerance(fan: FanOut, failures: int, total: int) -> bool:
    """Whether ``failures`` of ``total`` iterations exceed the Map's tolerance. A Map
    with no tolerance set is not failed by a count alone (AWS's recorded answer)."""
    count, percentage = fan.tolerated_count, fan.tolerated_percentage
    if not failures or (count is None and percentage is None):
        return False
    if count is not None and failures <= count:
        return False
    return not (percentage is not None and total and failures * 100 <= percentage * total)


def _waits_for_token(state: State | None) -> bool:
    return isinstance(state, TaskState) and _TOKEN_PATTERN.search(state.resource) is not None


def _unlocated(cause: str | None) -> str | None:
    return None if cause is None else _LOCATION.sub("", cause, count=1)


def _items_cause(state: State, error: str | None, cause: str | None) -> str | None:
    """AWS's TestState words a JSONPath Map's items that are not an array by the path
    (``$$`` shown as ``$``): ``Reference path "$.Execution.Input" must point to array.``"""
    if (
        isinstance(state, MapState)
        and not state.jsonata
        and state.items_path is not None
        and error == errors.RUNTIME
        and cause is not None
        and cause.startswith("Map state input must be an array")
    ):
        text = state.items_path.text
        if text.startswith("$$"):
            text = text[1:]
        return f'Reference path "{text}" must point to array.'
    return cause
