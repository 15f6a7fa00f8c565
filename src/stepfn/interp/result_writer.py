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
"""

from __future__ import annotations

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


def start_writing(interp: StepContext, thread: Thread, state: MapState, fan: FanOut) -> None:
    """Ask for the results to be written: an ``InvokeTask`` answered with where."""
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
    return {"Status": "PENDING"}


def map_result(fan: FanOut, details: Any) -> dict[str, Any]:
    """The Map's result once its results are written: the map run and the manifest."""
    return {"MapRunArn": fan.map_run, "ResultWriterDetails": details}
