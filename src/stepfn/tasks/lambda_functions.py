"""Lambda functions run in worker processes: the asynchronous task adapter.

The same two resource forms as ``lambda_local`` (a function ARN; ``lambda:invoke`` with
``FunctionName``, ``Payload`` and ``Qualifier``) and the same result and error shapes,
built by ``lambda_local``'s helpers, but the handler runs in a warm worker of a
``FunctionRuntime``: a hung or crashing handler costs its worker, never the caller, and no
thread waits on a call in flight.

A Task's ``TimeoutSeconds`` becomes the invocation's deadline: when it passes first the
worker is killed and the task fails with ``States.Timeout``, reported as lasting a hair
longer than the timeout, so that a driver's own timeout timer (due at the timeout) comes
first and records ``LambdaFunctionTimedOut`` as AWS does. ``HeartbeatSeconds`` counts the
same way: a Lambda function sends no heartbeats, so on AWS a Lambda Task with
``HeartbeatSeconds`` times out (``States.Timeout``, as AWS records a heartbeat timeout)
once that long has passed without its answer; the deadline is the earlier of the two.
The durable engine's own timers fire first and cancel the invocation (its worker is
killed); the deadline here, a little later, is for drivers that wait on the adapter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stepfn.clock import Clock
from stepfn.functions.local import FunctionCode, FunctionSpecError
from stepfn.functions.model import FunctionConfig
from stepfn.functions.pool import DEADLINE_EXCEEDED, FunctionRuntime
from stepfn.functions.registry import FunctionRegistry
from stepfn.functions.results import InvocationResult
from stepfn.jsontext import compact
from stepfn.tasks.base import (
    NOT_CANCELLABLE,
    Cancel,
    Completion,
    Registry,
    TaskOutcome,
    TaskRequest,
)
from stepfn.tasks.lambda_local import (
    Handler,
    function_name,
    is_lambda_resource,
    lambda_failure,
    not_found,
    success,
    task_target,
)

_AFTER_TIMEOUT = 0.001  # seconds past a Task's timeout that a deadline outcome claims
# Seconds the adapter's own deadline waits past the Task's: the durable engine's timer
# (due at the timeout) should be the one that ends the task, as its event shows.
_DEADLINE_GRACE = 0.25


def task_deadline(request: TaskRequest) -> float | None:
    """Seconds until a Lambda Task times out: the earlier of ``TimeoutSeconds`` and
    ``HeartbeatSeconds`` (a function sends no heartbeats), or None without either."""
    limits = [s for s in (request.timeout_seconds, request.heartbeat_seconds) if s]
    return min(limits) if limits else None


# (function name, qualifier or None) -> the configuration to run, or None if there is none.
Lookup = Callable[[str, str | None], FunctionConfig | None]
# Told each invocation's result with the configuration that ran (its log, say).
ResultSink = Callable[[InvocationResult, FunctionConfig], None]


class LambdaFunctions:
    """A task adapter that invokes registered functions in worker processes.

    Args:
        lookup: finds a function's configuration by name and qualifier (a
            ``FunctionRegistry`` is one).
        runtime: the ``FunctionRuntime`` to run them on; one is made (and closed by
            ``close``) when omitted.
        clock: dates the Invoke response's headers.
        enforce_task_timeout: end an invocation at its Task's ``TimeoutSeconds``.
        on_result: told every invocation's result and the configuration that ran (the
            Functions service writes its log to CloudWatch Logs).
    """

    def __init__(
        self,
        lookup: Lookup,
        runtime: FunctionRuntime | None = None,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        enforce_task_timeout: bool = True,
        on_result: ResultSink | None = None,
    ) -> None:
        self.lookup = lookup
        self.on_result = on_result
        self._owns_runtime = runtime is None
        self.runtime = runtime or FunctionRuntime(region=region, account=account)
        self.clock = clock or Clock()
        self.region = region
        self.account = account
        self.enforce_task_timeout = enforce_task_timeout

    def handles(self, resource: str) -> bool:
        """Lambda function ARNs and the ``lambda:invoke`` integration."""
        return is_lambda_resource(resource)

    def target(self, request: TaskRequest) -> tuple[bool, str, str | None, Any] | TaskOutcome:
        """(integration, function name, qualifier, event) of a Lambda Task, or the
        outcome of a Task that names no function it can run."""
        resolved = task_target(request)
        if isinstance(resolved, TaskOutcome):
            return resolved
        integration, reference, event = resolved
        name, qualifier = function_name(reference)
        if integration and isinstance(request.payload, dict):
            explicit = request.payload.get("Qualifier")
            if isinstance(explicit, str) and explicit:
                qualifier = explicit
        return integration, name, qualifier, event

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Start the invocation; ``done`` gets the task's outcome from a worker's thread."""
        target = self.target(request)
        if isinstance(target, TaskOutcome):
            done(target)
            return NOT_CANCELLABLE
        integration, name, qualifier, event = target
        config = self.lookup(name, qualifier)
        if config is None:
            done(not_found(name, self.region, self.account, request.token))
            return NOT_CANCELLABLE
        return self.run(request, done, config, integration, qualifier, event)

    def run(
        self,
        request: TaskRequest,
        done: Completion,
        config: FunctionConfig,
        integration: bool,
        qualifier: str | None,
        event: Any,
    ) -> Cancel:
        """Invoke ``config`` with the Task's event (its target already resolved)."""
        request_id = request.token
        try:
            payload = compact(event).encode()
        except (TypeError, ValueError) as exc:
            done(TaskOutcome.failure("States.Runtime", f"The Payload is not JSON: {exc}"))
            return NOT_CANCELLABLE
        timeout = task_deadline(request) if self.enforce_task_timeout else None
        deadline = time.monotonic() + timeout + _DEADLINE_GRACE if timeout else None
        arn = config.arn(self.region, self.account)

        sink = self.on_result

        def finished(result: InvocationResult) -> None:
            if sink is not None:
                sink(result, config)
            done(self._outcome(result, integration, arn, timeout))

        return self.runtime.invoke(
            config,
            payload,
            finished,
            request_id=request_id,
            deadline=deadline,
            invoked_arn=config.arn(self.region, self.account, qualifier),
        )

    def close(self) -> None:
        """Stop the runtime's workers, if this adapter made the runtime."""
        if self._owns_runtime:
            self.runtime.close()

    def _outcome(
        self, result: InvocationResult, integration: bool, arn: str, timeout: float | None
    ) -> TaskOutcome:
        rid = result.request_id
        if result.service_error is not None:
            if result.service_error == DEADLINE_EXCEEDED:
                late = (timeout or 0.0) + _AFTER_TIMEOUT
                return TaskOutcome.failure("States.Timeout", "", duration=late)
            return lambda_failure(
                result.service_error, result.service_message, result.status_code, rid
            )
        body = result.payload
        if result.function_error is not None:
            document = result.error_document()
            if document is None:
                return TaskOutcome.failure("Lambda.Unknown", body.decode("utf-8", "replace"))
            separators = (",", ":") if integration else (", ", ": ")
            return TaskOutcome.failure(
                result.error_type or "Lambda.Unknown",
                json.dumps(document, separators=separators, ensure_ascii=False),
            )
        try:
            value = json.loads(body)
        except ValueError:
            value = body.decode("utf-8", "replace")
        return success(value, len(body), rid, integration, arn, self.clock, result.executed_version)


class LambdaFirst:
    """Lambda Tasks whose function ``adapter`` knows run in its workers; every other
    task goes to ``inner`` (the other adapters, in-process Python callables among them).

    Args:
        adapter: runs the functions its lookup finds.
        inner: the registry of every other adapter.
        local_names: names of in-process callables, which win over a function of the
            same name (``stepfn.run(functions=...)``'s fast path for unit tests).
        owns_adapter: ``close`` closes the adapter (and its runtime) too.
    """

    def __init__(
        self,
        adapter: LambdaFunctions,
        inner: Registry,
        local_names: Iterable[str] = (),
        *,
        owns_adapter: bool = False,
    ) -> None:
        self.adapter = adapter
        self.inner = inner
        self.local_names = frozenset(local_names)
        self.owns_adapter = owns_adapter

    def handles(self, resource: str) -> bool:
        """Every resource some adapter runs."""
        return self.adapter.handles(resource) or self.inner.find(resource) is not None

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Run a known function in a worker, or pass the task on."""
        if self.adapter.handles(request.resource):
            target = self.adapter.target(request)
            if not isinstance(target, TaskOutcome):
                integration, name, qualifier, event = target
                if name not in self.local_names:
                    config = self.adapter.lookup(name, qualifier)
                    if config is not None:
                        return self.adapter.run(
                            request, done, config, integration, qualifier, event
                        )
        return self.inner.start(request, done)

    def close(self) -> None:
        """Close the other adapters (and the workers, when this owns them)."""
        self.inner.close()
        if self.owns_adapter:
            self.adapter.close()


def split_functions(
    functions: Mapping[str, Handler | FunctionCode] | None,
) -> tuple[dict[str, Handler], dict[str, FunctionCode]]:
    """In-process callables apart from functions given by their code."""
    local: dict[str, Handler] = {}
    coded: dict[str, FunctionCode] = {}
    for name, value in (functions or {}).items():
        if isinstance(value, FunctionCode):
            coded[name] = value
        else:
            local[name] = value
    return local, coded


def with_coded_functions(
    coded: Mapping[str, FunctionCode],
    inner: Registry,
    local_names: Iterable[str] = (),
    *,
    clock: Clock | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> Registry:
    """``inner`` with the functions given by their code in front, run in warm workers of
    a runtime of their own (closed with the registry). Raises ``FunctionSpecError`` for
    code that cannot run (see ``FunctionCode.config``)."""
    registry = FunctionRegistry()
    for name, code in coded.items():
        registry.put(code.config(name))
    adapter = LambdaFunctions(registry.get, clock=clock, region=region, account=account)
    return Registry([LambdaFirst(adapter, inner, local_names, owns_adapter=True)])


__all__ = [
    "FunctionCode",
    "FunctionSpecError",
    "LambdaFirst",
    "LambdaFunctions",
    "split_functions",
    "with_coded_functions",
]
