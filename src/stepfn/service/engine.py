"""The Engine: the one door to the service, for the API, the CLI, the console and deploy.

The Engine is composed of services, each given what it needs explicitly
(``ServiceContext`` and the other services it calls):

* ``state_machines``: state machines, versions and aliases (``state_machines.py``);
* ``activities``: activities and the tags of every taggable resource;
* ``executions``: start (Standard and Express), describe, list, history, stop, redrive;
* ``tokens``: SendTask*, GetActivityTask;
* ``map_runs``: list, describe and update map runs;
* ``test_states``: TestState;
* ``logs``: the CloudWatch Logs operations over the log groups executions write to.

``operations`` is the explicit table the API dispatches on: operation name -> the method
that answers it, given members the API has checked against the service model. The same
methods are the Engine's own attributes, named as boto3 names them, for Python callers:
those check their arguments with the same validator (``validation.requests``) first.

``Engine.open("stepfn.db")`` opens (or creates) a store and starts the engine's loop in
a background thread: it steps runnable executions through the worker, and fires due
timers as the scheduler. With a virtual clock there is no thread: the caller drives the
engine with ``run_until_idle()``, which jumps the clock from timer to timer, so a
one-year Wait completes at once. ``Engine.open(url, read_only=True)`` starts no loop,
recovers nothing and refuses to run executions: for tools that read a store, or write
definitions into it, while a server may own it.

On opening, the engine recovers what a crash interrupted: every execution with stimuli
waiting in its inbox is runnable again, and every task that was dispatched but never
answered is dispatched again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stepfn.clock import Clock, IdSource
from stepfn.durable.express import ExpressRunner
from stepfn.durable.loop import LEASE_SECONDS, Loop
from stepfn.durable.worker import Worker
from stepfn.errors import ServiceError
from stepfn.functions.local import FunctionCode
from stepfn.functions.pool import FunctionRuntime
from stepfn.logs.delivery import LogDelivery
from stepfn.logs.events import log_group_name
from stepfn.logs.service import CloudWatchLogs
from stepfn.service.activities import Activities
from stepfn.service.context import ServiceContext
from stepfn.service.executions import Executions
from stepfn.service.function_invoke import FunctionsFirst
from stepfn.service.functions import Functions, function_code_dir
from stepfn.service.iam import Iam
from stepfn.service.iam_tasks import IamEnforced
from stepfn.service.mapruns import MapRuns
from stepfn.service.nested import EngineChildren
from stepfn.service.state_machines import StateMachines
from stepfn.service.tokens import TaskTokens
from stepfn.store import open_store
from stepfn.store.base import Store, StoreError
from stepfn.tasks.base import Registry
from stepfn.tasks.lambda_functions import split_functions
from stepfn.tasks.lambda_local import Handler
from stepfn.tasks.mock_adapter import MockTasks
from stepfn.tasks.mock_config import (
    MockConfig,
    MockConfigError,
    load_mock_config,
    mock_config_from_env,
)
from stepfn.tasks.nested import NestedExecutions
from stepfn.tasks.registry import RoutingConfig, default_registry
from stepfn.teststate.service import TestState
from stepfn.validation.requests import checking, default_validator

__all__ = [
    "Engine",
    "MockConfigError",
    "Operation",
    "StoreError",
    "load_mock_config",
    "log_group_name",
    "mock_config_from_env",
]


Operation = Callable[..., dict[str, Any]]


def _snake(operation: str) -> str:
    """An operation's name as boto3 names its method: ``StartExecution`` ->
    ``start_execution``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class Engine:
    """Step Functions, durable: state machines, executions, activities, timers."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        registry: Registry | None = None,
        functions: Mapping[str, Handler | FunctionCode] | None = None,
        ids: IdSource | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        background: bool | None = None,
        read_only: bool = False,
        mock_config: Any = None,
        status_events: Any = None,
        routing: RoutingConfig = None,
        leases: bool | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        clock = clock if clock is not None else Clock()
        self.ctx = ServiceContext(
            store, clock, ids if ids is not None else IdSource(), region=region, account=account
        )
        self.store = store
        self.clock = clock
        self.ids = self.ctx.ids
        self.region = region
        self.account = account
        self.read_only = read_only
        # Python callables run in this process; functions given by their code are
        # registered below, durably, beside those of the Lambda API.
        local, coded = split_functions(functions)
        inner = registry if registry is not None else default_registry(local, routing, clock=clock)
        # Lambda functions registered through the Lambda API (stored durably) run in warm
        # workers; in-process Python callables keep their names.
        self.functions = Functions(
            store,  # type: ignore[arg-type]
            clock,
            self.ctx.ids,
            function_code_dir(store),
            FunctionRuntime(region=region, account=account),
            region=region,
            account=account,
        )
        self.registry = Registry([FunctionsFirst(self.functions, inner, local)])
        try:
            for function_name, code in coded.items():
                self.functions.register_code(function_name, code)
        except ServiceError:
            self.functions.close()
            raise
        # Nested executions (states:startExecution*, aws-sdk:sfn:*) run on this engine.
        self.children = EngineChildren()
        self.registry.prepend(NestedExecutions(self.children))
        # Executions started on ``stateMachineArn#TestCase`` run that test case of the
        # Step Functions Local mock file (a path or a ``stepfn.testing.MockConfig``).
        self.mocks: Any = None
        if mock_config is not None:
            config = mock_config if isinstance(mock_config, MockConfig) else None
            self.mocks = MockTasks(config or load_mock_config(mock_config))
            self.registry = self.mocks.wrap(self.registry)
        # IAM: when a state machine's role exists here, its tasks may invoke only what the
        # role's policies allow (checked in front of every adapter, mocks included).
        self.iam = Iam(self.ctx)
        self.registry = IamEnforced(self.iam, self.registry)
        # ``stepfn.testing.StatusEvents``: EventBridge-shaped status-change events.
        self.status_events = status_events
        self._activity_signal = threading.Condition()
        # Executions' logging configurations deliver to log groups that ``logs`` serves.
        self.log_delivery = LogDelivery(store, clock)
        self.worker = Worker(
            store,
            clock,
            self.registry,
            self.ids,
            on_runnable=self.wake,
            models=self.ctx.models,
            logs=self.log_delivery,
        )
        self.worker.mocks = self.mocks
        self.worker.status_events = status_events
        # Leased work when several servers may share the store (durable/loop.py).
        self.loop = Loop(
            store,
            clock,
            self.worker,
            on_stepped=self._notify_pollers,
            leases=leases,
            lease_seconds=lease_seconds,
        )
        self.express = ExpressRunner(
            self.ctx.models, self.ids, clock, self.registry, self.log_delivery
        )

        # --- the services --------------------------------------------------------------------
        self.state_machines = StateMachines(self.ctx)
        self.activities = Activities(self.ctx, self.state_machines)
        self.tokens = TaskTokens(self.ctx, self.wake, self._activity_signal)
        self.map_runs = MapRuns(self.ctx)
        self.executions = Executions(
            self.ctx,
            self.state_machines,
            self.map_runs,
            self.worker,
            self.express,
            self.wake,
            mocks=self.mocks,
        )
        self.children.bind(self.executions, self.tokens)
        self.worker.on_end.append(self.children.ended)
        self.test_states = TestState(self.ctx, self.registry)
        self.logs = CloudWatchLogs(store, clock, region=region, account=account)

        # --- boto3-named operations, for Python callers ---------------------------------------
        machines, activities, executions = self.state_machines, self.activities, self.executions
        self.create_state_machine = machines.create_state_machine
        self.describe_state_machine = machines.describe_state_machine
        self.update_state_machine = machines.update_state_machine
        self.delete_state_machine = machines.delete_state_machine
        self.list_state_machines = machines.list_state_machines
        self.validate_state_machine_definition = machines.validate_state_machine_definition
        self.publish_state_machine_version = machines.publish_state_machine_version
        self.list_state_machine_versions = machines.list_state_machine_versions
        self.delete_state_machine_version = machines.delete_state_machine_version
        self.create_state_machine_alias = machines.create_state_machine_alias
        self.describe_state_machine_alias = machines.describe_state_machine_alias
        self.update_state_machine_alias = machines.update_state_machine_alias
        self.delete_state_machine_alias = machines.delete_state_machine_alias
        self.list_state_machine_aliases = machines.list_state_machine_aliases
        self.resolve_target = machines.resolve_target
        self.create_activity = activities.create_activity
        self.describe_activity = activities.describe_activity
        self.delete_activity = activities.delete_activity
        self.list_activities = activities.list_activities
        self.tag_resource = activities.tag_resource
        self.untag_resource = activities.untag_resource
        self.list_tags_for_resource = activities.list_tags_for_resource
        self.start_execution = self._running(executions.start_execution)
        self.start_sync_execution = self._running(executions.start_sync_execution)
        self.describe_execution = executions.describe_execution
        self.execution_description = executions.execution_description
        self.describe_state_machine_for_execution = executions.describe_state_machine_for_execution
        self.list_executions = executions.list_executions
        self.count_executions = executions.count_executions  # not AWS's: for the console
        self.get_execution_history = executions.get_execution_history
        self.stop_execution = self._running(executions.stop_execution)
        self.redrive_execution = self._running(executions.redrive_execution)
        self.send_task_success = self.tokens.send_task_success
        self.send_task_failure = self.tokens.send_task_failure
        self.send_task_heartbeat = self.tokens.send_task_heartbeat
        self.get_activity_task = self.tokens.get_activity_task
        self.stop_polling = self.tokens.stop_polling
        # For a server that long-polls asynchronously (api/asgi.py).
        self.claim_activity_task = self.tokens.claim_activity_task
        self.wait_activity_signal = self.tokens.wait_activity_signal
        self.list_map_runs = self.map_runs.list_map_runs
        self.describe_map_run = self.map_runs.describe_map_run
        self.update_map_run = self.map_runs.update_map_run
        self.test_state = self.test_states.test_state

        # The API's dispatch table: every Step Functions operation and what answers it
        # (given members the API has checked against the service model).
        self.operations: dict[str, Operation] = {
            "CreateStateMachine": self.create_state_machine,
            "DescribeStateMachine": self.describe_state_machine,
            "UpdateStateMachine": self.update_state_machine,
            "DeleteStateMachine": self.delete_state_machine,
            "ListStateMachines": self.list_state_machines,
            "ValidateStateMachineDefinition": self.validate_state_machine_definition,
            "PublishStateMachineVersion": self.publish_state_machine_version,
            "ListStateMachineVersions": self.list_state_machine_versions,
            "DeleteStateMachineVersion": self.delete_state_machine_version,
            "CreateStateMachineAlias": self.create_state_machine_alias,
            "DescribeStateMachineAlias": self.describe_state_machine_alias,
            "UpdateStateMachineAlias": self.update_state_machine_alias,
            "DeleteStateMachineAlias": self.delete_state_machine_alias,
            "ListStateMachineAliases": self.list_state_machine_aliases,
            "CreateActivity": self.create_activity,
            "DescribeActivity": self.describe_activity,
            "DeleteActivity": self.delete_activity,
            "ListActivities": self.list_activities,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
            "StartExecution": self.start_execution,
            "StartSyncExecution": self.start_sync_execution,
            "DescribeExecution": self.describe_execution,
            "DescribeStateMachineForExecution": self.describe_state_machine_for_execution,
            "ListExecutions": self.list_executions,
            "GetExecutionHistory": self.get_execution_history,
            "StopExecution": self.stop_execution,
            "RedriveExecution": self.redrive_execution,
            "SendTaskSuccess": self.send_task_success,
            "SendTaskFailure": self.send_task_failure,
            "SendTaskHeartbeat": self.send_task_heartbeat,
            "GetActivityTask": self.get_activity_task,
            "ListMapRuns": self.list_map_runs,
            "DescribeMapRun": self.describe_map_run,
            "UpdateMapRun": self.update_map_run,
            "TestState": self.test_state,
        }
        # Operations that may also be answered many calls at once (the members of each
        # call, checked as for ``operations``): concurrent StartExecution calls through
        # the server share one group commit and one trip to a thread (api/asgi.py).
        self.batched: dict[str, Callable[[Sequence[Mapping[str, Any]]], list[Any]]] = {}
        if not read_only:
            self.batched["StartExecution"] = executions.start_executions
        # The same methods for Python callers check their arguments against the service
        # model first, with the validator the API checks requests with (the table above
        # is what the API calls, its members already checked): the same answers either
        # way. What the model cannot say, the services check as named rules.
        self.validator = default_validator()
        for operation, method in self.operations.items():
            setattr(self, _snake(operation), checking(self.validator, operation, method))

        if read_only:
            return
        self.loop.recover()
        if background is None:
            background = not clock.virtual
        if background:
            self.loop.start()

    @classmethod
    def open(cls, url: str = "stepfn.db", **options: Any) -> Engine:
        """An engine on the store at ``url``: a SQLite file path, ``:memory:``, or
        ``memory://`` (see ``stepfn.store.open_store``). ``read_only=True`` starts no
        loop and recovers nothing (see the module's docstring)."""
        store = open_store(url)
        try:
            return cls(store, **options)
        except BaseException:
            store.close()
            raise

    def _running(self, operation: Operation) -> Operation:
        """``operation``, refused on a read-only engine: nothing would run it."""
        if not self.read_only:
            return operation

        def refuse(**_: Any) -> dict[str, Any]:
            raise ServiceError(
                "UnsupportedOperation",
                "This engine was opened read-only: it runs no executions. "
                "Use a running `stepfn server` for that.",
            )

        return refuse

    # --- the loop (durable/loop.py) -------------------------------------------------------

    def wake(self, execution_arn: str) -> None:
        """Mark an execution runnable (it has stimuli waiting)."""
        self.loop.wake(execution_arn)

    def health(self) -> str | None:
        """None while the engine can serve; else why not (its store found itself
        damaged), for ``/health``."""
        return self.store.health()

    def on_commit(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(execution_arn)`` after each committed step of an execution
        (from the committing thread: it must be quick). The console's change feed."""
        self.worker.on_commit.append(callback)

    def on_end(self, callback: Callable[[str, str], None]) -> None:
        """Call ``callback(execution_arn, status)`` after the committed step that ends an
        execution of this engine (from the committing thread: it must be quick). What
        waits for an execution's end is told once, not at each of its steps."""
        self.worker.on_end.append(callback)

    def wake_loop(self) -> None:
        """Let the loop look again at once (the clock moved: timers may be due)."""
        self.loop.wake_up()

    def _step_ready(self) -> int:
        return self.loop.step_ready()

    def _notify_pollers(self) -> None:
        # A step may have queued activity tasks: long polls look again.
        with self._activity_signal:
            self._activity_signal.notify_all()

    def run_until_idle(self, max_rounds: int = 1_000_000) -> None:
        """Drive the engine in this thread until nothing is left to do now, moving a
        virtual clock forward to each next timer. For tests and one-shot runs."""
        self.loop.run_until_idle(max_rounds)

    def close(self) -> None:
        """Stop the loop, let running tasks finish, and close the store."""
        self.loop.stop()
        self.express.close()
        self.worker.close()
        self.functions.close()
        if self.status_events is not None:
            self.status_events.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
