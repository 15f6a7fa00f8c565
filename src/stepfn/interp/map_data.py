"""A distributed Map's reads and writes answered: what the interpreter does with the
items its ItemReader read, the manifest its ResultWriter wrote, or their failures (the
asking is in ``item_reader.py`` and ``result_writer.py``; the fan-out in ``fanout.py``).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from stepfn import errors
from stepfn.definition.model import MapState, State
from stepfn.interp import fanout, item_reader, result_writer
from stepfn.interp.commands import MapRunRedrive
from stepfn.interp.events import to_json_text
from stepfn.interp.retry import will_retry
from stepfn.interp.runstate import FanOut, RedriveOf

if TYPE_CHECKING:
    from stepfn.interp.runstate import Thread
    from stepfn.interp.step_context import StepContext

Outcome = tuple[str | None, Any] | None


def data_answered(interp: StepContext, thread: Thread, state: State, output: Any) -> Outcome:
    """The task a Map waited on answered: its ItemReader's items (start the children)
    or its ResultWriter's manifest (the Map's result)."""
    fan = thread.fan
    assert isinstance(state, MapState) and fan is not None
    if fan.phase == item_reader.READING:
        fan.phase = ""
        if not isinstance(output, list):
            cause = f"The items read are not a list: {to_json_text(output)[:200]}"  # ours
            return map_run_failed(interp, thread, state, errors.ITEM_READER_FAILED, cause)
        read_items(fan, item_reader.batch(interp, thread, state, output))
        if not fan.pending:
            return fanout._complete(interp, thread, state, fan)
        fanout._start_children(interp, thread, state, fan)
        return None
    fan.phase = ""
    if fan.failure is not None:  # a failed map run's results, written
        failed, why = fan.failure
        return map_run_failed(interp, thread, state, failed, why)
    thread.fan = None
    interp.emit(thread, "MapRunSucceeded")
    interp.emit(thread, "MapStateSucceeded")
    return fanout.finish_results(interp, thread, state, result_writer.map_result(fan, output))


def data_refused(
    interp: StepContext, thread: Thread, state: State, error: str | None, cause: str | None
) -> Outcome:
    """The read or the write a Map waited on failed: its map run fails with AWS's
    error for it, the adapter's cause kept."""
    fan = thread.fan
    assert isinstance(state, MapState) and fan is not None
    reading = fan.phase == item_reader.READING
    if not reading and fan.failure is not None:
        # The map run had failed already: that failure is the state's, not the write's.
        failed, why = fan.failure
        return map_run_failed(interp, thread, state, failed, why)
    name = errors.ITEM_READER_FAILED if reading else errors.RESULT_WRITER_FAILED
    return map_run_failed(interp, thread, state, name, cause)


def map_run_failed(
    interp: StepContext, thread: Thread, state: MapState, error: str | None, cause: str | None
) -> Outcome:
    """End a distributed Map's run with a failure of its own (not of a child)."""
    thread.fan = None
    interp.emit(thread, "MapRunFailed", {})
    if not will_retry(thread, state, error):
        interp.emit(thread, "MapStateFailed")
    return interp.state_failed(thread, state, error, cause)


def remember_redrive(fan: FanOut, redrive: MapRunRedrive) -> None:
    """Keep what a redriven map run whose items are read again needs once they are:
    its successes (index and output) and its unsuccessful children (``read_items``
    places them, as ``fanout._redrive_items`` does for items at hand)."""
    size = max((child.index for child in redrive.children), default=-1) + 1
    fan.results = [None] * size
    for child in redrive.children:
        if child.status == "SUCCEEDED":
            fan.succeeded.add(child.index)
            fan.results[child.index] = child.output
        else:
            fan.redriven[child.index] = RedriveOf(
                child.arn, child.next_event_id, child.redrive_count, child.start_date
            )


def read_items(fan: FanOut, items: list[Any]) -> None:
    """The items read: all pending, but those a redriven map run kept."""
    kept = fan.results
    fan.items = items
    fan.results = [None] * len(items)
    for index in fan.succeeded:
        if index < len(items):
            fan.results[index] = kept[index]
    fan.pending = deque(i for i in range(len(items)) if i not in fan.succeeded)
