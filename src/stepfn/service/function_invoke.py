"""Running a registered function: Lambda's Invoke, and the Task adapter of the Engine.

``start_invoke`` is Invoke without a waiting thread (``Functions.invoke`` waits on it; the
HTTP server's event loop awaits it); ``FunctionsFirst`` runs a Task's function when the
store has it, logging each invocation as an Invoke's.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from stepfn.errors import ServiceError
from stepfn.functions.results import InvocationResult
from stepfn.service.function_errors import invalid, lambda_error
from stepfn.tasks.base import Registry
from stepfn.tasks.lambda_functions import LambdaFirst, LambdaFunctions

if TYPE_CHECKING:
    from stepfn.service.functions import Functions


def start_invoke(
    functions: Functions,
    done: Callable[[dict[str, Any] | ServiceError], None],
    FunctionName: str,
    Payload: bytes | str = b"",
    InvocationType: str = "RequestResponse",
    LogType: str = "None",
    Qualifier: str | None = None,
    **_: Any,
) -> None:
    """Invoke without waiting: ``done`` gets Invoke's answer, or the ServiceError
    it fails with, once (from a worker's thread, or before this returns when the
    call is refused or needs no worker). The HTTP server's event loop waits on it
    without holding a thread.

    Raises:
        ServiceError: what is refused before the call starts (no such function, a
            Payload that is not JSON, an unknown InvocationType).
    """
    name, qualifier = functions._split(FunctionName, Qualifier)
    config = functions._require(name, qualifier)
    if InvocationType not in ("RequestResponse", "Event", "DryRun"):
        raise invalid(f"InvocationType {InvocationType!r} is not valid")
    if InvocationType == "DryRun":
        done({"StatusCode": 204, "Payload": b""})
        return
    data = Payload.encode() if isinstance(Payload, str) else bytes(Payload or b"")
    if data.strip():
        try:
            json.loads(data)
        except ValueError as exc:
            raise lambda_error(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
                400,
            ) from exc
    request_id = functions.ids.uuid()
    invoked = functions._arn(name, qualifier)
    if InvocationType == "Event":
        functions.runtime.invoke(
            config,
            data,
            lambda result: functions._record(result, config),
            request_id=request_id,
            invoked_arn=invoked,
        )
        done({"StatusCode": 202, "Payload": b""})
        return

    def finished(result: InvocationResult) -> None:
        functions._record(result, config)
        if result.service_error is not None and result.function_error is None:
            done(lambda_error(result.service_error, result.service_message, result.status_code))
            return
        answer: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": result.payload,
            "ExecutedVersion": result.executed_version,
        }
        if result.function_error is not None:
            answer["FunctionError"] = result.function_error
        if LogType == "Tail":
            answer["LogResult"] = base64.b64encode(result.log_tail.encode()).decode()
        done(answer)

    functions.runtime.invoke(
        config,
        data,
        finished,
        request_id=request_id,
        deadline=time.monotonic() + config.timeout + 5,
        invoked_arn=invoked,
    )


class FunctionsFirst(LambdaFirst):
    """The task adapter for Lambda resources: registered functions, else the rest.

    A Task naming a function registered in the store (and not one of the in-process
    Python callables, which take precedence for their names) runs it in a warm worker,
    its log written as a direct Invoke's is; every other task goes to ``inner``, the
    registry of the other adapters.
    """

    def __init__(
        self, functions: Functions, inner: Registry, local_names: Iterable[str] = ()
    ) -> None:
        self.functions = functions
        adapter = LambdaFunctions(
            functions.lookup,
            functions.runtime,
            clock=functions.clock,
            region=functions.region,
            account=functions.account,
            on_result=functions.logs.record,
        )
        super().__init__(adapter, inner, local_names)
