"""Small rules both stores share, kept in one place so that they cannot drift apart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from stepfn.jsontext import compact
from stepfn.store.base import LogEventRecord, StepCommit

_encode = compact  # see stepfn.jsontext


def to_json(value: Any) -> str:
    """A JSON value as the text a store keeps."""
    return _encode(value)


def to_json_or_none(value: Any) -> str | None:
    """``to_json``, with None kept as None (SQL NULL) rather than ``"null"``."""
    return None if value is None else _encode(value)


def from_json(text: str) -> Any:
    """A JSON value back from its stored text."""
    return json.loads(text)


def from_json_or_none(text: str | None) -> Any:
    """``from_json``, with None (SQL NULL) kept as None."""
    return None if text is None else json.loads(text)


def commit_time(commit: StepCommit) -> float:
    """The time a step happened, for the ``created`` of the inbox messages it queues.

    A commit carries no clock reading of its own; its last event's timestamp is the
    step's time on whichever clock (real or virtual) the engine runs.
    """
    return commit.events[-1].timestamp if commit.events else 0.0


def timer_fired(timer_id: str) -> dict[str, Any]:
    """The stimulus a due timer becomes."""
    return {"type": "TimerFired", "timer_id": timer_id}


def task_started(token: str, worker_name: str | None) -> dict[str, Any]:
    """The stimulus of an activity task handed to a worker (``claim_activity_task``)."""
    return {"type": "TaskStarted", "token": token, "worker_name": worker_name}


# The fields of ExecutionQuery that each name the column they compare with.
EXECUTION_FILTERS = (
    "state_machine_arn",
    "status",
    "version_arn",
    "alias_arn",
    "map_run_arn",
    "map_run_event_id",
)


# CloudWatch Logs counts each event as its message's UTF-8 bytes plus 26 bytes.
LOG_EVENT_OVERHEAD = 26


def log_event_bytes(message: str) -> int:
    """The bytes an event counts for in its stream's (and group's) stored bytes."""
    return len(message.encode("utf-8")) + LOG_EVENT_OVERHEAD


def stream_additions(events: Sequence[LogEventRecord]) -> list[dict[str, Any]]:
    """What a batch of events adds to each of their streams: first and last event
    timestamps, the latest ingestion time and the bytes, one entry per stream in the
    order the streams first appear."""
    streams: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        key = (event.log_group_name, event.log_stream_name)
        size = log_event_bytes(event.message)
        entry = streams.get(key)
        if entry is None:
            streams[key] = {
                "log_group_name": key[0],
                "name": key[1],
                "first_event_timestamp": event.timestamp,
                "last_event_timestamp": event.timestamp,
                "ingestion_time": event.ingestion_time,
                "stored_bytes": size,
            }
            continue
        entry["first_event_timestamp"] = min(entry["first_event_timestamp"], event.timestamp)
        entry["last_event_timestamp"] = max(entry["last_event_timestamp"], event.timestamp)
        entry["ingestion_time"] = max(entry["ingestion_time"], event.ingestion_time)
        entry["stored_bytes"] += size
    return list(streams.values())
