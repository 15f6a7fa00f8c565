"""Each state's outcome, read from an execution's history: what the graph is coloured by.

Outcomes: ``running`` (entered, not yet left), ``succeeded`` (left normally), ``caught``
(left through a Catch after failing), ``failed`` (the failure that ended its scope),
and ``not-reached`` (never entered; the tracker leaves those out and the page colours
what it does not find).

A state that fails and is retried is still running; it is ``caught`` when it leaves
after a failure with no new attempt in between. A state entered more than once (a loop,
a Map's iterations) shows the worst of its visits: running over failed over caught over
succeeded. When a Parallel or Map fails, the states inside it that were still running
failed with it; when the execution fails, times out or is aborted, so do all states
still running.

The tracker is fed events in order, page by page or live from the change feed, so the
execution page and its event stream share one reading of the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

RUNNING = "running"
SUCCEEDED = "succeeded"
CAUGHT = "caught"
FAILED = "failed"
NOT_REACHED = "not-reached"

RANK = {SUCCEEDED: 0, CAUGHT: 1, FAILED: 2, RUNNING: 3}

# Events of a state's work after which it is trying again (a retry's new attempt).
ATTEMPT_SUFFIXES = ("Scheduled", "Started", "Submitted")
FAILURE_SUFFIXES = ("Failed", "TimedOut", "Aborted", "StartFailed", "SubmitFailed")
EXECUTION_FAILURES = ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


@dataclass
class StateRecord:
    """What the history says of one state so far."""

    outcome: str = RUNNING
    entered: int = 0
    running: int = 0
    retries: int = 0
    failures: int = 0
    error: str | None = None
    cause: str | None = None
    # The visit's last work event was a failure (a retry or a catch decides what follows).
    failing: bool = False
    visits: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The record as the page and the event stream send it."""
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "entered": self.entered,
            "retries": self.retries,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        return out

    def fail(self, event: dict[str, Any], *, keep: bool = False) -> None:
        """A failure of the visit (its error and cause, from ``event``); with ``keep`` an
        error or cause the event does not name stays as it was."""
        self.failing = True
        self.failures += 1
        details = _details(event)
        self.error = details.get("error", self.error if keep else None)
        self.cause = details.get("cause", self.cause if keep else None)

    def retry(self) -> None:
        """A new attempt after a failure (nothing after a success)."""
        if self.failing:
            self.failing = False
            self.retries += 1


class OutcomeTracker:
    """Folds history events (GetExecutionHistory's shape) into each state's outcome.

    ``ancestors`` maps a state name to the Parallel and Map states enclosing it (from
    ``graph.ancestors``): a failed Parallel fails what it left running.
    """

    def __init__(self, ancestors: dict[str, list[str]] | None = None) -> None:
        self.ancestors = ancestors or {}
        self.fan_outs = {name for chain in self.ancestors.values() for name in chain}
        self.states: dict[str, StateRecord] = {}
        # The states entered and not yet left, innermost last: task events name no
        # state, so they belong to the innermost open one.
        self._open: list[str] = []
        self.status = "RUNNING"
        self.last_event_id = 0

    def feed(self, events: list[dict[str, Any]]) -> None:
        """Fold more events, in id order."""
        for event in events:
            self._one(event)

    def _one(self, event: dict[str, Any]) -> None:
        kind: str = event["type"]
        self.last_event_id = max(self.last_event_id, int(event.get("id", 0)))
        if kind.endswith("StateEntered"):
            name = event.get("stateEnteredEventDetails", {}).get("name", "")
            record = self.states.setdefault(name, StateRecord())
            record.entered += 1
            record.running += 1
            record.failing = False
            record.visits.append(RUNNING)
            self._open.append(name)
            self._settle(record)
        elif kind.endswith("StateExited"):
            name = event.get("stateExitedEventDetails", {}).get("name", "")
            record = self.states.setdefault(name, StateRecord())
            if record.failing and record.error is None:
                # A Catch's ResultPath put the error in the output (by default all of it).
                caught = _error_output(event["stateExitedEventDetails"].get("output"))
                record.error, record.cause = caught.get("Error"), caught.get("Cause")
            self._close(name, record, CAUGHT if record.failing else SUCCEEDED)
        elif kind in EXECUTION_FAILURES or kind == "ExecutionSucceeded":
            self.status = {
                "ExecutionFailed": "FAILED",
                "ExecutionTimedOut": "TIMED_OUT",
                "ExecutionAborted": "ABORTED",
                "ExecutionSucceeded": "SUCCEEDED",
            }[kind]
            details = _details(event)
            ending = SUCCEEDED if kind == "ExecutionSucceeded" else FAILED
            for name in list(self._open):
                record = self.states[name]
                if ending == FAILED and record.error is None:
                    record.error = details.get("error")
                    record.cause = details.get("cause")
                self._close(name, record, ending)
        elif kind == "ExecutionStarted" or kind == "ExecutionRedriven":
            self.status = "RUNNING"
        elif kind.startswith("Map") or kind.startswith("Parallel"):
            self._fan_out(event, kind)
        else:
            self._work(event, kind)

    def _fan_out(self, event: dict[str, Any], kind: str) -> None:
        if "Iteration" in kind:
            return  # an iteration's failure is its Map's to decide
        owner = self._innermost(True)
        if owner is None:
            return
        record = self.states[owner]
        if kind.endswith(FAILURE_SUFFIXES):
            record.fail(event, keep=True)
            # What the failed fan-out left running failed with it.
            for name in list(self._open):
                if owner in self.ancestors.get(name, ()):
                    self._close(name, self.states[name], FAILED)
        elif kind.endswith("Started"):
            record.retry()

    def _work(self, event: dict[str, Any], kind: str) -> None:
        # Task events (LambdaFunctionFailed, TaskSucceeded, ...) belong to the innermost
        # running state that is not a fan-out.
        name = self._innermost(False)
        if name is None:
            return
        record = self.states[name]
        if kind.endswith(FAILURE_SUFFIXES):
            record.fail(event)
        elif kind.endswith(ATTEMPT_SUFFIXES):
            record.retry()

    def _innermost(self, fan_out: bool) -> str | None:
        """The innermost open state that is (or is not) a Parallel or Map; without the
        graph's knowledge of which states are, the innermost open one."""
        for name in reversed(self._open):
            if not self.fan_outs or (name in self.fan_outs) == fan_out:
                return name
        return None

    def _close(self, name: str, record: StateRecord, outcome: str) -> None:
        if name in self._open:
            # The latest open visit of this name is the one that ends.
            index = len(self._open) - 1 - self._open[::-1].index(name)
            del self._open[index]
            record.running = max(0, record.running - 1)
            for i in range(len(record.visits) - 1, -1, -1):
                if record.visits[i] == RUNNING:
                    record.visits[i] = outcome
                    break
        if outcome != FAILED:
            record.failing = False
        self._settle(record)

    @staticmethod
    def _settle(record: StateRecord) -> None:
        record.outcome = max(record.visits, key=RANK.__getitem__) if record.visits else RUNNING

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each state reached so far, by name, with its outcome and counts."""
        return {name: record.as_json() for name, record in self.states.items()}


def _error_output(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) and "Error" in value else {}


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def outcomes(
    events: list[dict[str, Any]], ancestors: dict[str, list[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """Each reached state's outcome for a whole history (see ``OutcomeTracker``)."""
    tracker = OutcomeTracker(ancestors)
    tracker.feed(events)
    return tracker.snapshot()
