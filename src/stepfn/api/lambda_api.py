"""The Lambda API over HTTP: REST-JSON, routed by method and path, on the same endpoint.

Routes are read from botocore's ``lambda`` service model rather than written by hand:
each operation's method and request URI (``/2015-03-31/functions/{FunctionName}/...``),
and where each input member travels (the URI, the query string, a header or the JSON
body; Invoke's ``Payload`` is the raw body). The operation runs on the Engine's
``functions`` service, by its boto3 method name, with the members as keyword arguments;
output members go back where the model puts them (the status code, headers such as
``X-Amz-Function-Error``, the raw body of Invoke's ``Payload``, else JSON).

Errors are Lambda's: the status of the error, an ``x-amzn-ErrorType`` header and a body
``{"Type": "User", "message": ...}``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from stepfn.errors import ServiceError

log = logging.getLogger("stepfn.api.lambda")

JSON = "application/json"
_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/")


def is_lambda_path(target: str) -> bool:
    """Whether a request target is one of Lambda's REST paths."""
    return _PATH.match(target) is not None


def method_name(operation: str) -> str:
    """``GetFunctionConfiguration`` -> ``get_function_configuration``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


@dataclass
class Route:
    """One operation: how its requests look."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    uri_members: dict[str, str]  # URI label -> member
    query_members: dict[str, tuple[str, str]]  # query name -> (member, shape type)
    header_members: dict[str, tuple[str, str]]  # lower-case header -> (member, shape type)
    payload: str | None  # a member that is the whole body (a blob), if any
    body_members: dict[str, str]  # JSON name -> member
    status: int
    output: dict[str, Any]  # the output shape
    shapes: dict[str, Any]


def _pattern(path: str) -> tuple[str, dict[str, str]]:
    """A request URI's regular expression, and its groups' labels (``{Name}``, ``{Name+}``)."""
    labels: dict[str, str] = {}
    pieces: list[str] = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            group = f"g{len(labels)}"
            labels[group] = name.rstrip("+")
            pieces.append(f"(?P<{group}>.+)" if name.endswith("+") else f"(?P<{group}>[^/]+)")
        else:
            pieces.append(re.escape(piece))
    return "".join(pieces), labels


def load_routes() -> list[Route]:
    """Every Lambda operation's route, from botocore's service model."""
    from botocore.loaders import Loader

    model = Loader().load_service_model("lambda", "service-2")
    shapes = model["shapes"]
    routes: list[Route] = []
    for name, op in model["operations"].items():
        uri = op["http"]["requestUri"]
        regex, labels = _pattern(uri.partition("?")[0])
        uri_members: dict[str, str] = {}
        query: dict[str, tuple[str, str]] = {}
        headers: dict[str, tuple[str, str]] = {}
        body: dict[str, str] = {}
        payload = None
        shape = shapes[op["input"]["shape"]] if "input" in op else {"members": {}}
        for member, spec in shape.get("members", {}).items():
            where = spec.get("location")
            wire = spec.get("locationName", member)
            kind = shapes[spec["shape"]]["type"]
            if where == "uri":
                for group, labelled in labels.items():
                    if labelled == wire:
                        uri_members[group] = member
            elif where == "querystring":
                query[wire] = (member, kind)
            elif where == "header":
                headers[wire.lower()] = (member, kind)
            elif shape.get("payload") == member:
                payload = member
            else:
                body[wire] = member
        output = shapes[op["output"]["shape"]] if "output" in op else {"members": {}}
        routes.append(
            Route(
                name,
                op["http"]["method"],
                re.compile(f"^{regex}/?$"),
                uri_members,
                query,
                headers,
                payload,
                body,
                op["http"].get("responseCode", 200),
                output,
                shapes,
            )
        )
    # A fixed path before one with labels where both match (".../versions" vs a name).
    routes.sort(key=lambda r: r.pattern.pattern.count("(?P<"))
    return routes


def _scalar(value: str, kind: str) -> Any:
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError as exc:
            raise _invalid(f"'{value}' is not an integer") from exc
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "list":
        return [value]
    return value


def _invalid(message: str) -> ServiceError:
    error = ServiceError("InvalidParameterValueException", message, 400)
    error.fields = {"Type": "User"}  # type: ignore[attr-defined]
    return error


@dataclass
class LambdaAnswer:
    """What the transport sends back: status, headers, body and its type."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str = JSON


class LambdaApi:
    """Answers Lambda REST-JSON requests with a functions service.

    Args:
        functions: the Engine's ``functions`` (methods named as boto3's).
        request_id: makes each answer's ``x-amzn-RequestId``.
    """

    def __init__(self, functions: Any, request_id: Callable[[], str]) -> None:
        self.functions = functions
        self.request_id = request_id
        self.routes = load_routes()
        # (method, path) -> its route and labels: an Invoke loop asks for one path again
        # and again, and matching it costs a regular expression per operation.
        self._routes: dict[tuple[str, str], tuple[Route, dict[str, str]]] = {}

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> LambdaAnswer:
        """Answer one request."""
        rid = self.request_id()
        try:
            status, out_headers, data, content_type = self._handle(method, target, headers, body)
        except Exception as exc:
            return self._failed(rid, exc, method, target)
        return LambdaAnswer(status, [("x-amzn-RequestId", rid), *out_headers], data, content_type)

    def start(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        done: Callable[[LambdaAnswer], None],
    ) -> bool:
        """Answer an Invoke without holding a thread while the function runs: ``done``
        gets the answer (from a worker's thread, or at once). False, with ``done`` not
        called, for any other request: ``handle`` answers those."""
        rid = self.request_id()
        try:
            route, params = self._parse(method, target, headers, body)
            starter = getattr(self.functions, "start_invoke", None)
            if route.operation != "Invoke" or starter is None:
                return False

            def finished(answer: dict[str, Any] | ServiceError) -> None:
                if isinstance(answer, ServiceError):
                    done(self._failed(rid, answer, method, target))
                    return
                status, out_headers, data, content_type = self._output(route, answer)
                done(
                    LambdaAnswer(
                        status, [("x-amzn-RequestId", rid), *out_headers], data, content_type
                    )
                )

            try:
                starter(finished, **params)
            except TypeError as exc:
                raise _invalid(f"{route.operation}: {exc}") from exc
        except Exception as exc:
            done(self._failed(rid, exc, method, target))
        return True

    @staticmethod
    def _failed(rid: str, exc: Exception, method: str, target: str) -> LambdaAnswer:
        """The answer of a request that failed: Lambda's error shape, or a 500."""
        if isinstance(exc, ServiceError):
            document = {"Type": "User", "message": exc.message}
            document.update(getattr(exc, "fields", None) or {})
            return LambdaAnswer(
                exc.status,
                [("x-amzn-RequestId", rid), ("x-amzn-ErrorType", exc.code)],
                json.dumps(document).encode(),
            )
        log.error("internal error in the Lambda API: %s %s", method, target, exc_info=exc)
        document = {"Type": "Service", "message": "An internal error occurred"}
        return LambdaAnswer(
            500,
            [("x-amzn-RequestId", rid), ("x-amzn-ErrorType", "ServiceException")],
            json.dumps(document).encode(),
        )

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        cached = self._routes.get((method, path))
        if cached is not None:
            return cached
        allowed = False
        for route in self.routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if route.method != method:
                allowed = True
                continue
            found = route, {k: unquote(v) for k, v in match.groupdict().items()}
            if len(self._routes) >= 1024:
                self._routes.clear()
            self._routes[(method, path)] = found
            return found
        if allowed:
            raise ServiceError("MethodNotAllowed", f"{method} is not allowed on {path}", 405)
        raise ServiceError("UnknownOperationException", f"No Lambda operation at {path}", 404)

    def _parse(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[Route, dict[str, Any]]:
        """The route of a request and its members as keyword arguments."""
        parts = urlsplit(target)
        route, labels = self._route(method, parts.path)
        params: dict[str, Any] = {}
        for group, member in route.uri_members.items():
            params[member] = labels[group]
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in route.query_members:
                member, kind = route.query_members[key]
                if kind == "list" and member in params:
                    params[member].append(value)
                else:
                    params[member] = _scalar(value, kind)
        for header, (member, kind) in route.header_members.items():
            if header in headers:
                params[member] = _scalar(headers[header], kind)
        if route.payload is not None:
            params[route.payload] = body
        elif body.strip():
            try:
                document = json.loads(body)
            except ValueError as exc:
                raise ServiceError(
                    "SerializationException", f"The body is not JSON: {exc}", 400
                ) from exc
            if not isinstance(document, dict):
                raise ServiceError("SerializationException", "The body must be a JSON object", 400)
            for key, value in document.items():
                params[route.body_members.get(str(key), str(key))] = value
        return route, params

    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        route, params = self._parse(method, target, headers, body)
        operation = getattr(self.functions, method_name(route.operation), None)
        if operation is None:
            error = ServiceError(
                "UnsupportedOperation",
                f"{route.operation} is not supported by this stepfn server yet",
                400,
            )
            error.fields = {"Type": "User"}  # type: ignore[attr-defined]
            raise error
        try:
            result = operation(**params)
        except TypeError as exc:
            raise _invalid(f"{route.operation}: {exc}") from exc
        return self._output(route, result if isinstance(result, dict) else {})

    @staticmethod
    def _output(
        route: Route, result: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        status = route.status
        headers: list[tuple[str, str]] = []
        document: dict[str, Any] = {}
        raw: bytes | None = None
        members = route.output.get("members", {})
        payload = route.output.get("payload")
        for key, value in result.items():
            spec = members.get(key, {})
            where = spec.get("location")
            if where == "statusCode":
                status = int(value)
            elif where == "header":
                if value is not None:
                    headers.append((spec.get("locationName", key), str(value)))
            elif key == payload and isinstance(value, bytes | bytearray):
                raw = bytes(value)
            elif isinstance(value, bytes | bytearray):
                document[key] = base64.b64encode(value).decode()
            else:
                document[key] = value
        if raw is not None:
            return status, headers, raw, JSON
        if isinstance(payload, str) and payload in result:
            return status, headers, json.dumps(result[payload]).encode(), JSON
        return status, headers, json.dumps(document).encode(), JSON
