"""Lambda functions run in worker processes: the asynchronous task adapter.

The same two resource forms as ``lambda_local`` (a function ARN; ``lambda:invoke`` with
``FunctionName``, ``Payload`` and ``Qualifier``) and the same result and error shapes,
built by ``lambda_local``'s helpers, but the handler runs in a warm worker of a
``FunctionRuntime``: a hung or crashing handler costs its worker, never the caller, and no
thread waits on a call in flight.

A Task's ``TimeoutSeconds`` becomes the invocation's deadline: when it passes first the
worker is killed and the task fails with ``States.Timeout``, reported as lasting a hair
longer than the timeout, so that a driver's own timeout timer (due at the timeout) comes
first and records ``TaskTimedOut`` as AWS does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from stepfn.clock import Clock
from stepfn.functions.model import FunctionConfig
from stepfn.functions.pool import DEADLINE_EXCEEDED, FunctionRuntime
from stepfn.functions.results import InvocationResult
from stepfn.tasks.base import NOT_CANCELLABLE, Cancel, Completion, TaskOutcome, TaskRequest
from stepfn.tasks.lambda_local import INVOKE, function_name, not_found, success, task_target

_AFTER_TIMEOUT = 0.001  # seconds past a Task's timeout that a deadline outcome claims

# (function name, qualifier or None) -> the configuration to run, or None if there is none.
Lookup = Callable[[str, str | None], FunctionConfig | None]


class LambdaFunctions:
    """A task adapter that invokes registered functions in worker processes.

    Args:
        lookup: finds a function's configuration by name and qualifier (a
            ``FunctionRegistry`` is one).
        runtime: the ``FunctionRuntime`` to run them on; one is made (and closed by
            ``close``) when omitted.
        clock: dates the Invoke response's headers.
        enforce_task_timeout: end an invocation at its Task's ``TimeoutSeconds``.
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
    ) -> None:
        self.lookup = lookup
        self._owns_runtime = runtime is None
        self.runtime = runtime or FunctionRuntime(region=region, account=account)
        self.clock = clock or Clock()
        self.region = region
        self.account = account
        self.enforce_task_timeout = enforce_task_timeout

    def handles(self, resource: str) -> bool:
        """Lambda function ARNs and the ``lambda:invoke`` integration."""
        if resource == INVOKE or resource.startswith(INVOKE + "."):
            return True
        return resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Start the invocation; ``done`` gets the task's outcome from a worker's thread."""
        resolved = task_target(request)
        if isinstance(resolved, TaskOutcome):
            done(resolved)
            return NOT_CANCELLABLE
        integration, reference, event = resolved
        name, qualifier = function_name(reference)
        if integration and isinstance(request.payload, dict):
            explicit = request.payload.get("Qualifier")
            if isinstance(explicit, str) and explicit:
                qualifier = explicit
        request_id = request.token
        config = self.lookup(name, qualifier)
        if config is None:
            done(not_found(name, self.region, self.account, request_id))
            return NOT_CANCELLABLE
        try:
            payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            done(TaskOutcome.failure("States.Runtime", f"The Payload is not JSON: {exc}"))
            return NOT_CANCELLABLE
        timeout = request.timeout_seconds if self.enforce_task_timeout else None
        deadline = time.monotonic() + timeout if timeout else None
        arn = config.arn(self.region, self.account)

        def finished(result: InvocationResult) -> None:
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
            return TaskOutcome.failure(
                f"Lambda.{result.service_error}",
                f"{result.service_message} (Service: AWSLambda; Status Code: "
                f"{result.status_code}; Error Code: {result.service_error}; Request ID: "
                f"{rid}; Proxy: null)",
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
