"""The execution operations of the Engine: start, describe, stop, list, history, tasks,
redrive; the map run operations come from ``mapruns.py``.

Methods are named and shaped as boto3's Step Functions client methods. Starting a
Standard execution runs its first states at once, up to the first task, timer or its
end, and writes the execution row with those events, timers and tasks in one
transaction (``Worker.start``); workers take it on from there. Express
executions run in memory, as AWS runs them, and keep no history.

Each operation first checks its members against the service model's constraints
(lengths, ranges, enums) and answers one ``ValidationException`` worded as AWS words it:
the HTTP API has checked them already, but Python callers of the Engine get the same
answers. Execution names keep their own rule (``InvalidName``, lengths included).

Redrive runs a failed, timed-out or aborted Standard execution again from the state
where it stopped: the execution is marked running with a ``Redrive`` stimulus in its
inbox, in one commit, and the worker's interpreter does the rest (``ExecutionRedriven``,
then that state again).

The child executions of a distributed Map are read like any other (described, listed by
their map run, their history), but they run inside their parent: redriving a parent that
stopped in a distributed Map redrives that Map's map run (``map_redrive.py``: its
unsuccessful children redriven, its succeeded ones kept), and a child cannot be stopped
or redriven on its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stepfn.arns import EXECUTION, EXPRESS, parse_arn, parse_state_machine_arn, resource_name
from stepfn.durable.express import ExpressRunner
from stepfn.durable.map_redrive import map_run_to_redrive
from stepfn.durable.worker import Worker
from stepfn.errors import ServiceError
from stepfn.interp.events import render_event
from stepfn.jsontext import compact
from stepfn.service.context import ServiceContext
from stepfn.service.execution_checks import (
    REDRIVABLE,
    REDRIVE_LOCK,
    STATUSES,
    check_name,
    decode_token,
    encode_token,
    not_redrivable,
    page_size,
    parse_input,
    when,
)
from stepfn.service.mapruns import FeatureMissing, MapRuns
from stepfn.service.state_machines import StateMachines
from stepfn.store.base import (
    Conflict,
    ExecutionQuery,
    ExecutionRecord,
    ExecutionSummary,
    StepCommit,
)

REDRIVE_TOKENS = 10
REDRIVE_TOKEN_SECONDS = 15 * 60

__all__ = [
    "STATUSES",
    "Executions",
    "check_name",
    "decode_token",
    "encode_token",
    "page_size",
    "parse_input",
    "when",
]


class Executions:
    """Execution operations: start (Standard and Express), read, stop and redrive."""

    def __init__(
        self,
        ctx: ServiceContext,
        machines: StateMachines,
        map_runs: MapRuns,
        worker: Worker,
        express: ExpressRunner,
        wake: Callable[[str], None],
        mocks: Any = None,
    ) -> None:
        self.store = ctx.store
        self.clock = ctx.clock
        self.ids = ctx.ids
        self.models = ctx.models
        self.arns = ctx.arns
        self.machines = machines
        self.map_runs = map_runs
        self.worker = worker
        self.express = express
        self.wake = wake
        # The engine's mocked tasks (``stepfn.testing.MockTasks``), with a mock file.
        self.mocks = mocks

    # --- starting ------------------------------------------------------------------------------

    def start_execution(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any]:
        """StartExecution: a Standard execution is stored and queued; an Express one runs.

        ``stateMachineArn#TestCase`` runs a test case of the engine's mock file."""
        begun = self._begin_start(stateMachineArn, name, input, traceHeader)
        if isinstance(begun, dict):
            return begun
        record, value = begun
        (error,) = self.worker.start_all([(record, value)])
        answer = self._started(record, error)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def start_executions(
        self, calls: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any] | BaseException]:
        """Many StartExecution calls (each one's members) answered together: the new
        Standard executions share one group commit. Each call's answer, or the error
        it raises alone (``ServiceError``, say): one call's failure is no other's."""
        answers: list[dict[str, Any] | BaseException] = [{} for _ in calls]
        standard: list[tuple[int, ExecutionRecord, Any]] = []
        for index, call in enumerate(calls):
            try:
                begun = self._begin_start(**call)
            except Exception as exc:
                answers[index] = exc
                continue
            if isinstance(begun, dict):
                answers[index] = begun
            else:
                standard.append((index, *begun))
        if not standard:
            return answers
        # No read first: a name used before is rare, and the insert's conflict tells.
        errors = self.worker.start_all([(record, value) for _, record, value in standard])
        for (index, record, _), error in zip(standard, errors, strict=True):
            answers[index] = self._started(record, error)
        return answers

    def _started(
        self, record: ExecutionRecord, error: BaseException | None
    ) -> dict[str, Any] | BaseException:
        """The answer of a Standard start that the worker stored (``error`` None) or
        refused: a name in use is the same call again while that execution runs
        with the same input (AWS's idempotency), else ``ExecutionAlreadyExists``."""
        if error is None:
            return {"executionArn": record.arn, "startDate": when(record.start_date)}
        if not isinstance(error, Conflict):
            return error
        try:
            existing = self.store.get_execution(record.arn)
            return error if existing is None else self._same_start(existing, record.input)
        except Exception as exc:
            return exc

    def _begin_start(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any] | tuple[ExecutionRecord, Any]:
        """A StartExecution up to its commit: the answer of an Express start (it runs),
        or the record of a Standard execution to store and its parsed input."""
        stateMachineArn, test_case = self._test_case(stateMachineArn)
        target = self.machines.resolve_target(stateMachineArn)
        name = name if name is not None else self.ids.uuid()
        check_name(name)
        value = parse_input(input)
        text = compact(value)
        sm_name = resource_name(target.state_machine_arn)
        now = self.clock.now()
        if target.type == "EXPRESS":
            arn = self._express_arn(sm_name, name)
            self._bind_test_case(arn, target, test_case)
            self.express.submit(target, self._express_record(target, arn, name, value, now), value)
            return {"executionArn": arn, "startDate": when(now)}
        arn = self.arns.execution(sm_name, name)
        record = self._new_record(
            target,
            arn,
            name,
            "STANDARD",
            text,
            now,
            version_arn=target.version_arn,
            alias_arn=target.alias_arn,
            trace_header=traceHeader,
            state_machine_revision_id=target.revision_id,
        )
        self._bind_test_case(arn, target, test_case)
        return record, value

    def _test_case(self, arn: Any) -> tuple[Any, str | None]:
        """``(stateMachineArn, TestCase)`` of ``stateMachineArn#TestCase``."""
        if not isinstance(arn, str) or "#" not in arn:
            return arn, None
        base, _, case = arn.partition("#")
        if self.mocks is None:
            raise ServiceError(
                "StateMachineDoesNotExist",
                f"State Machine Does Not Exist: '{arn}' (a test case needs a mock "
                "configuration: --mock-config or $SFN_MOCK_CONFIG)",
            )
        return base, case

    def _bind_test_case(self, execution_arn: str, target: Any, test_case: str | None) -> None:
        if test_case is None:
            return
        from stepfn.tasks.mock_config import MockConfigError

        try:
            self.mocks.bind(execution_arn, target.name, test_case, target.definition)
        except MockConfigError as exc:
            raise ServiceError("ValidationException", "; ".join(exc.problems)) from None

    def _express_arn(self, sm_name: str, name: str) -> str:
        # Express execution ARNs carry a unique suffix: names may repeat.
        return self.arns.express_execution(sm_name, name, self.ids.uuid())

    def _same_start(self, existing: ExecutionRecord, input_text: str) -> dict[str, Any]:
        # AWS's idempotency: the same name and input while it runs is the same call.
        if existing.status == "RUNNING" and existing.input == input_text:
            return {"executionArn": existing.arn, "startDate": when(existing.start_date)}
        raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{existing.arn}'")

    def _express_record(self, target: Any, arn: str, name: str, value: Any, now: float) -> Any:
        return self._new_record(target, arn, name, "EXPRESS", json.dumps(value), now)

    @staticmethod
    def _new_record(
        target: Any, arn: str, name: str, type: str, input: str, now: float, **more: Any
    ) -> ExecutionRecord:
        """The record of an execution of ``target`` starting ``now``: RUNNING, as the
        target's definition and role have it (``more``: the record's other fields)."""
        return ExecutionRecord(
            arn=arn,
            state_machine_arn=target.state_machine_arn,
            name=name,
            type=type,
            status="RUNNING",
            input=input,
            start_date=now,
            definition=target.definition,
            role_arn=target.role_arn,
            **more,
        )

    def start_sync_execution(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
        includedData: str | None = None,
    ) -> dict[str, Any]:
        """StartSyncExecution: run an Express execution and return how it ended."""
        stateMachineArn, test_case = self._test_case(stateMachineArn)
        target = self.machines.resolve_target(stateMachineArn)
        name, value = self._express_start(target, name, input)
        sm_name = resource_name(target.state_machine_arn)
        now = self.clock.now()
        arn = self._express_arn(sm_name, name)
        self._bind_test_case(arn, target, test_case)
        execution = self.express.run(
            target, self._express_record(target, arn, name, value, now), value
        )
        return self._sync_response(target, execution, value, includedData, traceHeader)

    def start_express_child(
        self,
        stateMachineArn: str,
        name: str | None,
        input: str | None,
        ended: Callable[[dict[str, Any]], None],
    ) -> dict[str, Any]:
        """StartExecution of an Express machine for a nested ``.sync`` task: it runs on
        the pool as any Express start does, and ``ended`` gets StartSyncExecution's
        answer when it ends (an Express execution keeps nothing to describe later).

        Raises:
            ServiceError: as StartExecution (``StateMachineTypeNotSupported`` for a
            Standard machine, which ``start_execution`` starts).
        """
        target = self.machines.resolve_target(stateMachineArn)
        name, value = self._express_start(target, name, input)
        now = self.clock.now()
        arn = self._express_arn(resource_name(target.state_machine_arn), name)
        self.express.submit(
            target,
            self._express_record(target, arn, name, value, now),
            value,
            lambda execution: ended(self._sync_response(target, execution, value)),
        )
        return {"executionArn": arn, "startDate": when(now)}

    def _express_start(self, target: Any, name: str | None, input: str | None) -> tuple[str, Any]:
        """An Express start's name (given, else new) and parsed input, once its machine is
        known to be Express (``StateMachineTypeNotSupported`` otherwise)."""
        if target.type != "EXPRESS":
            raise ServiceError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        name = name if name is not None else self.ids.uuid()
        check_name(name)
        return name, parse_input(input)

    def _sync_response(
        self,
        target: Any,
        execution: Any,
        value: Any,
        includedData: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any]:
        """StartSyncExecution's answer for an Express execution that has ended."""
        now = execution.start_time
        status = execution.status
        data = includedData != "METADATA_ONLY"
        response: dict[str, Any] = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": target.state_machine_arn,
            "name": execution.name,
            "startDate": when(now),
            "stopDate": when(execution.stop_time or self.clock.now()),
            "status": status,
            "inputDetails": {"included": data},
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": max(
                    100, int(((execution.stop_time or now) - now) * 1000)
                ),
            },
        }
        if data:
            response["input"] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if traceHeader is not None:
            response["traceHeader"] = traceHeader
        if status == "SUCCEEDED":
            if data:
                response["output"] = json.dumps(
                    execution.output, separators=(",", ":"), ensure_ascii=False
                )
            response["outputDetails"] = {"included": data}
        else:
            if execution.error is not None:
                response["error"] = execution.error
            if execution.cause is not None:
                response["cause"] = execution.cause
        return response

    # --- reading -------------------------------------------------------------------------------

    def _execution(self, arn: str) -> ExecutionRecord:
        parsed = parse_arn(arn, (EXECUTION, EXPRESS))
        if parsed.resource_type == EXPRESS:
            # Express executions keep no record to read (a recorded answer of AWS).
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
        running = record.status == "RUNNING"
        out: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": when(record.start_date),
        }
        # A redriven execution keeps its last stop's date, error and cause in the store
        # until it stops again: while it runs they are not shown.
        if record.stop_date is not None and not running:
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
        if record.map_run_arn:
            out["mapRunArn"] = record.map_run_arn
        if record.status in REDRIVABLE:
            if record.error is not None:
                out["error"] = record.error
            if record.cause is not None:
                out["cause"] = record.cause
        _target_and_redrives(record, out)
        reason = not_redrivable(record, self.clock.now())
        if reason is None:
            out["redriveStatus"] = "REDRIVABLE"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = reason
        return out

    def describe_state_machine_for_execution(
        self, executionArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        """DescribeStateMachineForExecution: the definition the execution runs."""
        record = self._execution(executionArn)
        # A child execution runs <machine>/<label>: its settings are its machine's.
        machine_arn, _, label = record.state_machine_arn.partition("/")
        machine = self.store.get_state_machine(machine_arn)
        out: dict[str, Any] = {
            "stateMachineArn": record.state_machine_arn,
            "name": resource_name(record.state_machine_arn),
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
            out["label"] = label
        if record.state_machine_revision_id:
            out["revisionId"] = record.state_machine_revision_id
        return out

    def count_executions(self, stateMachineArn: str) -> dict[str, int]:
        """How many executions a Standard state machine has, by status (a stepfn
        addition, not an AWS operation: the console's lists show them)."""
        target = self.machines.resolve_target(stateMachineArn)  # checks that it exists
        if target.type == "EXPRESS":
            return {}
        return self.store.count_executions(target.state_machine_arn)

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
        if stateMachineArn is not None and mapRunArn is not None:
            raise ServiceError(
                "ValidationException",
                "Only one of stateMachineArn and mapRunArn can be given",
            )
        size = page_size(maxResults)
        start = decode_token(nextToken)
        version_arn = alias_arn = None
        machine_arn = stateMachineArn
        if stateMachineArn is not None:
            target = self.machines.resolve_target(stateMachineArn)  # checks that it exists
            if target.type == "EXPRESS":
                # Express executions keep no record to list (a recorded answer of AWS).
                raise ServiceError(
                    "StateMachineTypeNotSupported",
                    "This operation is not supported by this type of state machine",
                )
            machine_arn = target.state_machine_arn
            ref = parse_state_machine_arn(stateMachineArn)
            if ref.kind == "version":
                version_arn = stateMachineArn
            elif ref.kind == "alias":
                # An alias lists what ran through it, whichever version it picked.
                alias_arn = stateMachineArn
        map_run_event_id = None
        if mapRunArn is not None:
            # InvalidArn or ResourceNotFound, as AWS answers; a Map that ran more than
            # once lists the children of its newest run, which DescribeMapRun describes.
            map_run_event_id = self.map_runs._map_run(mapRunArn)[1].started.id
        # One more than the page: whether there is a next page, without counting them all.
        query = ExecutionQuery(
            machine_arn,
            statusFilter,
            version_arn,
            alias_arn,
            mapRunArn,
            map_run_event_id,
            redriven=None if redriveFilter is None else redriveFilter == "REDRIVEN",
            limit=size + 1,
            offset=start,
        )
        records = self.store.list_execution_summaries(query)
        items = [self._list_item(record) for record in records[:size]]
        out: dict[str, Any] = {"executions": items}
        if len(records) > size:
            out["nextToken"] = encode_token(start + size)
        return out

    @staticmethod
    def _list_item(record: ExecutionSummary) -> dict[str, Any]:
        item: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": when(record.start_date),
        }
        if record.stop_date is not None and record.status != "RUNNING":
            item["stopDate"] = when(record.stop_date)
        if record.map_run_arn:
            # Only children have one, and they are listed only by their map run.
            item["mapRunArn"] = record.map_run_arn
            item["itemCount"] = record.item_count or 1
        _target_and_redrives(record, item)
        return item

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
        stored = self.store.get_events(executionArn, after, size + 1, bool(reverseOrder))
        events = []
        for event in stored[:size]:
            details = event.details
            if details is not None and includeExecutionData is False:
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
        if record.map_run_arn:
            raise FeatureMissing(
                "StopExecution of a child execution of a Map Run is not supported by "
                "stepfn yet: stop its parent execution, which aborts it"
            )
        now = self.clock.now()
        self.store.add_inbox(executionArn, {"type": "Stop", "error": error, "cause": cause}, now)
        self.worker.process([executionArn])
        stopped = self.store.get_execution(executionArn)
        stop_date = stopped.stop_date if stopped and stopped.stop_date else now
        return {"stopDate": when(stop_date)}

    def redrive_execution(
        self, executionArn: str, clientToken: str | None = None
    ) -> dict[str, Any]:
        """RedriveExecution: run a failed, timed-out or aborted execution again from the
        state where it stopped.

        ``clientToken`` makes the call idempotent as AWS makes it: the last
        ``REDRIVE_TOKENS`` tokens that redrove an execution answer the same redrive for
        ``REDRIVE_TOKEN_SECONDS`` after their first use, whatever the execution's status
        since. The tokens are kept by this process, not stored.
        """
        # execution ARN -> [(token, redrive date)], oldest first
        tokens: dict[str, list[tuple[str, float]]] = vars(self).setdefault("_redrive_tokens", {})
        with REDRIVE_LOCK:
            record = self._execution(executionArn)
            now = self.clock.now()
            for token, redriven in tokens.get(executionArn, ()):
                if token == clientToken and now - redriven <= REDRIVE_TOKEN_SECONDS:
                    return {"redriveDate": when(redriven)}
            reason = not_redrivable(record, now)
            if reason is not None:
                raise ServiceError("ExecutionNotRedrivable", reason)
            count = record.redrive_count + 1
            stimulus: dict[str, Any] = {"type": "Redrive", "redrive_count": count}
            map_run = map_run_to_redrive(self.store, self.models.get(record.definition), record)
            if map_run is not None:
                stimulus["map_run"] = map_run
            # One commit, guarded by next_event_id: the new count (the worker reads it for
            # $$.Execution.RedriveCount), the old result cleared, "running", and the
            # Redrive stimulus. A crash leaves either all of it or none.
            commit = StepCommit(
                execution_arn=executionArn,
                expected_next_event_id=record.next_event_id,
                next_event_id=record.next_event_id,
                run_state=record.run_state or "null",
                status="RUNNING",
                new_inbox=[stimulus],
                redrive_count=count,
                redrive_date=now,
            )
            if self.store.commit_steps([commit]):
                raise ServiceError(
                    "ExecutionNotRedrivable",
                    "Execution changed while it was being redriven; try again",
                )
            if self.worker.status_events is not None:
                running = record.as_running(redrive_count=count)
                self.worker.status_events.changed(running, now)
            if clientToken is not None:
                used = tokens.setdefault(executionArn, [])
                used.append((clientToken, now))
                del used[:-REDRIVE_TOKENS]
        self.wake(executionArn)
        return {"redriveDate": when(now)}


def _target_and_redrives(record: ExecutionRecord | ExecutionSummary, out: dict[str, Any]) -> None:
    """The members DescribeExecution and ListExecutions share: the version or alias the
    execution was started through, and its redrives."""
    if record.version_arn:
        out["stateMachineVersionArn"] = record.version_arn
    if record.alias_arn:
        out["stateMachineAliasArn"] = record.alias_arn
    out["redriveCount"] = record.redrive_count
    if record.redrive_date is not None:
        out["redriveDate"] = when(record.redrive_date)
