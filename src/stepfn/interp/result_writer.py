"""A distributed Map's ``ResultWriter``: its children's results written to S3, asked for
without any I/O.

When every child of a Map with a ``ResultWriter`` (a ``Resource``:
``arn:aws:states:::s3:putObject``) has ended, the interpreter evaluates the writer's
``Parameters`` (``Arguments`` in JSONata) and issues an ``InvokeTask`` with this payload::

    {"Parameters": {"Bucket": "b", "Prefix": "p"}, "WriterConfig": {...},
     "MapRunArn": "arn:...:mapRun:...", "ExecutionType": "STANDARD", "Results": [...]}

The children of a STANDARD map run are stored executions: the engine reads their
results from where it keeps them (its store, or ``stepfn.run``'s children) when it
carries the task out, so the run state never holds their outputs (a map run may have
millions). EXPRESS children are not stored: their outcomes travel in ``Results``.
The task's output is ``{"Bucket": ..., "Key": ...}`` of the manifest it wrote; the Map's
result is then ``{"MapRunArn": ..., "ResultWriterDetails": {...}}``, as on AWS. A failed
write fails the map run with ``States.ResultWriterFailed``.

A map run that fails (its tolerated failures exceeded, or a child failing without a
tolerance) writes its results too: the children still running are aborted, then the
write is asked for, the items never started going to the PENDING file; once written
(or if the write fails) the map run and the state fail with the child's error (or
``States.ExceedToleratedFailureThreshold``), as they would have without a writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from stepfn.definition.model import MapState
from stepfn.interp import flow
from stepfn.interp.commands import InvokeTask
from stepfn.interp.dataflow import evaluate_template
from stepfn.interp.events import to_json_text

if TYPE_CHECKING:
    from stepfn.interp.runstate import FanOut, Thread
    from stepfn.interp.step_context import StepContext

WRITING = "writing"  # FanOut.phase while the results are being written


def writes_results(state: MapState) -> bool:
    """Whether the Map writes its children's results to S3 (its result is then where)."""
    writer = state.result_writer
    return state.distributed and writer is not None and "Resource" in writer


def keeps_outputs(state: MapState) -> bool:
    """Whether the Map's fan-out keeps its children's outputs: not when they are stored
    executions whose results go to S3 (they are read back from the store)."""
    return not (writes_results(state) and state.execution_type == "STANDARD")


def start_writing(
    interp: StepContext,
    thread: Thread,
    state: MapState,
    fan: FanOut,
    unstarted: Iterable[int] = (),
) -> None:
    """Ask for the results to be written: an ``InvokeTask`` answered with where.

    ``unstarted``: the items of a failed map run whose children never started (they go
    to the PENDING file with their input; a STANDARD run's started children are read
    from the store, an EXPRESS run's from ``fan``)."""
    writer = state.result_writer
    assert writer is not None
    raw = thread.state_input
    if state.jsonata:
        arguments = writer.get("Arguments")
        bindings = flow.jsonata_bindings(interp, thread, raw)
        parameters = (
            flow.jsonata_value(interp, arguments, bindings, "Arguments")
            if arguments is not None
            else {}
        )
    else:
        template = writer.get("Parameters")
        parameters = (
            evaluate_template(
                interp.compiled_template(template), fan.effective_input, interp.scope(thread)
            )
            if template is not None
            else {}
        )
    payload: dict[str, Any] = {
        "Parameters": parameters,
        "WriterConfig": dict(writer.get("WriterConfig") or {}),
        "MapRunArn": fan.map_run,
        "MapRunEventId": fan.map_run_event_id,
        "ExecutionType": state.execution_type,
    }
    if state.execution_type != "STANDARD":
        payload["Results"] = [_outcome(fan, index) for index in range(len(fan.results))]
    else:
        pending = [_pending(fan, index) for index in unstarted]
        if pending:
            payload["Results"] = pending
    token = interp.ids.uuid()
    thread.token = token
    interp.run.tokens[token] = thread.id
    fan.phase = WRITING
    interp.command(InvokeTask(token, str(writer["Resource"]), payload, state.name))


def _outcome(fan: FanOut, index: int) -> dict[str, Any]:
    result = fan.results[index]
    if index in fan.succeeded:
        return {"Status": "SUCCEEDED", "Output": to_json_text(result)}
    if isinstance(result, dict) and "Error" in result:
        return {"Status": "FAILED", "Error": result.get("Error"), "Cause": result.get("Cause")}
    return _pending(fan, index)


def _pending(fan: FanOut, index: int) -> dict[str, Any]:
    # A child that did not run to its end: never started, or aborted with its map run.
    # Its Input is the item (the batch) as read: no ItemSelector made a child's input.
    entry: dict[str, Any] = {"Status": "PENDING"}
    if index < len(fan.items) and fan.items[index] is not None:
        entry["Input"] = to_json_text(fan.items[index])
    return entry


def map_result(fan: FanOut, details: Any) -> dict[str, Any]:
    """The Map's result once its results are written: the map run and the manifest."""
    return {"MapRunArn": fan.map_run, "ResultWriterDetails": details}
