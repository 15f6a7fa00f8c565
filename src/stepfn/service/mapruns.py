"""Map runs: what a Distributed Map state ran, read back from its execution and children.

AWS runs the items of a Distributed Map as child executions grouped in a *map run*,
with an ARN of its own (``arn:aws:states:...:mapRun:<machine>/<label>:<id>``). So does
stepfn: each item (or batch, with ``ItemBatcher``) of a map run whose ``ExecutionType``
is STANDARD is a stored child execution, ``execution:<machine>/<label>:<name>``, with
a history of its own and ``map_run_arn`` set; its parent's steps move it on (see
``durable/worker.py``). The parent's history records the map run as AWS records it:
``MapRunStarted`` (with the ARN), then ``MapRunSucceeded``, ``MapRunFailed`` or
``MapRunAborted``. So the map runs of an execution are listed from its history, and
described from the history, the rows of its children (counted by status) and, while it
runs, the execution's run state (the settings it runs with).

The interpreter names a map run ``<machine>/<label>:<execution name>`` (inside a child
execution, the child's labelled machine and name), so its ARN leads back to the
execution that started it without an index. A Map that runs again (in a loop, on a
retry) keeps its ARN; its children carry the id of their run's ``MapRunStarted``
event, and DescribeMapRun and ListExecutions show the newest run. Redriving the parent
goes on with the same run (``map_redrive.py``): ``MapRunRedriven`` reopens it, and
DescribeMapRun shows its redrive count and date.

Known limits (documented in docs/api.md):

* Children of ExecutionType EXPRESS are not stored, as on AWS: ``ListExecutions`` lists
  none of them, and ``DescribeMapRun`` counts them from the run state while the map run
  runs; once it ended, from how it ended (all succeeded; one failed and the others
  aborted; all aborted).
* With ``ItemBatcher``, the items of the batches still pending when a map run ended
  are counted as full batches (the size of its largest started batch).
* ``UpdateMapRun`` cannot change a running map run (its concurrency and tolerances are
  in the run state, which only the worker writes): it answers ``UnsupportedOperation``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from stepfn.arns import EXECUTION, MAP_RUN, ArnBuilder, invalid_arn, parse_arn
from stepfn.definition.model import Machine, MapState, ParallelState
from stepfn.durable.map_run_events import MapRun, map_runs_of
from stepfn.errors import ServiceError
from stepfn.interp.runstate import FanOut, run_state_from_json
from stepfn.service.context import ServiceContext
from stepfn.store.base import ExecutionRecord
from stepfn.validation.rules import page

MAX_LONG_ARN = 2000
MAX_ARN = 256


class FeatureMissing(ServiceError):
    """A request stepfn understands but cannot carry out yet (HTTP 400, so that SDKs do
    not retry it); the message names the missing feature."""

    def __init__(self, message: str) -> None:
        super().__init__("UnsupportedOperation", message)


class MapRunValidation(ServiceError):
    """A ``ValidationException`` with AWS's ``reason`` member."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__("ValidationException", message)
        self.fields = {"reason": reason}


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def not_found(arn: str) -> ServiceError:
    """``ResourceNotFound`` for a map run (our wording, as for other resources)."""
    return ServiceError("ResourceNotFound", f"Resource not found: '{arn}'")


def _map_states(machine: Machine) -> Iterable[MapState]:
    for state in machine.states.values():
        if isinstance(state, MapState):
            yield state
            if state.processor is not None:
                yield from _map_states(state.processor)
        elif isinstance(state, ParallelState):
            for branch in state.branches:
                yield from _map_states(branch)


class MapRuns:
    """Map run operations: list, describe and update the map runs of executions."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.store = ctx.store
        self.models = ctx.models

    # --- reading ---------------------------------------------------------------------------

    def _map_run_execution(self, arn: str) -> ExecutionRecord:
        """The execution of a map run ARN; ``InvalidArn`` or ``ResourceNotFound``."""
        parsed = parse_arn(arn, (MAP_RUN,))
        machine_and_label, sep, execution_name = parsed.resource.rpartition(":")
        # A map run of a child execution: <machine>/<child's label>/<label>.
        machine, slash, label = machine_and_label.rpartition("/")
        if not (sep and slash and machine and label and execution_name):
            raise invalid_arn(f"Resource name not valid: {arn}")
        arns = ArnBuilder(parsed.region, parsed.account, parsed.partition)
        record = self.store.get_execution(arns.execution(machine, execution_name))
        if record is None:
            raise not_found(arn)
        return record

    def _map_run(self, arn: str) -> tuple[ExecutionRecord, MapRun]:
        record = self._map_run_execution(arn)
        # The newest run of that ARN: a Map inside a loop runs again under the same one.
        for run in reversed(map_runs_of(self.store.get_events(record.arn), record.arn)):
            if run.arn == arn:
                return record, run
        raise not_found(arn)

    def list_map_runs(
        self, executionArn: str, maxResults: int | None = None, nextToken: str | None = None
    ) -> dict[str, Any]:
        """ListMapRuns: the map runs an execution started, oldest first."""
        parse_arn(executionArn, (EXECUTION,))
        record = self.store.get_execution(executionArn)
        if record is None:
            raise ServiceError(
                "ExecutionDoesNotExist", f"Execution Does Not Exist: '{executionArn}'"
            )
        runs = map_runs_of(self.store.get_events(executionArn), executionArn)
        chosen, token = page(
            runs,
            lambda run: run.started.id,
            scope=f"map-runs:{executionArn}",
            max_results=maxResults,
            next_token=nextToken,
        )
        items = []
        for run in chosen:
            item: dict[str, Any] = {
                "executionArn": executionArn,
                "mapRunArn": run.arn,
                "stateMachineArn": self._labelled_machine_arn(record, run.arn),
                "startDate": _when(run.started.timestamp),
            }
            stop = self._stop_time(record, run)
            if stop is not None:
                item["stopDate"] = _when(stop)
            items.append(item)
        out: dict[str, Any] = {"mapRuns": items}
        if token is not None:
            out["nextToken"] = token
        return out

    def describe_map_run(self, mapRunArn: str) -> dict[str, Any]:
        """DescribeMapRun: status, settings and item counts of a map run."""
        record, run = self._map_run(mapRunArn)
        status = self._status(record, run)
        state = self._map_state(record, run.arn)
        fan = self._fan(record, run) if status == "RUNNING" else None
        children = self.store.count_map_run_children(run.arn, run.started.id)
        if children:
            batched = state is not None and state.item_batcher is not None
            item_counts, execution_counts = _child_counts(run.length, children, fan, batched)
        else:
            # Children that are not stored (EXPRESS), or none started (no items).
            execution_counts = self._counts(run, status, fan)
            item_counts = dict(execution_counts)
        out: dict[str, Any] = {
            "mapRunArn": run.arn,
            "executionArn": record.arn,
            "status": status,
            "startDate": _when(run.started.timestamp),
            "maxConcurrency": self._setting(
                fan.max_concurrency if fan else None, state.max_concurrency if state else 0
            ),
            "toleratedFailurePercentage": float(
                self._setting(
                    fan.tolerated_percentage if fan else None,
                    state.tolerated_failure_percentage if state else 0,
                )
            ),
            "toleratedFailureCount": self._setting(
                fan.tolerated_count if fan else None,
                state.tolerated_failure_count if state else 0,
            ),
            "itemCounts": item_counts,
            "executionCounts": execution_counts,
            "redriveCount": run.redrive_count,
        }
        if run.redriven is not None:
            out["redriveDate"] = _when(run.redriven.timestamp)
        stop = self._stop_time(record, run)
        if stop is not None:
            out["stopDate"] = _when(stop)
        return out

    def update_map_run(
        self,
        mapRunArn: str,
        maxConcurrency: int | None = None,
        toleratedFailurePercentage: float | None = None,
        toleratedFailureCount: int | None = None,
    ) -> dict[str, Any]:
        """UpdateMapRun: refused for a finished map run, as AWS refuses it; a running one
        cannot be changed by stepfn yet (``UnsupportedOperation``)."""
        if (
            maxConcurrency is None
            and toleratedFailurePercentage is None
            and (toleratedFailureCount is None)
        ):
            raise MapRunValidation(
                "At least one of maxConcurrency, toleratedFailurePercentage or "
                "toleratedFailureCount must be given",
                "MISSING_REQUIRED_PARAMETER",
            )
        record, run = self._map_run(mapRunArn)
        if self._status(record, run) != "RUNNING":
            raise MapRunValidation(
                f"Map run {mapRunArn} has completed and cannot be updated",
                "CANNOT_UPDATE_COMPLETED_MAP_RUN",
            )
        raise FeatureMissing(
            "UpdateMapRun on a running map run is not supported by stepfn yet: it keeps "
            "the MaxConcurrency and failure tolerances it started with"
        )

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _status(record: ExecutionRecord, run: MapRun) -> str:
        if run.ended is not None:
            return run.status
        # The execution ended (stopped, timed out) while the map run was in progress.
        return "RUNNING" if record.status == "RUNNING" else "ABORTED"

    @staticmethod
    def _stop_time(record: ExecutionRecord, run: MapRun) -> float | None:
        if run.ended is not None:
            return run.ended.timestamp
        if record.status != "RUNNING":
            return record.stop_date
        return None

    @staticmethod
    def _labelled_machine_arn(record: ExecutionRecord, map_run_arn: str) -> str:
        # The items run as a labelled state machine: <machine arn>/<label>.
        return f"{record.state_machine_arn}/{_label(map_run_arn)}"

    def _map_state(self, record: ExecutionRecord, map_run_arn: str) -> MapState | None:
        label = _label(map_run_arn)
        try:
            machine = self.models.get(record.definition)
        except Exception:  # a definition that no longer builds: describe what we can
            return None
        for state in _map_states(machine):
            if state.distributed and (state.label or state.name) == label:
                return state
        return None

    @staticmethod
    def _fan(record: ExecutionRecord, run: MapRun) -> FanOut | None:
        """The running Map's fan-out: its thread is the one whose last event is the
        ``MapRunStarted`` or ``MapRunRedriven`` (its items write to their own
        histories). A map run of a child execution has none to read: its child keeps no
        run state of its own."""
        if not record.run_state:
            return None
        try:
            state = run_state_from_json(record.run_state)
        except (ValueError, KeyError, TypeError):
            return None
        for thread in state.threads.values():
            if thread.fan is not None and thread.last_event_id == run.last_start.id:
                return thread.fan
        return None

    @staticmethod
    def _setting(running: Any, static: Any) -> Any:
        # A value set by a path is known only while running; otherwise the definition's.
        value = running if running is not None else static
        return value if isinstance(value, int | float) and not isinstance(value, bool) else 0

    @staticmethod
    def _counts(run: MapRun, status: str, fan: FanOut | None) -> dict[str, int]:
        total = run.length
        counts = dict.fromkeys(
            ("pending", "running", "succeeded", "failed", "timedOut", "aborted"), 0
        )
        if status == "SUCCEEDED":
            counts["succeeded"] = total
        elif status == "RUNNING":
            if fan is not None:
                counts["pending"] = len(fan.pending)
                counts["running"] = len(fan.running)
                counts["failed"] = fan.failures
                done = total - counts["pending"] - counts["running"]
                counts["succeeded"] = max(0, done - fan.failures)
            else:
                counts["pending"] = total
        elif status == "FAILED":
            counts["failed"] = 1 if total else 0
            counts["aborted"] = max(0, total - 1)
        else:
            counts["aborted"] = total
        counts["total"] = total
        counts["resultsWritten"] = counts["succeeded"]
        return counts


_COUNTED = {
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "timedOut",
    "ABORTED": "aborted",
}


def _label(map_run_arn: str) -> str:
    """The label of a map run's Map (the last part of ``<machine>/<label>``)."""
    return map_run_arn.rsplit(":", 1)[0].rsplit("/", 1)[-1]


def _child_counts(
    length: int, children: dict[str, tuple[int, int]], fan: FanOut | None, batched: bool
) -> tuple[dict[str, int], dict[str, int]]:
    """(itemCounts, executionCounts) of a map run from its stored children by status:
    (executions, items). ``length``: the executions it has (items, or batches with
    ``batched``); those not started are pending. ``fan``: the running Map's fan-out,
    which knows the items of the pending batches."""
    executions = dict.fromkeys(
        ("pending", "running", "succeeded", "failed", "timedOut", "aborted"), 0
    )
    items = dict(executions)
    for status, (count, item_count) in children.items():
        key = _COUNTED.get(status)
        if key is not None:
            executions[key] += count
            items[key] += item_count
    started = sum(count for count, _ in children.values())
    executions["pending"] = pending = max(0, length - started)
    if not batched:
        items["pending"] = pending
    elif fan is not None:
        items["pending"] = sum(_batch_size(fan.items[index]) for index in fan.pending)
    elif pending:
        # Every batch holds the batch size but the last, which may hold fewer: count
        # pending batches as full ones, of the size the started ones show.
        per_batch = max((-(-n // c) for c, n in children.values() if c), default=1)
        items["pending"] = pending * per_batch
    for counts in (executions, items):
        counts["total"] = sum(counts[key] for key in _COUNTED.values()) + counts["pending"]
        counts["resultsWritten"] = counts["succeeded"]
    return items, executions


def _batch_size(batch: Any) -> int:
    """How many items a batch (``{"Items": [...], "BatchInput": ...}``) holds."""
    items = batch.get("Items") if isinstance(batch, dict) else None
    return len(items) if isinstance(items, list) else 1
