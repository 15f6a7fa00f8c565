"""History events, as AWS's GetExecutionHistory shapes them.

The interpreter appends ``Event`` records while it runs. Their payloads (inputs, outputs,
parameters) are kept as JSON values and rendered to JSON text only when the history is
read or stored: most executions never look at most of their events, and rendering every
payload on the hot path would cost more than interpreting the states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stepfn.jsontext import compact

# Keys of event details whose value is a JSON payload shown as text, with the matching
# ``...Details`` entry AWS puts beside it.
_PAYLOAD_KEYS = {"input": "inputDetails", "output": "outputDetails"}
_TEXT_KEYS = ("parameters",)

# State type -> the prefix of its Entered/Exited event types.
STATE_EVENT_PREFIX = {
    "Pass": "Pass",
    "Task": "Task",
    "Choice": "Choice",
    "Wait": "Wait",
    "Succeed": "Succeed",
    "Fail": "Fail",
    "Parallel": "Parallel",
    "Map": "Map",
}


# The last event of an execution's history -> the status it leaves the execution in.
EXECUTION_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


def details_key(event_type: str) -> str:
    """The name of an event type's details field: ``PassStateEntered`` ->
    ``stateEnteredEventDetails``, ``TaskScheduled`` -> ``taskScheduledEventDetails``."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


_encode = compact  # see stepfn.jsontext


def to_json_text(value: Any) -> str:
    """JSON text as AWS writes payloads: compact, non-ASCII kept."""
    return _encode(value)


class TextMemo:
    """JSON texts of payload objects, by identity, for the events of one step.

    Events keep their payloads as values and are rendered after the step; the
    interpreter never changes a value once an event holds it (rendering is lazy for
    the same reason), so one object renders to one text. The memo holds the objects
    it has seen, so that their ids cannot be reused while it lives."""

    __slots__ = ("_texts",)

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def remember(self, value: Any, text: str) -> None:
        """Record the text of ``value`` when the caller has it already (it must be
        ``to_json_text(value)``)."""
        if isinstance(value, (dict, list)):
            self._texts[id(value)] = (value, text)

    def text(self, value: Any) -> str:
        """``to_json_text(value)``, computed once per object."""
        if not isinstance(value, (dict, list)):
            return to_json_text(value)
        found = self._texts.get(id(value))
        if found is None:
            found = self._texts[id(value)] = (value, to_json_text(value))
        return found[1]


@dataclass(slots=True)
class Event:
    """One history event. ``details`` holds JSON values under ``input``/``output``/
    ``parameters``; ``render`` turns them into AWS's text fields."""

    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: dict[str, Any] | None = None
    # Which path of control (execution, Parallel branch, Map iteration) wrote the event:
    # not an AWS field, but what lets tests compare interleaved branches per branch.
    thread: str = ""
    # The child execution (a distributed Map's item) whose history holds the event, by
    # ARN; "" for the execution's own history.
    execution: str = ""
    _rendered: dict[str, Any] | None = field(default=None, repr=False)

    def rendered_details(self, texts: TextMemo | None = None) -> dict[str, Any] | None:
        """The details with payloads as JSON text, as AWS shows them (and stores keep).

        ``texts`` shares the rendering of one payload between the events of a step:
        a state's output is usually the very object the next state gets as input."""
        if self.details is None:
            return None
        rendered: dict[str, Any] = {}
        for key, value in self.details.items():
            if key in _PAYLOAD_KEYS:
                rendered[key] = to_json_text(value) if texts is None else texts.text(value)
                rendered[_PAYLOAD_KEYS[key]] = {"truncated": False}
            elif key in _TEXT_KEYS:
                rendered[key] = to_json_text(value) if texts is None else texts.text(value)
            else:
                rendered[key] = value
        return rendered

    def render(self) -> dict[str, Any]:
        """The event as GetExecutionHistory returns it (timestamps as aware datetimes)."""
        if self._rendered is not None:
            return self._rendered
        self._rendered = render_event(
            self.id, self.previous_event_id, self.timestamp, self.type, self.rendered_details()
        )
        return self._rendered


def render_event(
    id: int, previous_event_id: int, timestamp: float, type_: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    """An event in GetExecutionHistory's shape, from its parts (details already rendered)."""
    out: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(timestamp, tz=UTC),
        "type": type_,
        "id": id,
        "previousEventId": previous_event_id,
    }
    if details is not None:
        out[details_key(type_)] = details
    return out
