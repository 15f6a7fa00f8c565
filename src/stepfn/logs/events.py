"""Execution logs: an execution's history events as Step Functions writes them to
CloudWatch Logs when its state machine has a ``loggingConfiguration``.

Pure functions of the events and the configuration; ``delivery.py`` decides when
they run and stores what they make.

What AWS writes, as recorded from it:

* one log event per history event, whose message is a JSON object (compact text) with
  AWS's keys in AWS's order, every number as a string::

      {"id":"4","type":"ExecutionSucceeded","details":{"output":"{...}","outputDetails":
      {"truncated":false}},"previous_event_id":"3","event_timestamp":"1716992192441",
      "execution_arn":"arn:aws:states:...","redrive_count":"0"}

  ``details`` holds the fields of the history event's details object (payloads stay
  JSON text, as in GetExecutionHistory), and is ``{}`` when there are none;
* the level picks the event types: ``ALL`` every one, ``ERROR`` the failures (the table
  of AWS's "Log levels" page, below), ``FATAL`` only an execution's own failure,
  timeout or abort, ``OFF`` none;
* ``includeExecutionData: false`` leaves the payloads out (input, output, parameters,
  assigned variables, with their ``...Details``); error and cause stay;
* a payload whose escaped text is over 248 KB is cut to fit, with ``truncated: true``;
* streams are named ``states/<state machine name>/<yyyy-mm-dd-hh-mm>/<8 hex digits>``,
  several executions to a stream. stepfn makes that rule deterministic: the minute
  (UTC) the execution started and digits of the state machine's ARN, so the events of
  one execution always go to one stream, whenever and wherever they are delivered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stepfn.jsontext import compact
from stepfn.store.base import LogEventRecord, StoredEvent

LEVELS = ("ALL", "ERROR", "FATAL", "OFF")

FATAL_EVENTS = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})

# AWS's "Log levels" table (and its Map run rows): what ERROR logs besides FATAL's.
ERROR_EVENTS = FATAL_EVENTS | {
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStartFailed",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapRunAborted",
    "MapRunFailed",
    "MapStateAborted",
    "MapStateFailed",
    "ParallelStateAborted",
    "ParallelStateFailed",
    "TaskFailed",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskSubmitFailed",
    "TaskTimedOut",
    "WaitStateAborted",
}

# "If escaped input or escaped output sent to CloudWatch Logs exceeds 248 KB, it will be
# truncated" (AWS's CloudWatch Logs payloads section).
MAX_PAYLOAD_BYTES = 248 * 1024

# Payloads with the details entry AWS puts beside each; both go when data is excluded.
_PAYLOADS = {
    "input": "inputDetails",
    "output": "outputDetails",
    "assignedVariables": "assignedVariablesDetails",
}
_DATA_KEYS = frozenset({*_PAYLOADS, *_PAYLOADS.values(), "parameters"})
_TRUNCATED = ("input", "output")

_encode = compact  # see stepfn.jsontext


@dataclass(frozen=True)
class LogSettings:
    """What a logging configuration asks for, when it asks for anything."""

    level: str
    include_execution_data: bool
    log_group_name: str

    def logs(self, event_type: str) -> bool:
        """Whether events of this type are written at this level."""
        if self.level == "ALL":
            return True
        if self.level == "ERROR":
            return event_type in ERROR_EVENTS
        if self.level == "FATAL":
            return event_type in FATAL_EVENTS
        return False


@dataclass(frozen=True)
class LoggedExecution:
    """The facts about an execution that its log events carry or are filed under."""

    execution_arn: str
    state_machine_arn: str  # unqualified: versions and aliases log to its streams
    start_time: float  # epoch seconds
    redrive_count: int = 0


def log_settings(configuration: Mapping[str, Any] | None) -> LogSettings | None:
    """The settings of a ``loggingConfiguration``; None when it logs nothing (level
    ``OFF``, or no log group to write to)."""
    if not configuration:
        return None
    level = configuration.get("level") or "OFF"
    if level not in LEVELS or level == "OFF":
        return None
    group = None
    for destination in configuration.get("destinations") or ():
        arn = ((destination or {}).get("cloudWatchLogsLogGroup") or {}).get("logGroupArn")
        group = log_group_name(arn) if isinstance(arn, str) else None
        if group:
            break
    if not group:
        return None
    return LogSettings(level, bool(configuration.get("includeExecutionData")), group)


def log_group_name(arn: str) -> str | None:
    """The name in a log group ARN (``arn:aws:logs:<region>:<account>:log-group:<name>``,
    with or without AWS's ``:*`` suffix); None when it is not one."""
    marker = ":log-group:"
    if not arn.startswith("arn:") or marker not in arn:
        return None
    # Log group names cannot hold ":", so the name ends at the next one (the ":*").
    name = arn.split(marker, 1)[1].split(":", 1)[0]
    return name or None


def log_stream_name(state_machine_arn: str, start_time: float) -> str:
    """The stream an execution's events go to (see the module's docstring)."""
    name = state_machine_arn.rsplit(":", 1)[-1]
    minute = datetime.fromtimestamp(start_time, tz=UTC).strftime("%Y-%m-%d-%H-%M")
    digits = hashlib.sha256(state_machine_arn.encode("utf-8")).hexdigest()[:8]
    return f"states/{name}/{minute}/{digits}"


def log_message(
    event: StoredEvent, execution_arn: str, redrive_count: int, include_execution_data: bool
) -> str:
    """One history event as the message of its log event (JSON text)."""
    return _encode(
        {
            "id": str(event.id),
            "type": event.type,
            "details": log_details(event.type, event.details, include_execution_data),
            "previous_event_id": str(event.previous_event_id),
            "event_timestamp": str(timestamp_ms(event.timestamp)),
            "execution_arn": execution_arn,
            "redrive_count": str(redrive_count),
        }
    )


def log_details(
    event_type: str, details: Mapping[str, Any] | None, include_execution_data: bool
) -> dict[str, Any]:
    """A history event's (rendered) details as its log event carries them."""
    if not details:
        return {}
    if include_execution_data:
        out = dict(details)
    else:
        out = {key: value for key, value in details.items() if key not in _DATA_KEYS}
    for key in _TRUNCATED:
        text = out.get(key)
        if isinstance(text, str) and escaped_size(text) > MAX_PAYLOAD_BYTES:
            out[key] = truncate(text, MAX_PAYLOAD_BYTES)
            out[_PAYLOADS[key]] = {"truncated": True}
    return out


def escaped_size(text: str) -> int:
    """The bytes a string takes inside a JSON message: escaped, UTF-8, no quotes."""
    return len(_encode(text).encode("utf-8")) - 2


def truncate(text: str, limit: int) -> str:
    """The longest beginning of ``text`` whose escaped size is within ``limit``."""
    # Escaping only grows text, and each character's share is the same wherever it is
    # cut, so the size of a beginning grows with its length: bisect on the length.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if escaped_size(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def timestamp_ms(seconds: float) -> int:
    """Epoch seconds as CloudWatch's epoch milliseconds."""
    return round(seconds * 1000)


def log_events(
    settings: LogSettings,
    execution: LoggedExecution,
    events: Iterable[StoredEvent],
    ingestion_time: int,
) -> list[LogEventRecord]:
    """The log events that ``settings`` write for these history events of an
    execution, in their order; ``ingestion_time`` is when they are stored (ms)."""
    stream = log_stream_name(execution.state_machine_arn, execution.start_time)
    return [
        LogEventRecord(
            log_group_name=settings.log_group_name,
            log_stream_name=stream,
            timestamp=timestamp_ms(event.timestamp),
            message=log_message(
                event,
                execution.execution_arn,
                execution.redrive_count,
                settings.include_execution_data,
            ),
            ingestion_time=ingestion_time,
        )
        for event in events
        if settings.logs(event.type)
    ]
