"""Assertions on execution histories, as ``GetExecutionHistory`` or ``stepfn.run`` give
them: the states entered in order, and what a state was given and gave back.

Each helper takes the list of events (``Execution.history``) or a whole
``get_execution_history`` response (its ``events``); event inputs and outputs are JSON
text there, and come back parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

History = Sequence[Mapping[str, Any]] | Mapping[str, Any]


def _events(history: History) -> Sequence[Mapping[str, Any]]:
    if isinstance(history, Mapping):
        events: Sequence[Mapping[str, Any]] = history.get("events") or []
        return events
    return history


def states_entered(history: History) -> list[str]:
    """The names of the states entered, in the order of the history (a state entered
    twice shows twice)."""
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in _events(history)
        if str(event.get("type", "")).endswith("StateEntered")
    ]


def _detail(history: History, name: str, kind: str, field: str, occurrence: int) -> Any:
    seen = 0
    for event in _events(history):
        if not str(event.get("type", "")).endswith(kind):
            continue
        details = event.get(f"state{kind}EventDetails") or {}
        if details.get("name") != name:
            continue
        if seen == occurrence:
            text = details.get(field)
            return None if text is None else json.loads(text)
        seen += 1
    entered = ", ".join(dict.fromkeys(states_entered(history))) or "none"
    raise LookupError(
        f"state '{name}' has no {kind} event #{occurrence} in this history "
        f"(states entered: {entered})"
    )


def state_input(history: History, name: str, occurrence: int = 0) -> Any:
    """What state ``name`` was given (parsed), its ``occurrence``-th time (0: the first).

    Raises:
        LookupError: the state was not entered that often.
    """
    return _detail(history, name, "Entered", "input", occurrence)


def state_output(history: History, name: str, occurrence: int = 0) -> Any:
    """What state ``name`` gave back (parsed), its ``occurrence``-th time (0: the first).

    Raises:
        LookupError: the state did not exit that often.
    """
    return _detail(history, name, "Exited", "output", occurrence)
