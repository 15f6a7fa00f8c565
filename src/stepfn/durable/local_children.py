"""What ``stepfn.run`` needs beyond one execution: answers from outside and nested runs.

* ``LocalTokens`` is the other party of the tasks that wait for it: SendTaskSuccess,
  SendTaskFailure and SendTaskHeartbeat for ``.waitForTaskToken`` tasks, and
  GetActivityTask for activities, named and shaped as boto3's Step Functions client
  names them, so a test's SQS consumer or activity worker calls it as it would call
  AWS. Each token belongs to the driver of the execution that waits for it.
* ``LocalExecutions`` is ``ChildExecutions`` (``tasks/nested.py``) for ``stepfn.run``:
  the state machines a run may start, each child run in this process to its end when
  it starts. With a virtual clock a child runs on a clock of its own from the parent's
  "now", so a request-response child's Waits do not move the parent's time; a ``.sync``
  parent's task takes the child's simulated time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepfn.arns import ACTIVITY, STATE_MACHINE, parse_arn, region_and_account, resource_name, split
from stepfn.clock import Clock, IdSource, VirtualClock
from stepfn.errors import ServiceError
from stepfn.interp.commands import TaskFailed, TaskHeartbeat, TaskStarted, TaskSucceeded
from stepfn.tasks.base import Registry, TaskRequest
from stepfn.tasks.nested import ChildStart

if TYPE_CHECKING:
    from stepfn.durable.local import Driver, Execution

GRACE_SECONDS = 2.0  # real time a virtual-clock run waits for an answer before moving on


class LocalTokens:
    """SendTask* and GetActivityTask for the executions ``stepfn.run`` runs here.

    ``grace``: real seconds a run on a virtual clock waits for an answer from outside
    before its simulated time moves on to the next timer (a timeout, a heartbeat), or
    before it gives up when nothing else can move it on (it then ends RUNNING).
    """

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.grace = grace
        self._owners: dict[str, Driver] = {}
        self._activities: dict[str, deque[TaskRequest]] = {}
        self._signal = threading.Condition()

    # --- the drivers' side -----------------------------------------------------------------

    def own(self, token: str, driver: Driver) -> None:
        """``driver`` waits for an answer to ``token``."""
        with self._signal:
            self._owners[token] = driver

    def release(self, tokens: Iterable[str]) -> None:
        """Forget tokens whose tasks ended (an answer then is TaskTimedOut)."""
        with self._signal:
            for token in list(tokens):
                self._owners.pop(token, None)

    @staticmethod
    def is_activity(resource: str) -> bool:
        """Whether a Task's resource is an activity ARN."""
        parts = split(resource)
        return len(parts) >= 7 and parts[2] == "states" and parts[5] == ACTIVITY

    def schedule_activity(self, activity_arn: str, request: TaskRequest) -> None:
        """Hand an activity task to the next GetActivityTask on ``activity_arn``."""
        with self._signal:
            self._activities.setdefault(activity_arn, deque()).append(request)
            self._signal.notify_all()

    # --- the other party's side (boto3's names) ------------------------------------------

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        """SendTaskSuccess: ``output`` is JSON text."""
        try:
            value = json.loads(output)
        except (TypeError, ValueError):
            raise ServiceError("InvalidOutput", f"Invalid Output: '{output}'") from None
        self._owner(taskToken).deliver(TaskSucceeded(taskToken, value))
        return {}

    def send_task_failure(
        self, taskToken: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """SendTaskFailure."""
        self._owner(taskToken).deliver(TaskFailed(taskToken, error, cause))
        return {}

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        """SendTaskHeartbeat: the task's heartbeat timer starts again."""
        self._owner(taskToken).deliver(TaskHeartbeat(taskToken))
        return {}

    def get_activity_task(
        self, activityArn: str, workerName: str | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        """GetActivityTask: the oldest task of the activity (``{}`` after ``timeout``
        real seconds without one)."""
        deadline = time.monotonic() + timeout
        with self._signal:
            while True:
                waiting = self._activities.get(activityArn)
                while waiting:
                    request = waiting.popleft()
                    owner = self._owners.get(request.token)
                    if owner is None:
                        continue  # its task timed out meanwhile
                    owner.deliver(TaskStarted(request.token, workerName))
                    return {"taskToken": request.token, "input": _text(request.payload)}
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return {}
                self._signal.wait(min(remaining, 1.0))

    def _owner(self, token: str) -> Driver:
        if not isinstance(token, str) or not token:
            raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
        with self._signal:
            owner = self._owners.get(token)
        if owner is None:
            raise ServiceError("TaskTimedOut", f"Task Timed Out: '{token}'")
        return owner


class LocalExecutions:
    """Nested executions of ``stepfn.run``: children run here, one after another."""

    def __init__(
        self,
        state_machines: Mapping[str, Any],
        registry: Registry,
        ids: IdSource,
        clock: Clock,
        callbacks: LocalTokens | None,
    ) -> None:
        # ARN or name -> definition (dict or text) or {"definition": ..., "type": ...}.
        self.state_machines = dict(state_machines)
        self.registry = registry
        self.ids = ids
        self.clock = clock
        self.callbacks = callbacks if callbacks is not None else LocalTokens()
        self.executions: dict[str, Execution] = {}  # every child, by ARN, in start order
        self._lock = threading.Lock()

    def _find(self, arn: str) -> tuple[Any, str]:
        found = self.state_machines.get(arn)
        if found is None:
            found = self.state_machines.get(resource_name(arn) if arn.startswith("arn:") else arn)
        if found is None:
            raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        if isinstance(found, Mapping) and "definition" in found:
            return found["definition"], str(found.get("type") or "STANDARD")
        return found, "STANDARD"

    def start_child(self, start: ChildStart) -> dict[str, Any]:
        """Run the child to its end (on a clock of its own when time is simulated)."""
        from stepfn.durable.local import run

        state_machine_arn, name, input = start.state_machine_arn, start.name, start.input
        parse_arn(state_machine_arn, (STATE_MACHINE,))
        region, account = region_and_account(state_machine_arn)
        definition, kind = self._find(state_machine_arn)
        name = name or self.ids.uuid()
        with self._lock:
            machine = resource_name(state_machine_arn)
            key = f"arn:aws:states:{region}:{account}:execution:{machine}:{name}"
            if key in self.executions:
                raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{key}'")
        try:
            value = json.loads(input)
        except ValueError:
            raise ServiceError(
                "InvalidExecutionInput", f"Invalid Execution Input: '{input}'"
            ) from None
        clock = VirtualClock(self.clock.now()) if self.clock.virtual else self.clock
        child = run(
            definition,
            value,
            name=name,
            state_machine_type=kind,
            clock=clock,
            registry=self.registry,
            ids=self.ids,
            state_machine_name=machine,
            callbacks=self.callbacks,
            region=region,
            account=account,
            children=self,
        )
        with self._lock:
            self.executions[child.execution_arn] = child
        return {"executionArn": child.execution_arn, "startDate": child.start_time}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        """DescribeExecution of a child (boto3's shape)."""
        child = self.executions.get(executionArn)
        if child is None:
            raise ServiceError(
                "ExecutionDoesNotExist", f"Execution Does Not Exist: '{executionArn}'"
            )
        machine = executionArn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        out: dict[str, Any] = {
            "executionArn": child.execution_arn,
            "stateMachineArn": machine,
            "name": child.name,
            "status": child.status,
            "startDate": _date(child.start_time),
        }
        if child.stop_time is not None and child.status != "RUNNING":
            out["stopDate"] = _date(child.stop_time)
        started = child.events[0].details if child.events else None
        out["input"] = _text((started or {}).get("input", {}))
        out["inputDetails"] = {"included": True}
        if child.status == "SUCCEEDED":
            out["output"] = _text(child.output)
            out["outputDetails"] = {"included": True}
        elif child.status != "RUNNING":
            if child.error is not None:
                out["error"] = child.error
            if child.cause is not None:
                out["cause"] = child.cause
        if ":express:" in child.execution_arn:
            return out  # an Express execution cannot be redriven: no redrive fields
        out["redriveCount"] = 0
        if child.status in ("RUNNING", "SUCCEEDED"):
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = f"Execution is {child.status} and cannot be redriven"
        else:
            out["redriveStatus"] = "REDRIVABLE"
        return out

    def watch(self, execution_arn: str, ended: Any) -> None:
        """Children here have ended by the time they are watched."""
        ended(self.describe_execution(execution_arn))

    def stop(self, execution_arn: str) -> None:
        """Children here run to their end when they start: nothing to stop."""

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """An ``aws-sdk:sfn`` call."""
        callbacks = self.callbacks
        table: dict[str, Any] = {
            "DescribeExecution": self.describe_execution,
            "SendTaskSuccess": callbacks.send_task_success,
            "SendTaskFailure": callbacks.send_task_failure,
            "SendTaskHeartbeat": callbacks.send_task_heartbeat,
        }
        method = table.get(operation)
        if method is None:
            raise ServiceError(
                "UnsupportedOperation", f"{operation} is not supported by stepfn.run"
            )
        result: dict[str, Any] = method(**params)
        return result


def _date(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
