"""The durable engine's side of nested executions (``tasks/nested.py``).

A child is an ordinary execution of the engine: started through ``Executions``, stored,
listed and described like any other. A ``.sync`` parent waits for it through a watch:
after the committed step that ends an execution the worker names it
(``Worker.on_end``); when that is a watched child, its description goes to the
parent's task, whose adapter puts the end in the parent's inbox.

Watches live in this process. After a restart the parent's task, dispatched and never
answered, is dispatched again (``Worker.recover``): the adapter starts the child again
under the same name and input, which StartExecution answers with the same execution
while it runs, and the watch is made again. A child without a ``Name`` is named from
the parent's task token, so that this holds for it too.

An Express child keeps no record (as on AWS, DescribeExecution does not describe it):
for a ``.sync`` task it runs on the Express pool like any Express start, and its end,
in the fields DescribeExecution and StartSyncExecution share, goes to the parent's
watch (kept here until the watch is made, if it ends first). Its ARN is an Express
execution's (``...:express:MACHINE:NAME:ID``). After a restart the task dispatched
again runs a new child: Express executions are at least once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stepfn.errors import ServiceError
from stepfn.tasks.nested import ChildStart

if TYPE_CHECKING:
    from stepfn.service.executions import Executions
    from stepfn.service.tokens import TaskTokens

Description = dict[str, Any]


class EngineChildren:
    """``ChildExecutions`` over the engine's services (bound once they exist)."""

    def __init__(self) -> None:
        self._executions: Executions | None = None
        self._tokens: TaskTokens | None = None
        self._watches: dict[str, list[Callable[[Description], None]]] = {}
        # Express children of .sync tasks that ended before their parent's watch.
        self._express: dict[str, Description] = {}
        self._lock = threading.Lock()

    def bind(self, executions: Executions, tokens: TaskTokens) -> None:
        """Give the services (the adapter is made before them: the worker needs it)."""
        self._executions, self._tokens = executions, tokens

    @property
    def executions(self) -> Executions:
        if self._executions is None:
            raise ServiceError("ServiceUnavailable", "the engine is not ready", 503)
        return self._executions

    def start_child(self, start: ChildStart) -> dict[str, Any]:
        """StartExecution of the child (``sync``: its parent will wait for its end)."""
        state_machine_arn, name, input = start.state_machine_arn, start.name, start.input
        if (
            start.sync
            and self.executions.machines.resolve_target(state_machine_arn).type == "EXPRESS"
        ):
            # An Express child keeps no record to watch: its end is handed over as it
            # comes, and kept until the parent's watch takes it.
            return self.executions.start_express_child(
                state_machine_arn, name, input, self._express_ended
            )
        ours = name is None
        if name is None:
            # Named from the parent's task token (one per attempt): a dispatch again
            # after a restart finds the same child.
            name = str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"{start.parent.execution_arn}#{start.token}")
            )
        try:
            return self.executions.start_execution(state_machine_arn, name=name, input=input)
        except ServiceError as exc:
            if not ours or exc.code != "ExecutionAlreadyExists":
                raise
            # This task's own child, which ended while the server was down: the task
            # goes on with it (a running one StartExecution itself answers again).
            found = self.executions.store.get_execution(exc.message.split("'")[1])
            if found is None:
                raise
            return {"executionArn": found.arn, "startDate": found.start_date}

    def _express_ended(self, answer: Description) -> None:
        # StartSyncExecution's answer, less what DescribeExecution does not have.
        description = {
            key: value
            for key, value in answer.items()
            if key not in ("billingDetails", "traceHeader")
        }
        arn = description["executionArn"]
        with self._lock:
            waiting = self._watches.pop(arn, None)
            if waiting is None:
                self._express[arn] = description  # ended before its watch was made
        for ended in waiting or ():
            ended(description)

    def watch(self, execution_arn: str, ended: Callable[[Description], None]) -> None:
        """Call ``ended`` once the child has ended."""
        if ":express:" in execution_arn:
            with self._lock:
                description = self._express.pop(execution_arn, None)
                if description is None:
                    self._watches.setdefault(execution_arn, []).append(ended)
            if description is not None:
                ended(description)
            return
        with self._lock:
            self._watches.setdefault(execution_arn, []).append(ended)
        self.ended(execution_arn)  # it may have ended before the watch was made

    def ended(self, execution_arn: str, status: str | None = None) -> None:
        """``execution_arn`` may have ended (``Worker.on_end`` tells its ``status``):
        end the tasks that wait for it once its description says it has."""
        if execution_arn not in self._watches or ":express:" in execution_arn:
            return  # the usual case: a dict lookup
        try:
            description = self.executions.describe_execution(execution_arn)
        except ServiceError:
            return
        if description.get("status") == "RUNNING":
            return
        with self._lock:
            waiting = self._watches.pop(execution_arn, [])
        for ended in waiting:
            ended(description)

    def stop(self, execution_arn: str) -> None:
        """StopExecution of the child."""
        self.executions.stop_execution(execution_arn)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """An ``aws-sdk:sfn`` call on this engine."""
        tokens = self._tokens
        executions = self.executions
        assert tokens is not None
        table: dict[str, Callable[..., dict[str, Any]]] = {
            "DescribeExecution": executions.describe_execution,
            "StopExecution": executions.stop_execution,
            "SendTaskSuccess": tokens.send_task_success,
            "SendTaskFailure": tokens.send_task_failure,
            "SendTaskHeartbeat": tokens.send_task_heartbeat,
        }
        return table[operation](**params)
