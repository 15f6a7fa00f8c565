"""HTTP Tasks (``arn:aws:states:::http:invoke``) and API Gateway calls
(``arn:aws:states:::apigateway:invoke``), sent with httpx without holding a thread.

An HTTP Task's parameters: ``ApiEndpoint`` (the URL), ``Method``, ``Headers``,
``QueryParameters``, ``RequestBody``, ``Transform`` (``RequestBodyEncoding`` ``NONE`` or
``URL_ENCODED``; ``RequestEncodingOptions.ArrayFormat`` ``INDICES`` (default), ``REPEAT``,
``COMMAS`` or ``BRACKETS``) and ``Authentication.ConnectionArn``, an EventBridge connection
looked up in the ``connections`` given (CreateConnection's shape: ``AuthorizationType``
``BASIC`` or ``API_KEY`` with ``AuthParameters``). The result is ``Headers`` (each a list
of values), ``ResponseBody`` (parsed when it is JSON), ``StatusCode`` and ``StatusText``;
a status of 400 or more fails the task with ``States.Http.StatusCode.NNN``, the cause
being that result as JSON; a refused connection or a timeout is ``States.Http.Socket``.

A route with an ``endpoint_url`` for the resource sends the request there instead of to
the URL's own host (path and query kept): a local server standing for a remote API.

``apigateway:invoke`` takes ``ApiEndpoint`` (the API's host), ``Stage``, ``Path``,
``Method``, ``Headers`` and ``QueryParameters`` (each value a list of strings) and
``RequestBody`` (sent as JSON); a route's ``endpoint_url`` stands for the API's host. A
status of 400 or more is ``ApiGateway.NNN`` with the response body as the cause.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import concurrent.futures
import json
import threading
import urllib.parse
from collections.abc import Coroutine, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from stepfn.tasks.base import Cancel, Completion, TaskOutcome, TaskRequest
from stepfn.tasks.routing import Routing

if TYPE_CHECKING:
    # httpx costs ~80 ms to import: loaded on the first HTTP Task, not by ``import stepfn``.
    import httpx

HTTP_INVOKE = "arn:aws:states:::http:invoke"
APIGATEWAY_INVOKE = "arn:aws:states:::apigateway:invoke"
TIMEOUT_SECONDS = 60.0  # AWS's limit on one HTTP Task's request
ARRAY_FORMATS = ("INDICES", "REPEAT", "COMMAS", "BRACKETS")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")


class BadParameters(ValueError):
    """Parameters a request cannot be made from."""


class _LoopThread:
    """One asyncio loop on a daemon thread, shared by every HTTP task of the process
    (a loop per run would be one more thread to stop for each ``stepfn.run``)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def submit(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="stepfn-http", daemon=True
                ).start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coro, loop)


_LOOP = _LoopThread()


class _Handle:
    def __init__(self, future: concurrent.futures.Future[None]) -> None:
        self._future = future

    def cancel(self) -> None:
        self._future.cancel()


class _HttpAdapter(abc.ABC):
    """What both HTTP adapters share: the loop, the client, the sending."""

    resource = ""

    def __init__(self, routing: Routing | None, timeout: float) -> None:
        self.routing = routing if routing is not None else Routing()
        self.timeout = timeout

    def handles(self, resource: str) -> bool:
        """Whether ``resource`` is this adapter's integration."""
        return resource == self.resource

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Send the request; ``done`` gets the outcome when the response is in."""
        return _Handle(_LOOP.submit(self._run(request, done)))

    async def _run(self, request: TaskRequest, done: Completion) -> None:
        import httpx

        try:
            built = self.build(request)
        except BadParameters as exc:
            done(TaskOutcome.failure("States.Runtime", str(exc)))
            return
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.send(built)
        except httpx.TimeoutException:
            done(self.socket_error(f"The request to {built.url} timed out"))
            return
        except httpx.TransportError as exc:
            done(self.socket_error(f"Unable to connect to {built.url}: {exc}"))
            return
        except Exception as exc:  # an outcome, whatever went wrong
            done(TaskOutcome.failure("States.TaskFailed", f"{type(exc).__name__}: {exc}"))
            return
        done(self.shape(request, response))

    def routed_base(self, request: TaskRequest) -> str | None:
        route = self.routing.route(request.resource)
        return route.endpoint_url if route is not None else None

    @abc.abstractmethod
    def build(self, request: TaskRequest) -> httpx.Request:
        """The HTTP request a Task's parameters make (each integration its own)."""

    @abc.abstractmethod
    def shape(self, request: TaskRequest, response: httpx.Response) -> TaskOutcome:
        """The Task's outcome from the HTTP response, in the integration's shape."""

    def socket_error(self, cause: str) -> TaskOutcome:
        return TaskOutcome.failure("States.Http.Socket", cause)


def response_document(response: httpx.Response) -> dict[str, Any]:
    """``Headers``, ``ResponseBody``, ``StatusCode`` and ``StatusText`` of a response."""
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        headers.setdefault(_original_case(response, name), []).append(value)
    return {
        "Headers": headers,
        "ResponseBody": _body(response),
        "StatusCode": response.status_code,
        "StatusText": response.reason_phrase or _reason(response.status_code),
    }


def _original_case(response: httpx.Response, name: str) -> str:
    for raw, _ in response.headers.raw:
        if raw.decode("latin-1").lower() == name.lower():
            return raw.decode("latin-1")
    return name


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _body(response: httpx.Response) -> Any:
    text = response.text
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


class HttpTasks(_HttpAdapter):
    """Runs ``http:invoke`` Tasks."""

    resource = HTTP_INVOKE

    def __init__(
        self,
        routing: Routing | None = None,
        *,
        connections: Mapping[str, Mapping[str, Any]] | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(routing, timeout)
        self.connections = dict(connections or {})

    def build(self, request: TaskRequest) -> httpx.Request:
        """The HTTP request a Task's parameters describe."""
        params = _object(request.payload, "Parameters")
        url = params.get("ApiEndpoint")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise BadParameters("'ApiEndpoint' must be an http(s) URL")
        method = params.get("Method")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise BadParameters(f"'Method' must be one of {', '.join(METHODS)}")
        headers = {k: _text(v) for k, v in _object(params.get("Headers"), "Headers").items()}
        query = _pairs(_object(params.get("QueryParameters"), "QueryParameters"), "REPEAT")
        body_params: dict[str, Any] = {}
        connection = self._connection(params.get("Authentication"))
        if connection is not None:
            _authorize(connection, headers, query, body_params)
        base = self.routed_base(request)
        if base is not None:
            parts = urllib.parse.urlsplit(url)
            url = (
                base.rstrip("/") + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            )
        transform = _object(params.get("Transform"), "Transform")
        content, content_type = self._content(params, transform, body_params)
        if content_type and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        return _request(method, url, query, headers, content)

    def _connection(self, authentication: Any) -> Mapping[str, Any] | None:
        if authentication is None:
            return None
        arn = _object(authentication, "Authentication").get("ConnectionArn")
        if not isinstance(arn, str):
            raise BadParameters("'Authentication.ConnectionArn' must be a connection ARN")
        connection = self.connections.get(arn)
        if connection is None:
            raise BadParameters(
                f"The connection '{arn}' is not known here: give it in the connections "
                "of the HTTP Task adapter (CreateConnection's AuthorizationType and "
                "AuthParameters)"
            )
        return connection

    def _content(
        self, params: Mapping[str, Any], transform: Mapping[str, Any], extra: dict[str, Any]
    ) -> tuple[bytes | None, str | None]:
        body = params.get("RequestBody")
        encoding = transform.get("RequestBodyEncoding", "NONE")
        if encoding == "URL_ENCODED":
            options = _object(transform.get("RequestEncodingOptions"), "RequestEncodingOptions")
            array_format = options.get("ArrayFormat", "INDICES")
            if array_format not in ARRAY_FORMATS:
                raise BadParameters(f"'ArrayFormat' must be one of {', '.join(ARRAY_FORMATS)}")
            fields = {**_object(body, "RequestBody"), **extra}
            encoded = urllib.parse.urlencode(_pairs(fields, array_format))
            return encoded.encode(), "application/x-www-form-urlencoded"
        if encoding != "NONE":
            raise BadParameters("'RequestBodyEncoding' must be NONE or URL_ENCODED")
        if extra and isinstance(body, dict | type(None)):
            body = {**(body or {}), **extra}
        if body is None:
            return None, None
        if isinstance(body, str):
            return body.encode(), "text/plain"
        return json.dumps(body, separators=(",", ":")).encode(), "application/json"

    def shape(self, request: TaskRequest, response: httpx.Response) -> TaskOutcome:
        """The Task's result, or ``States.Http.StatusCode.NNN`` for an error status."""
        document = response_document(response)
        if response.status_code >= 400:
            return TaskOutcome.failure(
                f"States.Http.StatusCode.{response.status_code}",
                json.dumps(document, separators=(",", ":")),
            )
        return TaskOutcome.success(document)


def _request(
    method: str,
    url: str,
    query: list[tuple[str, str]],
    headers: dict[str, str] | list[tuple[str, str]],
    content: bytes | None,
) -> httpx.Request:
    """The request a Task sends: its method upper-cased, its query fields (if any) on
    the URL."""
    import httpx

    return httpx.Request(
        method.upper(),
        url,
        params=urllib.parse.urlencode(query) or None,
        headers=headers,
        content=content,
    )


def _authorize(
    connection: Mapping[str, Any],
    headers: dict[str, str],
    query: list[tuple[str, str]],
    body: dict[str, Any],
) -> None:
    kind = connection.get("AuthorizationType")
    auth = connection.get("AuthParameters") or {}
    if kind == "BASIC":
        basic = auth.get("BasicAuthParameters") or {}
        pair = f"{basic.get('Username', '')}:{basic.get('Password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif kind == "API_KEY":
        key = auth.get("ApiKeyAuthParameters") or {}
        headers[str(key.get("ApiKeyName", "x-api-key"))] = str(key.get("ApiKeyValue", ""))
    else:
        raise BadParameters(f"connections of AuthorizationType {kind!r} are not supported here")
    extra = auth.get("InvocationHttpParameters") or {}
    for item in extra.get("HeaderParameters") or []:
        headers[str(item.get("Key"))] = str(item.get("Value"))
    for item in extra.get("QueryStringParameters") or []:
        query.append((str(item.get("Key")), str(item.get("Value"))))
    for item in extra.get("BodyParameters") or []:
        body[str(item.get("Key"))] = item.get("Value")


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadParameters(f"'{name}' must be an object")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _pairs(fields: Mapping[str, Any], array_format: str) -> list[tuple[str, str]]:
    """Form or query fields, lists spelled by ``array_format``."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        if isinstance(value, list):
            items = [_text(v) for v in value]
            if array_format == "COMMAS":
                pairs.append((key, ",".join(items)))
            else:
                for index, item in enumerate(items):
                    name = {"INDICES": f"{key}[{index}]", "BRACKETS": f"{key}[]"}.get(
                        array_format, key
                    )
                    pairs.append((name, item))
        elif isinstance(value, dict):
            nested = {f"{key}[{k}]": v for k, v in value.items()}
            pairs.extend(_pairs(nested, array_format))
        else:
            pairs.append((key, _text(value)))
    return pairs


class ApiGatewayTasks(_HttpAdapter):
    """Runs ``apigateway:invoke`` Tasks."""

    resource = APIGATEWAY_INVOKE

    def __init__(self, routing: Routing | None = None, *, timeout: float = 29.0) -> None:
        super().__init__(routing, timeout)

    def handles(self, resource: str) -> bool:
        """``apigateway:invoke`` when a route names the API's stand-in, or calls may go
        to AWS (``"default": "aws"``)."""
        if resource != self.resource:
            return False
        return self.routing.route(resource) is not None or self.routing.default == "aws"

    def build(self, request: TaskRequest) -> httpx.Request:
        """The request to the API's stage and path."""
        params = _object(request.payload, "Parameters")
        host = params.get("ApiEndpoint")
        if not isinstance(host, str) or not host:
            raise BadParameters("'ApiEndpoint' must be the API's host name")
        method = params.get("Method")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise BadParameters(f"'Method' must be one of {', '.join(METHODS)}")
        headers: list[tuple[str, str]] = []
        for key, values in _object(params.get("Headers"), "Headers").items():
            if not isinstance(values, list):
                raise BadParameters("The value of the field 'Headers' has an invalid format")
            headers.extend((key, _text(v)) for v in values)
        query: list[tuple[str, str]] = []
        for key, values in _object(params.get("QueryParameters"), "QueryParameters").items():
            if not isinstance(values, list):
                raise BadParameters(
                    "The value of the field 'QueryParameters' has an invalid format"
                )
            query.extend((key, _text(v)) for v in values)
        path = "/".join(
            str(part).strip("/") for part in (params.get("Stage"), params.get("Path")) if part
        )
        base = self.routed_base(request) or f"https://{host}"
        url = f"{base.rstrip('/')}/{path}"
        body = params.get("RequestBody")
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        if content is not None:
            headers.append(("Content-Type", "application/json"))
        return _request(method, url, query, headers, content)

    def shape(self, request: TaskRequest, response: httpx.Response) -> TaskOutcome:
        """The Task's result, or ``ApiGateway.NNN`` for an error status."""
        if response.status_code >= 400:
            return TaskOutcome.failure(f"ApiGateway.{response.status_code}", response.text)
        return TaskOutcome.success(response_document(response))
