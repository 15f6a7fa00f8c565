"""Readings of an execution's history for the console: each state's visits with their
input, output and assigned variables; the iterations of inline Maps; and the event
table's rows with retries and their backoff marked.

Events are in GetExecutionHistory's shape, as the Engine returns them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

MAX_VISITS = 500  # visits listed on a page; the history table has the rest

FAILURE_SUFFIXES = ("Failed", "TimedOut", "StartFailed", "SubmitFailed")


def details(event: dict[str, Any]) -> dict[str, Any]:
    """The event's details member (``...EventDetails``), or ``{}``."""
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def state_visits(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each time a state was entered: its name and type, input, output, the variables it
    assigned, and the error (and cause) of a failure while in it."""
    visits: list[dict[str, Any]] = []
    open_: list[dict[str, Any]] = []
    for event in events:
        kind = event["type"]
        info = details(event)
        if kind.endswith("StateEntered"):
            visit = {
                "name": info.get("name", ""),
                "type": kind[: -len("StateEntered")],
                "enteredEventId": event["id"],
                "input": info.get("input"),
                "status": "running",
            }
            open_.append(visit)
            if len(visits) < MAX_VISITS:
                visits.append(visit)
        elif kind.endswith("StateExited"):
            name = info.get("name", "")
            for visit in reversed(open_):
                if visit["name"] == name:
                    open_.remove(visit)
                    visit["output"] = info.get("output")
                    caught = visit.pop("failedInside", False)
                    visit["status"] = "caught" if caught else "succeeded"
                    if "assignedVariables" in info:
                        visit["assignedVariables"] = info["assignedVariables"]
                    break
        elif kind.endswith(FAILURE_SUFFIXES) and open_:
            target = open_[-1]
            fan_out = next((t for t in ("Parallel", "Map") if kind.startswith(t + "State")), None)
            if fan_out is not None:
                # A failed Parallel or Map: what it left running failed with it.
                heads = [v for v in open_ if v["type"] == fan_out]
                if heads:
                    target = heads[-1]
                    for visit in open_[open_.index(target) + 1 :]:
                        visit["status"] = "failed"
                    del open_[open_.index(target) + 1 :]
            target["failedInside"] = True
            if "error" in info or "cause" in info:
                target["error"] = info.get("error")
                target["cause"] = info.get("cause")
            if kind.startswith("Execution"):
                for visit in open_:
                    visit["status"] = "failed"
                    visit.setdefault("error", info.get("error"))
                    visit.setdefault("cause", info.get("cause"))
        elif kind.endswith(("Scheduled", "Started")) and open_:
            open_[-1].pop("failedInside", None)  # a retry: the failure was not caught
        elif kind in ("ExecutionAborted", "ExecutionTimedOut"):
            for visit in open_:
                visit["status"] = "failed"
    return visits


def map_iterations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The iterations of the inline Maps in a history: the Map's name, the item's index,
    the iteration's status, and the states it went through, in order.

    An event belongs to the iteration of the event before it (``previousEventId``):
    that is how the history threads an iteration's events through interleaved ones.
    """
    iterations: list[dict[str, Any]] = []
    owner: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        info = details(event)
        previous = owner.get(int(event.get("previousEventId", 0)))
        if kind == "MapIterationStarted":
            current: dict[str, Any] | None = {
                "state": info.get("name", ""),
                "index": info.get("index"),
                "status": "RUNNING",
                "startedEventId": event["id"],
                "states": [],
            }
            iterations.append(current)  # type: ignore[arg-type]
        elif kind.startswith("MapState"):
            current = None  # a Map's own events close its iterations
        else:
            current = previous
        if current is None:
            continue
        owner[int(event["id"])] = current
        if kind.startswith("MapIteration") and kind != "MapIterationStarted":
            current["status"] = kind[len("MapIteration") :].upper()
        elif kind.endswith("StateEntered"):
            current["states"].append(info.get("name", ""))
    return iterations


def annotate(events: list[dict[str, Any]], start: datetime) -> list[dict[str, Any]]:
    """The event table's rows: id, type, time, seconds since the execution started, the
    state it names, its details, and a note where a failure is followed by a retry
    (with the backoff waited)."""
    rows = []
    failed_at: datetime | None = None
    attempts = 0
    for event in events:
        kind = event["type"]
        info = details(event)
        note = ""
        stamp: datetime = event["timestamp"]
        if kind.endswith(FAILURE_SUFFIXES) and not kind.startswith("Execution"):
            failed_at = stamp
        elif kind.endswith(("Scheduled", "Started")) and failed_at is not None:
            attempts += 1
            waited = (stamp - failed_at).total_seconds()
            note = f"retry {attempts} after {waited:g} s backoff"
            failed_at = None
        elif kind.endswith("StateExited"):
            failed_at = None
            attempts = 0
        rows.append(
            {
                "id": event["id"],
                "previousEventId": event.get("previousEventId"),
                "type": kind,
                "timestamp": stamp,
                "elapsed": round((stamp - start).total_seconds(), 3),
                "state": info.get("name"),
                "details": info,
                "note": note,
            }
        )
    return rows
