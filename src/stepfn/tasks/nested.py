"""Nested executions: a Task that starts (and may wait for) an execution of another state
machine of the same engine, and the ``aws-sdk:sfn`` calls that answer tasks.

Resources handled here, never sent to an endpoint (the state machines they name live in
the engine that runs the parent):

* ``arn:aws:states:::states:startExecution``: start the child; the result is
  ``{"ExecutionArn", "StartDate", "SdkHttpMetadata", "SdkResponseMetadata"}`` as the
  optimized integration returns it;
* ``...startExecution.sync``: start it, record TaskSubmitted, and end with the child's
  DescribeExecution (PascalCase) when it ends, ``Input`` and ``Output`` as JSON text;
* ``...startExecution.sync:2``: the same, ``Input`` and ``Output`` as JSON values;
* ``...startExecution.waitForTaskToken``: start it and wait for SendTaskSuccess or
  SendTaskFailure with the task token (usually from the child, which got the token in
  its input); the driver records the submission;
* ``arn:aws:states:::aws-sdk:sfn:startExecution|sendTaskSuccess|sendTaskFailure|
  sendTaskHeartbeat|describeExecution|stopExecution``: the SDK integration's shapes.

A ``.sync`` child that fails, times out or is aborted fails the parent's task with
``States.TaskFailed``, the cause being the child's description as JSON text (what AWS
records). When the parent gives the task up (it was stopped, timed out, or a Parallel
branch failed), the child of a ``.sync`` task is stopped.

The adapter knows the engine only through ``ChildExecutions``, a narrow protocol the
durable engine (``service/nested.py``) and ``stepfn.run`` (``durable/local.py``) each
implement, so this module imports neither.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from stepfn.errors import ServiceError
from stepfn.interp.context import ExecutionInfo
from stepfn.tasks.base import NOT_CANCELLABLE, Cancel, Completion, TaskOutcome, TaskRequest

STATES = re.compile(
    r"^arn:aws[a-z-]*:states:::states:startExecution(?P<pattern>\.sync(?::2)?|"
    r"\.waitForTaskToken)?$"
)
SDK = re.compile(
    r"^arn:aws[a-z-]*:states:::aws-sdk:sfn:(?P<action>startExecution|sendTaskSuccess|"
    r"sendTaskFailure|sendTaskHeartbeat|describeExecution|stopExecution)$"
)
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

# Description = DescribeExecution's answer as the engine gives it (boto3's names, dates
# as aware datetimes or epoch seconds).
Description = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ChildStart:
    """A parent's request to start a child: StartExecution's parameters, the parent, and
    the parent's task ``token``; ``sync``: the task will watch for the child's end."""

    state_machine_arn: str
    name: str | None
    input: str
    parent: ExecutionInfo
    token: str
    sync: bool = False


class ChildExecutions(Protocol):
    """What nested executions need of the engine that runs the parent."""

    def start_child(self, start: ChildStart) -> dict[str, Any]:
        """StartExecution of the child: ``{"executionArn", "startDate"}``. Raises
        ``ServiceError`` as StartExecution does."""
        ...

    def watch(self, execution_arn: str, ended: Callable[[Description], None]) -> None:
        """Call ``ended`` once with the child's description when it has ended (at once
        when it has already)."""
        ...

    def stop(self, execution_arn: str) -> None:
        """StopExecution of a child whose parent gave its task up (best effort)."""
        ...

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One Step Functions operation by its API name (``SendTaskSuccess``, ...),
        with the API's member names; raises ``ServiceError``."""
        ...


def parse(resource: str) -> tuple[str, str] | None:
    """``("states", pattern)`` or ``("sdk", action)`` for a resource handled here."""
    match = STATES.match(resource)
    if match is not None:
        return "states", match["pattern"] or ""
    match = SDK.match(resource)
    if match is not None:
        return "sdk", match["action"]
    return None


class NestedExecutions:
    """The task adapter of nested executions (asynchronous: nothing waits on a thread)."""

    def __init__(self, children: ChildExecutions) -> None:
        self.children = children

    def handles(self, resource: str) -> bool:
        """Whether ``resource`` is ``states:startExecution*`` or an ``aws-sdk:sfn`` call
        handled here."""
        return parse(resource) is not None

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Start the child (or make the SDK call); ``done`` gets the submission and the end."""
        parsed = parse(request.resource)
        assert parsed is not None
        kind, detail = parsed
        if kind == "sdk" and detail != "startExecution":
            done(self._sdk_call(detail, request.payload))
            return NOT_CANCELLABLE
        params = request.payload if isinstance(request.payload, dict) else {}
        try:
            arn, name, text = start_parameters(params)
            started = self.children.start_child(
                ChildStart(
                    arn, name, text, request.execution, request.token, detail.startswith(".sync")
                )
            )
        except ParameterProblem as exc:
            done(TaskOutcome.failure("States.Runtime", str(exc)))
            return NOT_CANCELLABLE
        except ServiceError as exc:
            done(sdk_error(exc) if kind == "sdk" else optimized_error(exc))
            return NOT_CANCELLABLE
        if kind == "sdk":
            done(TaskOutcome.success(_sdk_shape(started)))
            return NOT_CANCELLABLE
        result = start_result(started)
        if detail in ("", ".waitForTaskToken"):
            # Request-response ends with the call; a callback's end is SendTask*.
            done(TaskOutcome.success(result))
            return NOT_CANCELLABLE
        done(TaskOutcome.submission(result))
        parsed_output = detail == ".sync:2"
        handle = _StopChild(self.children, started["executionArn"])

        def ended(description: Description) -> None:
            handle.ended()
            outcome = sync_outcome(description, parsed_output)
            # The task took the child's time (a virtual clock moves on by it).
            took = _seconds(description.get("stopDate")) - _seconds(description.get("startDate"))
            done(dataclasses.replace(outcome, duration=max(0.0, took)))

        self.children.watch(started["executionArn"], ended)
        return handle

    def _sdk_call(self, action: str, payload: Any) -> TaskOutcome:
        operation = action[:1].upper() + action[1:]
        params = dict(payload) if isinstance(payload, dict) else {}
        params = {key[:1].lower() + key[1:]: value for key, value in params.items()}
        for key in ("input", "output"):
            if key in params and not isinstance(params[key], str):
                # Step Functions sends a JSON value given for a string member as its text.
                params[key] = _text(params[key])
        try:
            answer = self.children.call(operation, params)
        except ServiceError as exc:
            return sdk_error(exc)
        except TypeError as exc:  # a member the operation does not have
            return TaskOutcome.failure("States.Runtime", f"{exc} for {operation}")
        return TaskOutcome.success(_sdk_shape(answer))


class _StopChild:
    """Stops the child of a ``.sync`` task when the parent gives the task up."""

    def __init__(self, children: ChildExecutions, arn: str) -> None:
        self.children = children
        self.arn = arn
        self._lock = threading.Lock()
        self._done = False

    def ended(self) -> None:
        with self._lock:
            self._done = True

    def cancel(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        with contextlib.suppress(ServiceError):  # it ended meanwhile: nothing to stop
            self.children.stop(self.arn)


class ParameterProblem(ValueError):
    """Parameters that StartExecution cannot be called with."""


def start_parameters(params: dict[str, Any]) -> tuple[str, str | None, str]:
    """``(StateMachineArn, Name, Input as JSON text)`` of a startExecution Task. An
    ``Input`` given as a string is the input's JSON text, as on AWS; absent or null is
    ``{}``."""
    arn = params.get("StateMachineArn")
    if not isinstance(arn, str) or not arn:
        raise ParameterProblem(
            "The field 'StateMachineArn' is required to start a nested execution"
        )
    name = params.get("Name")
    if name is not None and not isinstance(name, str):
        raise ParameterProblem("The field 'Name' must be a string")
    given = params.get("Input")
    text = "{}" if given is None else given if isinstance(given, str) else _text(given)
    return arn, name, text


def millis(value: Any) -> Any:
    """A date as the optimized integration shows it: epoch milliseconds."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value * 1000)
    return value


def start_result(started: dict[str, Any]) -> dict[str, Any]:
    """The optimized ``states:startExecution`` result, with the HTTP facts the Java SDK
    reports (the engine answers in-process; the headers are those AWS sends)."""
    body = {"executionArn": started["executionArn"], "startDate": millis(started["startDate"])}
    length = str(len(_text(body)))
    request_id = str(started.get("requestId") or uuid.uuid4())
    headers = {
        "x-amzn-RequestId": request_id,
        "connection": "keep-alive",
        "Content-Length": length,
        "Date": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Content-Type": "application/x-amz-json-1.0",
    }
    return {
        "ExecutionArn": started["executionArn"],
        "SdkHttpMetadata": {
            "AllHttpHeaders": {key: [value] for key, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StartDate": millis(started["startDate"]),
    }


def sync_description(description: Description, parsed: bool) -> dict[str, Any]:
    """A child's DescribeExecution in the PascalCase shape ``.sync`` results carry
    (``parsed``: ``.sync:2``, whose Input and Output are JSON values, not text)."""
    out: dict[str, Any] = {}
    for key, value in description.items():
        name = key[:1].upper() + key[1:]
        if key.endswith("Details") and isinstance(value, dict):
            value = {k[:1].upper() + k[1:]: v for k, v in value.items()}
        elif key in ("startDate", "stopDate", "redriveDate"):
            value = millis(value)
        elif key in ("input", "output") and parsed and isinstance(value, str):
            value = json.loads(value)
        out[name] = value
    return dict(sorted(out.items()))


def sync_outcome(description: Description, parsed: bool) -> TaskOutcome:
    """How a ``.sync`` task ends with its child: the description when it succeeded;
    else ``States.TaskFailed`` with the description as the cause."""
    shaped = sync_description(description, parsed)
    if description.get("status") == "SUCCEEDED":
        return TaskOutcome.success(shaped)
    return TaskOutcome.failure("States.TaskFailed", _text(shaped))


def optimized_error(exc: ServiceError) -> TaskOutcome:
    """A refused StartExecution as the optimized integration names it (Java SDK v1)."""
    cause = (
        f"{exc.message} (Service: AWSStepFunctions; Status Code: {exc.status}; "
        f"Error Code: {exc.code}; Request ID: null; Proxy: null)"
    )
    name = exc.code if exc.code.endswith("Exception") else exc.code + "Exception"
    return TaskOutcome.failure(f"StepFunctions.{name}", cause)


def sdk_error(exc: ServiceError) -> TaskOutcome:
    """A refused call as the SDK integration names it (Java SDK v2)."""
    name = exc.code if exc.code.endswith("Exception") else exc.code + "Exception"
    cause = f"{exc.message} (Service: Sfn, Status Code: {exc.status}, Request ID: null)"
    return TaskOutcome.failure(f"Sfn.{name}", cause)


def _sdk_shape(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer with the SDK integration's names (PascalCase) and ISO-8601 dates."""
    out: dict[str, Any] = {}
    for key, value in answer.items():
        if isinstance(value, datetime):
            value = (
                value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
            )
        elif isinstance(value, dict):
            value = _sdk_shape(value)
        out[key[:1].upper() + key[1:]] = value
    return out


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if isinstance(value, int | float) else 0.0


def _text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
