"""Map runs as an execution's history records them: which ``MapRunStarted`` began each,
which event ended it, and its redrives. Pure: read by the map-run operations and by the
redrive of a parent that stopped in a distributed Map."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stepfn.store.base import StoredEvent

_ENDS = {"MapRunSucceeded": "SUCCEEDED", "MapRunFailed": "FAILED", "MapRunAborted": "ABORTED"}


@dataclass
class MapRun:
    """One map run as the history shows it."""

    arn: str
    execution_arn: str
    started: StoredEvent
    length: int  # items (or batches) the Map had
    ended: StoredEvent | None = None
    # Its latest MapRunRedriven, if it was redriven (with its parent).
    redriven: StoredEvent | None = None

    @property
    def redrive_count(self) -> int:
        """How many times the map run was redriven (its latest ``MapRunRedriven``)."""
        if self.redriven is None:
            return 0
        return int((self.redriven.details or {}).get("redriveCount", 0))

    @property
    def last_start(self) -> StoredEvent:
        """The event its Map's thread went on from when the map run (re)started: the
        thread's last one while the map run runs, its items' events going elsewhere."""
        return self.redriven or self.started

    @property
    def status(self) -> str:
        """RUNNING, or how its latest (re)start ended."""
        return _ENDS[self.ended.type] if self.ended is not None else "RUNNING"


def map_runs_of(events: Iterable[StoredEvent], execution_arn: str) -> list[MapRun]:
    """The map runs of an execution's history, in the order they started.

    A ``MapRun{Succeeded,Failed,Aborted}`` event names no ARN: it belongs to the map run
    found by following ``previousEventId`` back to a ``MapRunStarted`` or
    ``MapRunRedriven`` (the Map's thread records nothing in between, its items' events
    going to their own histories). A ``MapRunRedriven`` reopens the newest map run of
    its ARN: a redriven parent goes on with its map run.
    """
    by_id: dict[int, StoredEvent] = {}
    runs: dict[int, MapRun] = {}
    # MapRunStarted or MapRunRedriven id -> the map run it (re)started
    starts: dict[int, MapRun] = {}
    for event in events:
        by_id[event.id] = event
        if event.type == "MapRunStarted":
            details = event.details or {}
            before = by_id.get(event.previous_event_id)
            length = (before.details or {}).get("length", 0) if before is not None else 0
            run = MapRun(str(details.get("mapRunArn", "")), execution_arn, event, length)
            runs[event.id] = starts[event.id] = run
        elif event.type == "MapRunRedriven":
            arn = (event.details or {}).get("mapRunArn")
            found = [run for run in runs.values() if run.arn == arn]
            if found:
                found[-1].redriven, found[-1].ended = event, None
                starts[event.id] = found[-1]
        elif event.type in _ENDS:
            cursor: StoredEvent | None = event
            while cursor is not None and cursor.type not in ("MapRunStarted", "MapRunRedriven"):
                cursor = by_id.get(cursor.previous_event_id)
            owner = starts.get(cursor.id) if cursor is not None else None
            if owner is not None and owner.ended is None:
                owner.ended = event
    return list(runs.values())
