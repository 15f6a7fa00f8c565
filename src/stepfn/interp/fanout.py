"""Map and Parallel: states that run child threads and gather their outputs in order.

A Map starts one child per item, at most ``MaxConcurrency`` at a time (0: no limit);
a Parallel starts one child per branch. Results land at the child's index, so they come
out in item (branch) order whatever order the children finish in. A child's failure
fails the state (unless a Map tolerates it), aborting the children still running.

A distributed Map runs its items (or batches) as child executions, as AWS does: the
parent's history shows only ``MapRun*`` events, and each child thread is the root of a
child execution with a history of its own (see ``children.py``).
Children of ExecutionType EXPRESS are not stored on AWS: they are *silent* threads here,
whose events are dropped.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from stepfn import errors
from stepfn.arns import ArnBuilder
from stepfn.definition.model import MapState, ParallelState, State
from stepfn.errors import StateError
from stepfn.interp import children, flow, item_reader, map_data, result_writer
from stepfn.interp.commands import MapRunRedrive
from stepfn.interp.dataflow import evaluate_template, read_field
from stepfn.interp.events import to_json_text
from stepfn.interp.retry import will_retry
from stepfn.interp.runstate import SILENT, RedriveOf
from stepfn.lang.jsonata import json_type
from stepfn.lang.jsonpath import JsonPath

if TYPE_CHECKING:
    from stepfn.interp.machine import FanOut, Thread
    from stepfn.interp.step_context import StepContext

Outcome = tuple[str | None, Any] | None

TOLERANCE_EXCEEDED_CAUSE = "The specified tolerated failure threshold was exceeded"

# At most this many child executions of a distributed Map run at once, as on AWS (its
# MaxConcurrency 0 means "as many as that"): the others wait as item indexes, so that a
# map run of a million items never holds a million threads in its run state.
MAX_CHILD_EXECUTIONS = 10_000

# AWS's hard limit of redrives of one map run; past it the Map fails with States.Runtime
# (the cause is our wording).
MAX_MAP_RUN_REDRIVES = 1000
MAP_RUN_REDRIVES_CAUSE = (
    f"The Map Run has been redriven {MAX_MAP_RUN_REDRIVES} times and cannot be redriven again"
)


# --- Map -------------------------------------------------------------------------------------


def run_map(
    interp: StepContext, thread: Thread, state: MapState, redrive: MapRunRedrive | None = None
) -> Outcome:
    """Enter a Map state: find its items and start the first iterations. With
    ``redrive``, go on with that map run of a distributed Map (see ``_redrive_items``):
    its items are found again from the same input, and only the ones that did not
    succeed run."""
    from stepfn.interp.machine import FanOut

    raw = thread.state_input
    # With an ItemReader the items are read after the map run starts (item_reader.py).
    reading = item_reader.reads_items(state)
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)
        if reading:
            items = []
        elif state.has_items:
            items = flow.jsonata_value(interp, state.items, bindings, "Items")
            if not isinstance(items, list):
                raise StateError(
                    errors.QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{flow.expression_text(state.items)}' specified "
                    "for the field 'Items' returned an unexpected result type. Expected "
                    f"'array', but was '{json_type(items)}' for value: "
                    f"{to_json_text(items)}",
                )
        else:
            items = _must_be_array(raw, errors.QUERY_EVALUATION_ERROR)
        effective = raw
        max_concurrency = _jsonata_number(interp, state.max_concurrency, bindings, "MaxConcurrency")
        if redrive is None:
            _map_started(interp, thread, state, items)
        tolerated_count = _jsonata_number(
            interp, state.tolerated_failure_count, bindings, "ToleratedFailureCount"
        )
        tolerated_pct = _jsonata_number(
            interp, state.tolerated_failure_percentage, bindings, "ToleratedFailurePercentage"
        )
    else:
        scope = interp.scope(thread)
        effective = flow.effective_input(interp, thread, state, raw, scope, parameters=False)
        if reading:
            items = []
        elif state.items_path:
            items = read_field(state.items_path, effective, scope)
        else:
            items = effective
        items = _must_be_array(items, errors.RUNTIME)
        max_concurrency = _path_integer(
            state.max_concurrency, state.max_concurrency_path, "MaxConcurrencyPath", raw, scope
        )
        if redrive is None:
            _map_started(interp, thread, state, items)
        tolerated_count = _path_integer(
            state.tolerated_failure_count,
            state.tolerated_failure_count_path,
            "ToleratedFailureCountPath",
            raw,
            scope,
        )
        tolerated_pct = _path_float(
            state.tolerated_failure_percentage,
            state.tolerated_failure_percentage_path,
            "ToleratedFailurePercentagePath",
            raw,
            scope,
        )
    if tolerated_count is not None and tolerated_count < 0:
        raise StateError(errors.RUNTIME, "ToleratedFailureCount cannot be negative.")
    if tolerated_pct is not None and not 0 <= tolerated_pct <= 100:
        raise StateError(errors.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    map_run, map_run_event_id = "", 0
    if redrive is not None:
        if redrive.redrive_count > MAX_MAP_RUN_REDRIVES:
            raise StateError(errors.RUNTIME, MAP_RUN_REDRIVES_CAUSE)
        map_run, map_run_event_id = redrive.arn, redrive.started_event_id
        details = {"mapRunArn": map_run, "redriveCount": redrive.redrive_count}
        interp.emit(thread, "MapRunRedriven", details)
    elif state.distributed:
        map_run = _map_run_arn(interp, thread, state)
        map_run_event_id = interp.emit(thread, "MapRunStarted", {"mapRunArn": map_run}).id
    items = [] if reading else item_reader.batch(interp, thread, state, items)
    if state.distributed and not state.item_batcher:
        # A list of its own: its slots are let go as children start (_start_child), and
        # the one read from the input is part of the input.
        items = list(items)
    fan = FanOut(
        kind="map",
        items=items,
        results=[None] * len(items),
        pending=deque(range(len(items))),
        max_concurrency=int(max_concurrency or 0),
        tolerated_count=None if tolerated_count is None else int(tolerated_count),
        tolerated_percentage=None if tolerated_pct is None else float(tolerated_pct),
        effective_input=effective,
        map_run=map_run,
        map_run_event_id=map_run_event_id,
    )
    thread.fan = fan
    if reading:
        if redrive is not None:
            map_data.remember_redrive(fan, redrive)
        try:
            item_reader.start_reading(interp, thread, state, fan)
        except item_reader.ReaderFailed as exc:
            return map_data.map_run_failed(
                interp, thread, state, errors.ITEM_READER_FAILED, exc.cause
            )
        return None
    if redrive is not None:
        _redrive_items(fan, redrive)
    if not fan.pending:
        return _complete(interp, thread, state, fan)
    _start_children(interp, thread, state, fan)
    return None


def _redrive_items(fan: FanOut, redrive: MapRunRedrive) -> None:
    """Set a redriven map run's items up as AWS redrives them: the outputs of the
    children that succeeded are kept (they do not run again); the others, unsuccessful
    or never started, are pending, in item order under the same MaxConcurrency, the
    unsuccessful ones to be redriven as the child executions they were."""
    by_index = {child.index: child for child in redrive.children}
    fan.pending.clear()
    for index in range(len(fan.items)):
        child = by_index.get(index)
        if child is not None and child.status == "SUCCEEDED":
            fan.results[index] = child.output
            continue
        if child is not None:
            fan.redriven[index] = RedriveOf(
                child.arn, child.next_event_id, child.redrive_count, child.start_date
            )
        fan.pending.append(index)


def _must_be_array(items: Any, error: str) -> list[Any]:
    """``items`` when they are an array; else the Map state fails with ``error``."""
    if not isinstance(items, list):
        raise StateError(error, f"Map state input must be an array but was: {to_json_text(items)}")
    return items


def _map_started(interp: StepContext, thread: Thread, state: MapState, items: list[Any]) -> None:
    # AWS records MapStateStarted once it has the items and MaxConcurrency, before it
    # reads the failure tolerances (whose errors come after it in the history).
    batched = item_reader.batch(interp, thread, state, items) if state.item_batcher else items
    size = len(batched)
    interp.emit(thread, "MapStateStarted", {"length": size})


def _map_run_arn(interp: StepContext, thread: Thread, state: MapState) -> str:
    # Inside a child execution, the child's own state machine and name.
    info = interp.info_of(thread)
    label = state.label or state.name
    return ArnBuilder(info.region, info.account).map_run(info.state_machine_name, label, info.name)


def _jsonata_number(
    interp: StepContext, value: Any, bindings: dict[str, Any], field: str
) -> float | None:
    # A Map's limits may be numbers as written (no expression to evaluate).
    if isinstance(value, int | float):
        return value
    return flow.jsonata_number(interp, value, bindings, field, "number")


def _numeric_text(value: Any) -> Any:
    """AWS reads these path fields as Java parses numbers: "1" is 1."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def _quoted_text(value: Any) -> str:
    """A value as AWS shows it between the quotes of a cause: a string as itself (so that
    ``"NoNumber"`` is not quoted twice), anything else as JSON (``"{}"``)."""
    return value if isinstance(value, str) else to_json_text(value)


def _path_integer(
    value: Any, path: JsonPath | None, field: str, data: Any, scope: Any
) -> int | None:
    if path is None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    found = _numeric_text(read_field(path, data, scope))
    if (
        isinstance(found, bool)
        or not isinstance(found, int | float)
        or (isinstance(found, float) and not found.is_integer())
    ):
        raise StateError(
            errors.RUNTIME,
            f'The {field} field refers to value "{_quoted_text(found)}" which is not a valid '
            f"integer: {path.text}",
        )
    return int(found)


def _path_float(
    value: Any, path: JsonPath | None, field: str, data: Any, scope: Any
) -> float | None:
    if path is None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None
    found = _numeric_text(read_field(path, data, scope))
    if isinstance(found, bool) or not isinstance(found, int | float):
        raise StateError(
            errors.RUNTIME,
            f'The {field} field refers to value "{_quoted_text(found)}" which is not a valid '
            f"float: {path.text}",
        )
    return float(found)


def _item_input(interp: StepContext, thread: Thread, state: MapState, index: int, item: Any) -> Any:
    """An iteration's input: the item, or ItemSelector evaluated with $$.Map.Item."""
    fan = thread.fan
    assert fan is not None
    if not state.has_item_selector:
        return item
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, thread.state_input, map_item=(index, item))
        return flow.jsonata_value(interp, state.item_selector_raw, bindings, "ItemSelector")
    assert state.item_selector is not None
    scope = interp.scope(thread, map_item=(index, item))
    return evaluate_template(state.item_selector, fan.effective_input, scope)


# --- Parallel --------------------------------------------------------------------------------


def run_parallel(interp: StepContext, thread: Thread, state: ParallelState) -> Outcome:
    """Enter a Parallel state: start every branch on the same input."""
    from stepfn.interp.machine import FanOut

    raw = thread.state_input
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)
        effective = (
            flow.jsonata_value(interp, state.arguments, bindings, "Arguments")
            if state.has_arguments
            else raw
        )
    else:
        scope = interp.scope(thread)
        effective = flow.effective_input(interp, thread, state, raw, scope)
    interp.emit(thread, "ParallelStateStarted")
    count = len(state.branches)
    fan = FanOut(
        kind="parallel",
        items=[effective] * count,
        results=[None] * count,
        pending=deque(range(count)),
        effective_input=effective,
    )
    thread.fan = fan
    _start_children(interp, thread, state, fan)
    return None


# --- children ----------------------------------------------------------------------------------


def _start_children(interp: StepContext, thread: Thread, state: State, fan: FanOut) -> None:
    """Start children while there are items and room under MaxConcurrency."""
    started = []
    limit = fan.max_concurrency
    if fan.map_run and not 0 < limit <= MAX_CHILD_EXECUTIONS:
        limit = MAX_CHILD_EXECUTIONS  # a distributed Map's children, at most AWS's
    while fan.pending and (limit <= 0 or len(fan.running) < limit):
        index = fan.pending.popleft()
        started.append(_start_child(interp, thread, state, fan, index))
    # Queue them in index order at the front, so they run before older work and in order.
    for child, start_at, data in reversed(started):
        interp.enqueue(child, start_at, data, front=True)


def _start_child(
    interp: StepContext, thread: Thread, state: State, fan: FanOut, index: int
) -> tuple[Thread, str, Any]:
    item = fan.items[index]
    if isinstance(state, MapState):
        key = f"{thread.machine_key}/{state.name}"
        data = _item_input(interp, thread, state, index, item)
        child = interp.new_thread(thread, key, index)
        child.map_item = (index, item)
        if state.distributed and not thread.silent:
            if state.execution_type == "STANDARD":
                redriven = fan.redriven.pop(index, None)
                if redriven is None:
                    children.start(interp, thread, child, state, fan, index, data)
                else:
                    children.redrive(interp, child, state, redriven, data)
                # The child's input is in its own history now: a map run of many items
                # need not carry them all in its run state to its end. (TestState, which
                # inspects the items afterwards, runs no child executions for real.)
                if getattr(interp, "inspector", None) is None:
                    fan.items[index] = None
            else:
                child.execution = SILENT
        elif child.execution != SILENT:
            child.announce = ("MapIterationStarted", {"name": state.name, "index": index})
        machine = state.processor
    else:
        assert isinstance(state, ParallelState)
        key = f"{thread.machine_key}/{state.name}/{index}"
        data = item
        child = interp.new_thread(thread, key, index)
        machine = state.branches[index]
    assert machine is not None
    fan.running[index] = child.id
    return child, machine.start_at, data


def child_succeeded(interp: StepContext, parent: Thread, child: Thread, output: Any) -> None:
    """A branch or iteration ended well: keep its output; start more or finish."""
    fan = parent.fan
    if fan is None or child.index not in fan.running:
        return
    state = interp.state_of(parent)
    del fan.running[child.index]
    if (
        not isinstance(state, MapState)
        or state.result_writer is None  # the common case, told without two calls per item
        or result_writer.keeps_outputs(state)
    ):
        fan.results[child.index] = output
    fan.succeeded.add(child.index)
    # An inline Map's iterations record MapIteration* events, unless silent; a
    # distributed Map's items are executions. (Not ``child.silent``: a property call
    # costs more than the test, once per iteration.)
    if isinstance(state, MapState) and not state.distributed and child.execution != SILENT:
        interp.emit(child, "MapIterationSucceeded", {"name": state.name, "index": child.index})
    _settle(interp, parent, state, fan)


def child_failed(
    interp: StepContext, parent: Thread, child: Thread, error: str | None, cause: str | None
) -> None:
    """A branch or iteration failed: tolerate it, or fail the state."""
    fan = parent.fan
    if fan is None or child.index not in fan.running:
        return
    state = interp.state_of(parent)
    del fan.running[child.index]
    fan.failures += 1
    if isinstance(state, MapState):
        if not state.distributed and child.execution != SILENT:
            interp.emit(child, "MapIterationFailed", {"name": state.name, "index": child.index})
        if _tolerated(fan):
            fan.results[child.index] = {"Error": error, "Cause": cause}
            _settle(interp, parent, state, fan)
            return
        if fan.tolerated_count is not None or fan.tolerated_percentage is not None:
            error, cause = errors.EXCEED_TOLERATED_FAILURE_THRESHOLD, TOLERANCE_EXCEEDED_CAUSE
    unstarted = list(fan.pending)
    _abort_running(interp, parent, state, fan)
    if isinstance(state, MapState) and result_writer.writes_results(state):
        # A failed map run's results are written too, as AWS writes them; the state
        # fails once they are (map_data.data_answered).
        fan.failure = [error, cause]
        result_writer.start_writing(interp, parent, state, fan, unstarted)
        return
    parent.fan = None
    if isinstance(state, MapState) and state.distributed:
        interp.emit(parent, "MapRunFailed", {})
    # A state about to be retried shows no Failed event: AWS starts it again at once.
    if not will_retry(parent, state, error):
        interp.emit(
            parent, "MapStateFailed" if isinstance(state, MapState) else "ParallelStateFailed"
        )
    outcome = interp.state_failed(parent, state, error, cause)
    _keep_for_redrive(interp, parent, state, fan)
    interp.continue_thread(parent, outcome)


def _keep_for_redrive(interp: StepContext, parent: Thread, state: State, fan: FanOut) -> None:
    """Keep the fan-out of a top-level inline Map or Parallel whose failure failed the
    execution: RedriveExecution goes on with it (``redrive``). Only its successes
    matter then, so the other results are dropped. (A stopped or timed-out execution
    keeps the fan-out it had: ``abort_children`` leaves it on the thread.)"""
    if not parent.done or parent.parent is not None:
        return  # retried, caught, or inside a branch or iteration
    if interp.info.state_machine_type != "STANDARD":
        return  # only Standard executions are redriven
    if isinstance(state, MapState) and state.distributed:
        return  # its map run is redriven from the store (map_redrive.py)
    for index in range(len(fan.results)):
        if index not in fan.succeeded:
            fan.results[index] = None
    parent.fan = fan


def redrive(interp: StepContext, thread: Thread, state: State, fan: FanOut) -> Outcome:
    """Go on with the kept fan-out of a top-level inline Map or Parallel, as AWS's
    RedriveExecution does: the children that succeeded keep their outputs and do not
    run again; the ones that failed or were aborted, and those never started, run (from
    their start), in index order under the same MaxConcurrency. The items, the effective
    input and the tolerances are the ones the state evaluated when it was entered."""
    fan.failures = 0
    fan.running.clear()
    fan.pending = deque(i for i in range(len(fan.items)) if i not in fan.succeeded)
    fan.redriven.clear()
    thread.fan = fan
    if not fan.pending:
        return _complete(interp, thread, state, fan)
    _start_children(interp, thread, state, fan)
    return None


def _tolerated(fan: FanOut) -> bool:
    if fan.tolerated_count is not None and fan.failures <= fan.tolerated_count:
        return True
    if fan.tolerated_percentage is not None and fan.items:
        return fan.failures * 100 <= fan.tolerated_percentage * len(fan.items)
    return False


def _abort_running(interp: StepContext, parent: Thread, state: State, fan: FanOut) -> None:
    for index, child_id in sorted(fan.running.items()):
        child = interp.run.threads.get(child_id)
        if child is None:
            continue
        started = child.announce is None
        interp.abort_thread(child)
        inline = isinstance(state, MapState) and not state.distributed
        if inline and child.execution != SILENT and started:
            interp.emit(child, "MapIterationAborted", {"name": state.name, "index": index})
    fan.running.clear()
    fan.pending.clear()


def _settle(interp: StepContext, parent: Thread, state: State, fan: FanOut) -> None:
    if fan.pending:
        _start_children(interp, parent, state, fan)
    if not fan.running and not fan.pending:
        outcome = interp.guarded(parent, state, _complete, fan)
        interp.continue_thread(parent, outcome)


def _complete(interp: StepContext, thread: Thread, state: State, fan: FanOut) -> Outcome:
    """All children are done: the state's result is their outputs, in order (or, with
    a ResultWriter, where they were written, once they are)."""
    if isinstance(state, MapState) and result_writer.writes_results(state):
        result_writer.start_writing(interp, thread, state, fan)
        return None
    thread.fan = None
    if isinstance(state, MapState):
        if state.distributed:
            interp.emit(thread, "MapRunSucceeded")  # AWS gives it no details
        interp.emit(thread, "MapStateSucceeded")
    return finish_results(interp, thread, state, fan.results)


def finish_results(interp: StepContext, thread: Thread, state: State, results: Any) -> Outcome:
    """A Map's or Parallel's result flow from its children's outputs: ResultSelector,
    ResultPath, OutputPath (or JSONata's Assign and Output), then leave the state."""
    assert isinstance(state, MapState | ParallelState)
    raw = thread.state_input
    if state.jsonata:
        return flow.finish_jsonata(interp, thread, state, raw, result=results, has_result=True)
    scope = interp.scope(thread)
    if state.result_selector is not None:
        results = evaluate_template(state.result_selector, results, scope)
    return flow.finish_jsonpath(interp, thread, state, raw, results, scope)


def restart(interp: StepContext, thread: Thread, state: State) -> Outcome:
    """Run a Map or Parallel state again after a retry's backoff."""
    if isinstance(state, MapState):
        return run_map(interp, thread, state)
    if isinstance(state, ParallelState):
        return run_parallel(interp, thread, state)
    raise TypeError(f"cannot retry a {state.type} state")
