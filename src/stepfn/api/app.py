"""The Step Functions API over HTTP: AWS JSON 1.0, as the SDKs speak it.

A request is ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Operation>`` and a JSON
body of the operation's members; the answer is the operation's output as JSON, or an
error ``{"__type": code, "message": text}`` (status 400 unless the service model says
otherwise). This module is the application; ``asgi.py`` and ``server.py`` are the HTTP
transport.

Every request goes the same way:

1. authentication, when the server was started with ``--auth sigv4`` (``sigv4.py``);
2. the target names one of the service model's operations, else
   ``UnknownOperationException``;
3. the body must be a JSON object, else ``SerializationException``;
4. the members are checked against the model (``validate.py``): nothing reaches the
   Engine that AWS would refuse before acting, so bad input never half-writes anything;
5. the Engine's operation table (``engine.operations``) names the method, which is
   called with the members as keyword arguments: the Engine takes and returns boto3's
   shapes, so this layer only translates (timestamps go out as epoch seconds, as AWS sends them).

An operation the Engine does not have answers ``UnsupportedOperation`` (status 400, so
SDKs do not retry it), naming the missing feature; ``docs/api.md`` lists them.

Requests whose target starts ``Logs_20140328.`` are CloudWatch Logs operations: after
steps 1 and 3 they go to ``logs.py`` (AWS JSON 1.1), which reads the log groups that
executions' logging configurations write to.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stepfn.api.lambda_api import LambdaAnswer, LambdaApi, is_lambda_path
from stepfn.api.logs import CONTENT_TYPE as LOGS_CONTENT_TYPE
from stepfn.api.logs import TARGET_PREFIX as LOGS_TARGET_PREFIX
from stepfn.api.logs import LogsApi
from stepfn.api.query import XML_CONTENT_TYPE, QueryApi, is_query_request
from stepfn.errors import ServiceError
from stepfn.jsontext import kept_encoder
from stepfn.lang.nesting import depth_problem, text_too_deep
from stepfn.service.engine import StoreError
from stepfn.validation.model import ServiceModel, load
from stepfn.validation.requests import Validator

log = logging.getLogger("stepfn.api")

TARGET_PREFIX = "AWSStepFunctions."
CONTENT_TYPE = "application/x-amz-json-1.0"

# What an operation the Engine lacks answers, by operation; the default names the
# operation. Kept beside the dispatch so docs/api.md and the tests can list them.
UNSUPPORTED_CODE = "UnsupportedOperation"
MISSING_FEATURES = {
    "TestState": (
        "TestState is not supported by this stepfn server yet: its engine has no "
        "TestState support (test_state)"
    ),
}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def method_name(operation: str) -> str:
    """``StartExecution`` -> ``start_execution``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _json_default(value: Any) -> Any:
    # Only the types json cannot write come here: datetimes go out as AWS's epoch seconds.
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Every JSON answer is encoded here: one encoder, built once (see stepfn.jsontext).
_encode_body = kept_encoder(_json_default, ensure_ascii=True)


def _parameters(method: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword arguments a method takes; None when it takes any (``**kwargs``)."""
    parameters = inspect.signature(method).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def error_document(code: str, message: str, **fields: Any) -> dict[str, Any]:
    """An AWS JSON 1.0 error document."""
    return {"__type": code, "message": message, **fields}


CLOCK_PATH = "/_stepfn/clock"  # the admin call of stepfn.api.admin


@dataclass
class Request:
    """One HTTP request as the application sees it."""

    method: str
    target: str  # the request target: path and query
    headers: Mapping[str, str]  # names in lower case; repeated headers joined with ","
    body: bytes = b""


@dataclass
class Response:
    """One HTTP response: a status, extra headers and a JSON body (or, for the Query
    protocol's XML, ``raw`` bytes of ``content_type``)."""

    status: int
    document: dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = CONTENT_TYPE
    raw: bytes | None = None

    def body(self) -> bytes:
        """The body: ``raw`` when set, else the JSON document (ASCII-escaped, so any
        string the Engine returns can be sent)."""
        if self.raw is not None:
            return self.raw
        return _encode_body(self.document).encode()


@dataclass
class Call:
    """A request that passed authentication and validation: what is left to run.

    ``run`` blocks on the Engine; a transport runs it where blocking is allowed (a thread
    pool). ``params`` are the validated members, for a transport that runs the operation
    its own way (an asynchronous long poll of GetActivityTask).
    """

    operation: str
    run: Callable[[], tuple[int, dict[str, Any]]]
    params: dict[str, Any]
    content_type: str = CONTENT_TYPE
    # Answers many calls of this operation at once, each given its ``params``: (status,
    # document) of each, as ``run`` gives one. The same object for every call it can
    # take together, so a transport may gather concurrent calls (asgi.py); None when
    # the operation is answered one call at a time.
    batch: Batch | None = None


Batch = Callable[[Sequence[dict[str, Any]]], list[tuple[int, dict[str, Any]]]]


class Authenticator(Protocol):
    """Checks a request's credentials; raises ``ServiceError`` to refuse it."""

    def check(self, request: Request) -> None:
        """Accept the request, or raise."""


class Api:
    """Dispatches AWS JSON 1.0 requests to an Engine.

    Args:
        engine: the Engine (any object with an ``operations`` table: operation name ->
            method, and ``ids`` and ``logs``).
        model: the service model; botocore's or the bundled one by default.
        auth: checks each request's credentials; None accepts any.
        request_id: makes the ``x-amzn-RequestId`` of each answer.
    """

    def __init__(
        self,
        engine: Any,
        model: ServiceModel | None = None,
        auth: Authenticator | None = None,
        request_id: Callable[[], str] | None = None,
    ) -> None:
        self.engine = engine
        self.model = model if model is not None else load()
        self.validator = Validator(self.model)
        self.auth = auth
        self.request_id = request_id if request_id is not None else engine.ids.uuid
        self.draining = False
        self.in_progress = 0  # POST requests being answered (shown by /health)
        self._count_lock = threading.Lock()
        self._methods: dict[str, Callable[..., Any] | None] = {}
        self._accepted: dict[str, frozenset[str] | None] = {}  # None: takes any member
        self._batches: dict[str, Batch] = {}
        # CloudWatch Logs, on the same endpoint, when the engine keeps logs.
        logs = getattr(engine, "logs", None)
        self.logs = LogsApi(logs) if logs is not None else None
        # Lambda (REST-JSON, routed by path), when the engine has functions.
        functions = getattr(engine, "functions", None)
        self.lambda_api = LambdaApi(functions, self.request_id) if functions is not None else None
        # IAM and STS (the Query protocol), on the same endpoint, when the engine has them.
        iam = getattr(engine, "iam", None)
        self.query = QueryApi(iam) if iam is not None else None
        # The Engine's explicit operation table: operation name -> the method answering it.
        table: Mapping[str, Callable[..., Any]] = engine.operations
        for operation in self.model.operations:
            method = table.get(operation)
            self._methods[operation] = method
            if method is not None:
                self._accepted[operation] = _parameters(method)
        # Operations the Engine also answers many calls at once (engine.batched).
        for operation, many in getattr(engine, "batched", {}).items():
            if self._methods.get(operation) is not None:
                self._batches[operation] = self._batch(operation, many)

    def supported(self) -> list[str]:
        """The operations this server answers with the Engine."""
        return [op for op, method in self._methods.items() if method is not None]

    def unsupported(self) -> list[str]:
        """The operations that answer ``UnsupportedOperation``."""
        return [op for op, method in self._methods.items() if method is None]

    # --- HTTP -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request (blocking: a long poll waits here)."""
        if request.target.split("?", 1)[0].rstrip("/") == CLOCK_PATH:
            from stepfn.api.admin import clock_call

            status, document = clock_call(self.engine, request.method, request.body)
            return Response(status, document)
        if self.lambda_api is not None and is_lambda_path(request.target):
            return self.answer_lambda(request)
        if request.method != "POST":
            return self.answer_other(request)
        request_id = self.request_id()
        if self.query is not None and is_query_request(
            request.headers.get("content-type"), request.headers.get("x-amz-target")
        ):
            # IAM and STS (the Query protocol): form-encoded, answered in XML.
            with self.tracking():
                try:
                    if self.auth is not None:
                        self.auth.check(request)
                    status, text = self.query.call(request.body, request_id)
                except ServiceError as exc:
                    return Response(exc.status, self._error(exc))
            return Response(
                status,
                {},
                [("x-amzn-RequestId", request_id)],
                XML_CONTENT_TYPE,
                raw=text.encode("utf-8"),
            )
        with self.tracking():
            prepared = self.prepare(request)
            if isinstance(prepared, Call):
                status, document = self.run(prepared)
                content_type = prepared.content_type
            else:
                (status, document), content_type = prepared, CONTENT_TYPE
        return Response(status, document, [("x-amzn-RequestId", request_id)], content_type)

    def answer_lambda(self, request: Request) -> Response:
        """A Lambda REST-JSON request (``api/lambda_api.py``), authenticated as the rest."""
        assert self.lambda_api is not None
        with self.tracking():
            if self.auth is not None:
                try:
                    self.auth.check(request)
                except ServiceError as exc:
                    document = {"Type": "User", "message": exc.message}
                    headers = [("x-amzn-ErrorType", exc.code)]
                    return Response(exc.status, document, headers, "application/json")
            answer = self.lambda_api.handle(
                request.method, request.target, dict(request.headers), request.body
            )
        return Response(answer.status, {}, answer.headers, answer.content_type, answer.body)

    def start_lambda(self, request: Request, done: Callable[[Response], None]) -> bool:
        """Answer a Lambda Invoke without a thread waiting on the function: ``done`` gets
        the response (from a worker's thread, or at once). False for every other request,
        which ``handle`` answers (in the server's pool)."""
        if (
            self.lambda_api is None
            or request.method != "POST"
            or not request.target.split("?", 1)[0].rstrip("/").endswith("/invocations")
            or not is_lambda_path(request.target)
        ):
            return False
        if self.auth is not None:
            try:
                self.auth.check(request)
            except ServiceError:
                return False  # ``handle`` gives the refusal, as for any request
        with self._count_lock:
            self.in_progress += 1

        def answered(answer: LambdaAnswer) -> None:
            with self._count_lock:
                self.in_progress -= 1
            done(Response(answer.status, {}, answer.headers, answer.content_type, answer.body))

        started = self.lambda_api.start(
            request.method, request.target, dict(request.headers), request.body, answered
        )
        if not started:
            with self._count_lock:
                self.in_progress -= 1
        return started

    def answer_other(self, request: Request) -> Response:
        """A request that is not a POST: ``GET /health``, else 404 or 405."""
        if request.method == "GET":
            return self._get(request)
        return Response(
            405,
            error_document(
                "MethodNotAllowed", f"The API takes POST requests, not {request.method}"
            ),
            [("Allow", "GET, POST")],
        )

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Count a POST request as in progress (``/health`` shows the count)."""
        with self._count_lock:
            self.in_progress += 1
        try:
            yield
        finally:
            with self._count_lock:
                self.in_progress -= 1

    def prepare(self, request: Request) -> Call | tuple[int, dict[str, Any]]:
        """Steps 1-4 of a POST (no Engine call, no I/O): the ``Call`` to run, or the
        (status, document) refusing the request."""
        target = request.headers.get("x-amz-target")
        try:
            if self.auth is not None:
                self.auth.check(request)
            if self.logs is not None and target and target.startswith(LOGS_TARGET_PREFIX):
                logs, operation = self.logs, target[len(LOGS_TARGET_PREFIX) :]
                params = self._parse(request.body)
                return Call(
                    operation, lambda: logs.call(operation, params), params, LOGS_CONTENT_TYPE
                )
            return self._prepare(target, request.body)
        except ServiceError as exc:
            return exc.status, self._error(exc)

    @staticmethod
    def run(call: Call) -> tuple[int, dict[str, Any]]:
        """Step 5: run a prepared call (it blocks on the Engine): (status, document)."""
        return call.run()

    def _get(self, request: Request) -> Response:
        path = request.target.split("?", 1)[0].rstrip("/")
        if path in ("/health", "/ping"):
            busy = {"requestsInProgress": self.in_progress}
            if self.draining:
                return Response(503, {"status": "draining", **busy})
            health = getattr(self.engine, "health", None)
            problem = health() if callable(health) else None
            if problem:
                return Response(503, {"status": "unhealthy", "reason": problem, **busy})
            return Response(200, {"status": "ok", **busy})
        return Response(
            404,
            error_document(
                "NotFound", "No such resource: the API takes POST requests; GET /health"
            ),
        )

    @staticmethod
    def _error(exc: ServiceError) -> dict[str, Any]:
        extra = getattr(exc, "fields", None) or {}
        return error_document(exc.code, exc.message, **extra)

    # --- AWS JSON 1.0 ---------------------------------------------------------------------

    def call(self, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Run one operation: (HTTP status, JSON document), errors included."""
        try:
            prepared = self._prepare(target, body)
        except ServiceError as exc:
            return exc.status, self._error(exc)
        return prepared.run() if isinstance(prepared, Call) else prepared

    def call_logs(self, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Run one CloudWatch Logs operation (``api/logs.py``): (status, document)."""
        assert self.logs is not None
        try:
            params = self._parse(body)
        except ServiceError as exc:
            return exc.status, self._error(exc)
        return self.logs.call(target[len(LOGS_TARGET_PREFIX) :], params)

    def _prepare(self, target: str | None, body: bytes) -> Call | tuple[int, dict[str, Any]]:
        if not target or not target.startswith(TARGET_PREFIX):
            return 400, error_document(
                "UnknownOperationException",
                "Missing or invalid X-Amz-Target header: expected AWSStepFunctions.<Operation>",
            )
        operation = target[len(TARGET_PREFIX) :]
        if operation not in self._methods:
            return 400, error_document(
                "UnknownOperationException", f"Unknown operation: {operation}"
            )
        params = self._parse(body)
        cleaned = self.validator.request(operation, params)
        method = self._methods[operation]
        if method is None:
            message = MISSING_FEATURES.get(
                operation, f"{operation} is not supported by this stepfn server yet"
            )
            return 400, error_document(UNSUPPORTED_CODE, message)
        accepted = self._accepted[operation]
        unknown = cleaned.keys() - accepted if accepted is not None else ()
        if unknown:
            member = sorted(unknown)[0]
            return 400, error_document(
                "ValidationException",
                f"stepfn does not support the member '{member}' of {operation} yet",
            )
        return Call(
            operation,
            lambda: self.invoke(operation, method, cleaned),
            cleaned,
            batch=self._batches.get(operation),
        )

    def invoke(
        self, operation: str, method: Callable[..., Any], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Call an Engine method with validated members: (status, document)."""
        try:
            result = method(**params)
        except Exception as exc:
            return self._failure(operation, exc)
        return 200, result if isinstance(result, dict) else {}

    def _batch(self, operation: str, many: Callable[..., list[Any]]) -> Batch:
        """The ``Call.batch`` of an operation (``invoke_batch``, looked up when called)."""

        def batch(calls: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
            return self.invoke_batch(operation, many, calls)

        return batch

    def invoke_batch(
        self,
        operation: str,
        many: Callable[[Sequence[dict[str, Any]]], list[Any]],
        calls: Sequence[dict[str, Any]],
    ) -> list[tuple[int, dict[str, Any]]]:
        """Answer many calls of one operation with the Engine's method that takes them
        together (``engine.batched``; it gives each call's result or error): (status,
        document) of each, as ``invoke`` answers one."""
        try:
            results = many(calls)
        except Exception as exc:
            failed = self._failure(operation, exc)
            return [failed for _ in calls]
        answers: list[tuple[int, dict[str, Any]]] = []
        for result in results:
            if isinstance(result, Exception):
                answers.append(self._failure(operation, result))
            elif isinstance(result, BaseException):
                raise result
            else:
                answers.append((200, result if isinstance(result, dict) else {}))
        return answers

    def _failure(self, operation: str, exc: Exception) -> tuple[int, dict[str, Any]]:
        """The (status, document) of an Engine method's error."""
        if isinstance(exc, ServiceError):
            return exc.status, self._error(exc)
        if isinstance(exc, StoreError):
            # The store refused (it found itself damaged, say): the server is unwell, and
            # says so here and on /health, rather than a 500 that SDKs retry blindly.
            log.error("store error in %s: %s", operation, exc)
            return 503, error_document("ServiceUnavailable", f"The store is unavailable: {exc}")
        # A bug of ours, never the caller's input: logged with its traceback here,
        # answered without one.
        log.error("internal error in %s", operation, exc_info=exc)
        return 500, error_document(
            "InternalFailure", "The request processing has failed because of an unknown error"
        )

    @staticmethod
    def _parse(body: bytes) -> dict[str, Any]:
        """The request body as a JSON object (an empty body is ``{}``, as AWS takes it)."""
        if not body.strip():
            return {}
        try:
            text = body.decode("utf-8")
            if text_too_deep(text):
                raise ServiceError(
                    "SerializationException", f"The request body is not JSON: {depth_problem()}"
                )
            params = _DECODER.decode(text)
        except UnicodeDecodeError:
            raise ServiceError(
                "SerializationException", "The request body is not UTF-8 text"
            ) from None
        except json.JSONDecodeError as exc:
            raise ServiceError(
                "SerializationException",
                f"The request body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            ) from None
        except (ValueError, RecursionError) as exc:
            raise ServiceError(
                "SerializationException", f"The request body is not JSON: {exc}"
            ) from None
        if not isinstance(params, dict):
            raise ServiceError("SerializationException", "The request body must be a JSON object")
        return params
