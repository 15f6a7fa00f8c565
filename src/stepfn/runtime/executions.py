"""The execution operations of the Engine: start, describe, stop, list, history, tasks.

Methods are named and shaped as boto3's Step Functions client methods. Starting a
Standard execution writes the execution row, its ``ExecutionStarted`` event and a
``Begin`` stimulus in one transaction; a worker runs the states later. Express
executions run in memory, as AWS runs them, and keep no history.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from stepfn.clock import Clock, IdSource
from stepfn.errors import ServiceError
from stepfn.interp.commands import Start, StartTimer
from stepfn.interp.events import render_event
from stepfn.interp.machine import Interpreter, RunState
from stepfn.interp.runstate import run_state_to_json
from stepfn.runtime.arns import parse_state_machine_arn
from stepfn.runtime.local import Driver, Execution
from stepfn.runtime.worker import ModelCache, Worker, execution_info_of, to_stored
from stepfn.store.base import Conflict, ExecutionRecord, Store, TimerRecord
from stepfn.tasks.base import Registry

MAX_INPUT_BYTES = 262_144
# Characters AWS refuses in names: whitespace, brackets, wildcards, punctuation, controls.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


def when(seconds: float | None) -> datetime | None:
    """Epoch seconds as boto3 shows times: an aware datetime."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def check_name(name: str) -> None:
    """AWS's rules for execution (and other resource) names."""
    if not 1 <= len(name) <= 80 or _BAD_NAME.search(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")


def parse_input(text: str | None) -> Any:
    """Execution input text -> JSON value, with AWS's errors."""
    if text is None:
        return {}
    if len(text.encode("utf-8")) > MAX_INPUT_BYTES:
        raise ServiceError(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_INPUT_BYTES}",
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ServiceError(
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: 'Invalid execution input.'",
        ) from None


def encode_token(position: int) -> str:
    """An opaque pagination token."""
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode()


def decode_token(token: str | None) -> int:
    """The position in an opaque pagination token; InvalidToken when it is not ours."""
    if token is None:
        return 0
    if len(token) > 3096:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value '{token}' at 'nextToken' failed to satisfy "
            "constraint: Member must have length less than or equal to 3096",
        )
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))["p"]
    except (ValueError, KeyError, TypeError):
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    if not isinstance(position, int) or position < 0:
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
    return position


def page_size(max_results: int | None, default: int = 100) -> int:
    """``maxResults`` checked as AWS checks it (0 means the default)."""
    if max_results is None or max_results == 0:
        return default
    if not 0 < max_results <= 1000:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
            "satisfy constraint: Member must have value less than or equal to 1000",
        )
    return max_results


class Executions:
    """Execution operations; mixed into ``Engine`` beside the control plane."""

    store: Store
    clock: Clock
    ids: IdSource
    registry: Registry
    worker: Worker
    models: ModelCache
    wake: Callable[[str], None]
    region: str
    account: str
    _express: dict[str, dict[str, Any]]
    _activity_signal: threading.Condition
    # The control plane provides it: what a state machine, version or alias ARN runs.
    resolve_target: Callable[..., Any]

    # --- starting ------------------------------------------------------------------------------

    def start_execution(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any]:
        """StartExecution: a Standard execution is stored and queued; an Express one runs."""
        target = self.resolve_target(stateMachineArn)
        name = name if name is not None else self.ids.uuid()
        check_name(name)
        value = parse_input(input)
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        sm_name = target.state_machine_arn.split(":")[-1]
        now = self.clock.now()
        if target.type == "EXPRESS":
            arn = self._express_arn(sm_name, name)
            threading.Thread(
                target=self._run_express,
                args=(target, arn, name, value, now),
                daemon=True,
                name="stepfn-express",
            ).start()
            return {"executionArn": arn, "startDate": when(now)}
        arn = f"arn:aws:states:{self.region}:{self.account}:execution:{sm_name}:{name}"
        existing = self.store.get_execution(arn)
        if existing is not None:
            return self._same_start(existing, text)
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=target.state_machine_arn,
            name=name,
            type="STANDARD",
            status="RUNNING",
            input=text,
            start_date=now,
            definition=target.definition,
            role_arn=target.role_arn,
            version_arn=target.version_arn,
            alias_arn=target.alias_arn,
            trace_header=traceHeader,
            state_machine_revision_id=target.revision_id,
        )
        interpreter = Interpreter(
            self.models.get(target.definition), execution_info_of(record), self.ids
        )
        run = RunState()
        result = interpreter.step(run, Start(begin=False), now)
        record.run_state = run_state_to_json(run)
        record.next_event_id = run.next_event_id
        timers = [
            TimerRecord(arn, c.timer_id, c.due)
            for c in result.commands
            if isinstance(c, StartTimer)
        ]
        try:
            self.store.create_execution(
                record, [to_stored(e) for e in result.events], timers, [{"type": "Begin"}]
            )
        except Conflict:
            existing = self.store.get_execution(arn)
            if existing is None:
                raise
            return self._same_start(existing, text)
        self.wake(arn)
        return {"executionArn": arn, "startDate": when(now)}

    def _express_arn(self, sm_name: str, name: str) -> str:
        # Express execution ARNs carry a unique suffix: names may repeat.
        prefix = f"arn:aws:states:{self.region}:{self.account}:express"
        return f"{prefix}:{sm_name}:{name}:{self.ids.uuid()}"

    def _same_start(self, existing: ExecutionRecord, input_text: str) -> dict[str, Any]:
        # AWS's idempotency: the same name and input while it runs is the same call.
        if existing.status == "RUNNING" and existing.input == input_text:
            return {"executionArn": existing.arn, "startDate": when(existing.start_date)}
        raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{existing.arn}'")

    def _run_express(self, target: Any, arn: str, name: str, value: Any, now: float) -> Execution:
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=target.state_machine_arn,
            name=name,
            type="EXPRESS",
            status="RUNNING",
            input=json.dumps(value),
            start_date=now,
            definition=target.definition,
            role_arn=target.role_arn,
        )
        driver = Driver(
            self.models.get(target.definition),
            execution_info_of(record),
            self.ids,
            self.clock,
            self.registry,
        )
        execution = driver.run()
        self._express[arn] = {
            "execution": execution,
            "stateMachineArn": target.state_machine_arn,
            "input": record.input,
        }
        return execution

    def start_sync_execution(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
        includedData: str | None = None,
    ) -> dict[str, Any]:
        """StartSyncExecution: run an Express execution and return how it ended."""
        target = self.resolve_target(stateMachineArn)
        if target.type != "EXPRESS":
            raise ServiceError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        name = name if name is not None else self.ids.uuid()
        check_name(name)
        value = parse_input(input)
        sm_name = target.state_machine_arn.split(":")[-1]
        now = self.clock.now()
        arn = self._express_arn(sm_name, name)
        execution = self._run_express(target, arn, name, value, now)
        status = execution.status
        response: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": target.state_machine_arn,
            "name": name,
            "startDate": when(now),
            "stopDate": when(execution.stop_time or self.clock.now()),
            "status": "TIMED_OUT" if status == "TIMED_OUT" else status,
            "input": json.dumps(value, separators=(",", ":"), ensure_ascii=False),
            "inputDetails": {"included": True},
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": max(
                    100, int(((execution.stop_time or now) - now) * 1000)
                ),
            },
        }
        if traceHeader is not None:
            response["traceHeader"] = traceHeader
        if status == "SUCCEEDED":
            response["output"] = json.dumps(
                execution.output, separators=(",", ":"), ensure_ascii=False
            )
            response["outputDetails"] = {"included": True}
        else:
            if execution.error is not None:
                response["error"] = execution.error
            if execution.cause is not None:
                response["cause"] = execution.cause
        return response

    # --- reading -------------------------------------------------------------------------------

    def _execution(self, arn: str) -> ExecutionRecord:
        parts = arn.split(":")
        if len(parts) < 8 or parts[0] != "arn" or parts[2] != "states":
            raise ServiceError("InvalidArn", f"Invalid Arn: '{arn}'")
        if parts[5] not in ("execution", "express"):
            raise ServiceError(
                "InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {parts[5]}'"
            )
        if parts[5] == "express":
            raise ServiceError(
                "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'"
            )
        record = self.store.get_execution(arn)
        if record is None:
            raise ServiceError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return record

    def describe_execution(
        self, executionArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        """DescribeExecution."""
        record = self._execution(executionArn)
        return self.execution_description(record, includedData != "METADATA_ONLY")

    def execution_description(self, record: ExecutionRecord, data: bool = True) -> dict[str, Any]:
        """A stored execution in DescribeExecution's shape."""
        out: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": when(record.start_date),
        }
        if record.stop_date is not None:
            out["stopDate"] = when(record.stop_date)
        if data:
            out["input"] = record.input
        out["inputDetails"] = {"included": data}
        if record.status == "SUCCEEDED":
            if data:
                out["output"] = record.output
            out["outputDetails"] = {"included": data}
        if record.trace_header is not None:
            out["traceHeader"] = record.trace_header
        if record.error is not None:
            out["error"] = record.error
        if record.cause is not None:
            out["cause"] = record.cause
        if record.version_arn:
            out["stateMachineVersionArn"] = record.version_arn
        if record.alias_arn:
            out["stateMachineAliasArn"] = record.alias_arn
        out["redriveCount"] = record.redrive_count
        if record.status == "RUNNING":
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = "Execution is RUNNING and cannot be redriven"
        elif record.status == "SUCCEEDED":
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = "Redrive is not supported by stepfn yet"
        return out

    def describe_state_machine_for_execution(
        self, executionArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        """DescribeStateMachineForExecution: the definition the execution runs."""
        record = self._execution(executionArn)
        machine = self.store.get_state_machine(record.state_machine_arn)
        out: dict[str, Any] = {
            "stateMachineArn": record.state_machine_arn,
            "name": record.state_machine_arn.split(":")[-1],
            "definition": record.definition,
            "roleArn": record.role_arn,
            "updateDate": when(
                (machine.update_date or machine.creation_date) if machine else record.start_date
            ),
        }
        if machine is not None:
            out["loggingConfiguration"] = machine.logging_configuration or {
                "level": "OFF",
                "includeExecutionData": False,
            }
            out["tracingConfiguration"] = machine.tracing_configuration or {"enabled": False}
        if record.map_run_arn:
            out["mapRunArn"] = record.map_run_arn
        if record.state_machine_revision_id:
            out["revisionId"] = record.state_machine_revision_id
        return out

    def list_executions(
        self,
        stateMachineArn: str | None = None,
        statusFilter: str | None = None,
        maxResults: int | None = None,
        nextToken: str | None = None,
        mapRunArn: str | None = None,
        redriveFilter: str | None = None,
    ) -> dict[str, Any]:
        """ListExecutions, newest first."""
        if statusFilter is not None and statusFilter not in STATUSES:
            raise ServiceError(
                "ValidationException",
                f"1 validation error detected: Value '{statusFilter}' at 'statusFilter' failed "
                "to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, "
                "TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
            )
        size = page_size(maxResults)
        start = decode_token(nextToken)
        version_arn = alias_arn = None
        machine_arn = stateMachineArn
        if stateMachineArn is not None:
            target = self.resolve_target(stateMachineArn)  # checks that it exists
            machine_arn = target.state_machine_arn
            ref = parse_state_machine_arn(stateMachineArn)
            if ref.kind == "version":
                version_arn = stateMachineArn
            elif ref.kind == "alias":
                # An alias lists what ran through it, whichever version it picked.
                alias_arn = stateMachineArn
        records = self.store.list_executions(
            machine_arn, statusFilter, version_arn, alias_arn, mapRunArn
        )
        page = records[start : start + size]
        items = []
        for record in page:
            item: dict[str, Any] = {
                "executionArn": record.arn,
                "stateMachineArn": record.state_machine_arn,
                "name": record.name,
                "status": record.status,
                "startDate": when(record.start_date),
            }
            if record.stop_date is not None:
                item["stopDate"] = when(record.stop_date)
            if record.version_arn:
                item["stateMachineVersionArn"] = record.version_arn
            if record.alias_arn:
                item["stateMachineAliasArn"] = record.alias_arn
            item["redriveCount"] = record.redrive_count
            items.append(item)
        out: dict[str, Any] = {"executions": items}
        if start + size < len(records):
            out["nextToken"] = encode_token(start + size)
        return out

    def get_execution_history(
        self,
        executionArn: str,
        maxResults: int | None = None,
        reverseOrder: bool = False,
        nextToken: str | None = None,
        includeExecutionData: bool = True,
    ) -> dict[str, Any]:
        """GetExecutionHistory, paginated by event id."""
        self._execution(executionArn)
        size = page_size(maxResults)
        after = decode_token(nextToken)
        stored = self.store.get_events(executionArn, after, size + 1, reverseOrder)
        events = []
        for event in stored[:size]:
            details = event.details
            if details is not None and not includeExecutionData:
                details = {
                    k: v for k, v in details.items() if k not in ("input", "output", "parameters")
                }
            events.append(
                render_event(
                    event.id, event.previous_event_id, event.timestamp, event.type, details
                )
            )
        out: dict[str, Any] = {"events": events}
        if len(stored) > size:
            out["nextToken"] = encode_token(stored[size - 1].id)
        return out

    # --- acting --------------------------------------------------------------------------------

    def stop_execution(
        self, executionArn: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """StopExecution: abort now (the stop is applied before this returns)."""
        record = self._execution(executionArn)
        if record.status != "RUNNING":
            # Stopping a finished execution changes nothing; it reports when it stopped.
            return {"stopDate": when(record.stop_date or record.start_date)}
        now = self.clock.now()
        self.store.add_inbox(executionArn, {"type": "Stop", "error": error, "cause": cause}, now)
        self.worker.process([executionArn])
        stopped = self.store.get_execution(executionArn)
        stop_date = stopped.stop_date if stopped and stopped.stop_date else now
        return {"stopDate": when(stop_date)}

    def _task(self, token: str) -> Any:
        if not token or len(token) > 2048:
            raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
        task = self.store.get_task(token)
        if task is None:
            raise ServiceError("TaskDoesNotExist", f"Task Does Not Exist: '{token}'")
        if task.status == "done":
            raise ServiceError("TaskTimedOut", f"Task Timed Out: '{token}'")
        record = self.store.get_execution(task.execution_arn)
        if record is None or record.status != "RUNNING":
            raise ServiceError("TaskTimedOut", f"Task Timed Out: '{token}'")
        return task

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        """SendTaskSuccess: complete a callback or activity task."""
        task = self._task(taskToken)
        try:
            value = json.loads(output)
        except (TypeError, json.JSONDecodeError):
            raise ServiceError("InvalidOutput", f"Invalid Output: '{output}'") from None
        self._answer(task, {"type": "TaskSucceeded", "token": taskToken, "output": value})
        return {}

    def send_task_failure(
        self, taskToken: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """SendTaskFailure: fail a callback or activity task."""
        task = self._task(taskToken)
        self._answer(
            task, {"type": "TaskFailed", "token": taskToken, "error": error, "cause": cause}
        )
        return {}

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        """SendTaskHeartbeat: the task is alive; its heartbeat timer starts again."""
        task = self._task(taskToken)
        self.store.add_inbox(
            task.execution_arn, {"type": "TaskHeartbeat", "token": taskToken}, self.clock.now()
        )
        self.wake(task.execution_arn)
        return {}

    def _answer(self, task: Any, stimulus: dict[str, Any]) -> None:
        self.store.add_inbox(task.execution_arn, stimulus, self.clock.now())
        self.store.mark_task(task.token, "done")
        self.wake(task.execution_arn)

    def get_activity_task(self, activityArn: str, workerName: str | None = None) -> dict[str, Any]:
        """GetActivityTask: hand out the oldest waiting task, long-polling up to 60 s."""
        if self.store.get_activity(activityArn) is None:
            raise ServiceError("ActivityDoesNotExist", f"Activity Does Not Exist: '{activityArn}'")
        deadline = self.clock.now() + 60
        with self._activity_signal:
            while True:
                task = self.store.claim_activity_task(activityArn, workerName)
                if task is not None:
                    self.store.add_inbox(
                        task.execution_arn,
                        {"type": "TaskHeartbeat", "token": task.token},
                        self.clock.now(),
                    )
                    return {"taskToken": task.token, "input": task.payload}
                remaining = deadline - self.clock.now()
                if remaining <= 0 or self.clock.virtual:
                    return {}
                self._activity_signal.wait(min(remaining, 1.0))
