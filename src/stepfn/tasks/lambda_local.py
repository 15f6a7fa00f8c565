"""Lambda functions run in-process: Python callables invoked as AWS Lambda invokes them.

Two resource forms reach a function:

* the function's ARN (``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``): the
  payload is the event and the task's result is what the handler returned;
* the service integration ``arn:aws:states:::lambda:invoke``: ``FunctionName`` names the
  function, ``Payload`` is the event, and the result is Lambda's Invoke response
  (``ExecutedVersion``, ``Payload``, ``StatusCode``, SDK metadata).

A handler's exception becomes the error named after its class, with Lambda's error
document as the cause: ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stepfn.arns import ArnBuilder
from stepfn.clock import Clock
from stepfn.tasks.base import TaskOutcome, TaskRequest

Handler = Callable[[Any, Any], Any]

INVOKE = "arn:aws:states:::lambda:invoke"
MAX_PAYLOAD_BYTES = 256 * 1024
DEFAULT_TIMEOUT_SECONDS = 3


@dataclass
class LambdaContext:
    """The ``context`` argument a Python Lambda handler receives."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float = 0.0
    clock: Clock = field(default_factory=Clock, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function would time out."""
        return max(0, int((self.deadline - self.clock.now()) * 1000))


def is_lambda_resource(resource: str) -> bool:
    """A Lambda function ARN or the ``lambda:invoke`` integration (with a ``.waitFor...``)."""
    if resource == INVOKE or resource.startswith(INVOKE + "."):
        return True
    return resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource


def function_name(reference: str) -> tuple[str, str | None]:
    """The function name and qualifier in a name, partial ARN or full ARN."""
    parts = reference.split(":")
    if reference.startswith("arn:"):
        # arn:aws:lambda:region:account:function:name[:qualifier]
        name = parts[6] if len(parts) > 6 else ""
        qualifier = parts[7] if len(parts) > 7 else None
        return name, qualifier
    if len(parts) >= 3 and parts[1] == "function":
        # account:function:name[:qualifier]
        return parts[2], parts[3] if len(parts) > 3 else None
    if len(parts) == 2:
        return parts[0], parts[1]
    return reference, None


class LocalLambda:
    """A task adapter that runs Lambda functions from a mapping of name -> handler."""

    def __init__(
        self,
        functions: Mapping[str, Handler],
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.functions = dict(functions)
        self.clock = clock or Clock()
        self.region = region
        self.account = account

    def handles(self, resource: str) -> bool:
        """Lambda function ARNs and the ``lambda:invoke`` integration."""
        return is_lambda_resource(resource)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Call the handler and shape its result or error as AWS does."""
        resolved = task_target(request)
        if isinstance(resolved, TaskOutcome):
            return resolved
        integration, reference, event = resolved
        name, _qualifier = function_name(reference)
        handler = self.functions.get(name)
        request_id = _request_id(request)
        if handler is None:
            return not_found(name, self.region, self.account, request_id)
        arn = ArnBuilder(self.region, self.account).lambda_function(name)
        timeout = request.timeout_seconds or DEFAULT_TIMEOUT_SECONDS
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=arn,
            aws_request_id=request_id,
            deadline=self.clock.now() + timeout,
            clock=self.clock,
            log_group_name=f"/aws/lambda/{name}",
        )
        try:
            raw = handler(_roundtrip(event), context)
        except Exception as exc:  # a handler's error is the task's error, as in AWS
            return TaskOutcome.failure(
                type(exc).__name__, error_document(exc, request_id, compact=integration)
            )
        try:
            result, size = _result_value(raw)
        except ValueError as exc:
            return TaskOutcome.failure("Lambda.Unknown", str(exc))
        return success(result, size, request_id, integration, arn, self.clock)


def task_target(request: TaskRequest) -> tuple[bool, str, Any] | TaskOutcome:
    """What a Lambda task calls: (is the ``lambda:invoke`` integration, the function
    reference, the event), or the failure of a ``lambda:invoke`` with no FunctionName."""
    integration = not request.resource.startswith("arn:aws:lambda:") and (
        request.resource == INVOKE or request.resource.startswith(INVOKE + ".")
    )
    if not integration:
        return False, request.resource, request.payload
    params = request.payload if isinstance(request.payload, dict) else {}
    reference = params.get("FunctionName")
    if not isinstance(reference, str):
        return TaskOutcome.failure(
            "States.Runtime", "The lambda:invoke task needs a FunctionName parameter."
        )
    event = params.get("Payload")
    if isinstance(event, str):
        # Lambda receives a string Payload as the raw bytes of the request body.
        with contextlib.suppress(json.JSONDecodeError):
            event = json.loads(event)
    return True, reference, event


def not_found(name: str, region: str, account: str, request_id: str) -> TaskOutcome:
    """The failure of a task whose function does not exist, as Step Functions shows it."""
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}:$LATEST"
    return lambda_failure(
        "ResourceNotFoundException", f"Function not found: {arn}", 404, request_id
    )


def lambda_failure(
    code: str, message: str, status: int, request_id: str, error: str | None = None
) -> TaskOutcome:
    """A Lambda service error as a Lambda task's failure: ``Lambda.<error>`` (``error``
    defaults to the error ``code``), the message followed by the service's details."""
    return TaskOutcome.failure(
        f"Lambda.{error or code}",
        f"{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null)",
    )


def success(
    result: Any,
    size: int,
    request_id: str,
    integration: bool,
    arn: str,
    clock: Clock,
    version: str = "$LATEST",
) -> TaskOutcome:
    """A function's result as the task's output: the Invoke response for ``lambda:invoke``,
    the bare result for a function ARN; past 256 KiB, ``States.DataLimitExceeded``."""
    if size > MAX_PAYLOAD_BYTES:
        return TaskOutcome.failure(
            "States.DataLimitExceeded",
            f"The state/task '{'lambda' if integration else arn}' returned a "
            "result with a size exceeding the maximum number of bytes service limit.",
        )
    if integration:
        stamp = email.utils.formatdate(clock.now(), usegmt=True)
        return TaskOutcome.success(invoke_response(result, size, request_id, stamp, version))
    return TaskOutcome.success(result)


def _request_id(request: TaskRequest) -> str:
    # The task token is already a fresh id from the execution's IdSource: reuse it, so that
    # a replay sees the same request ids without drawing from the source out of order.
    return request.token


def _roundtrip(value: Any) -> Any:
    """The event as the handler would get it after JSON transport (fresh objects)."""
    return json.loads(json.dumps(value))


def _result_value(raw: Any) -> tuple[Any, int]:
    """A handler's return value as Lambda serialises it, and its size in bytes."""
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8")
        try:
            return json.loads(text), len(raw)
        except json.JSONDecodeError:
            return text, len(raw)
    try:
        text = json.dumps(raw, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Unable to marshal response: {exc}") from None
    return json.loads(text), len(text.encode("utf-8"))


def error_document(exc: BaseException, request_id: str, compact: bool = False) -> str:
    """Lambda's error document for an exception, as JSON text.

    The ``lambda:invoke`` integration passes Lambda's response body through (compact
    JSON); a Lambda function ARN resource shows it re-serialised with spaces.
    """
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop our own calling frame
    document = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }
    if compact:
        return json.dumps(document, separators=(",", ":"))
    return json.dumps(document)


def invoke_response(
    payload: Any, size: int, request_id: str, date: str, version: str = "$LATEST"
) -> dict[str, Any]:
    """The result of ``lambda:invoke``: Lambda's Invoke response as Step Functions shows it."""
    trace = request_id.replace("-", "")
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(size),
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": f"Root=1-{trace[:8]}-{trace[8:]}",
    }
    return {
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }
