"""The Step Functions API over HTTP: AWS JSON 1.0, as the SDKs speak it.

A request is ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Operation>`` and a JSON
body of the operation's fields; the answer is the operation's output as JSON, or an
error ``{"__type": code, "message": text}`` with status 400. Each operation maps to the
Engine method of the same name in snake case, called with the body's fields: the Engine
already takes and returns boto3's shapes, so this layer only translates (timestamps go
out as epoch seconds, as AWS sends them).

It is served by the standard library's threading HTTP server: one thread per request
suits long polls (GetActivityTask waits up to 60 s) and needs nothing to install.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stepfn.errors import ServiceError
from stepfn.runtime.engine import Engine

log = logging.getLogger("stepfn.api")

TARGET_PREFIX = "AWSStepFunctions."
MAX_BODY_BYTES = 1024 * 1024  # the largest definition is 1 MiB; a request has little more
CONTENT_TYPE = "application/x-amz-json-1.0"

# The operations of the service model that the engine answers.
OPERATIONS = (
    "CreateActivity",
    "CreateStateMachine",
    "CreateStateMachineAlias",
    "DeleteActivity",
    "DeleteStateMachine",
    "DeleteStateMachineAlias",
    "DeleteStateMachineVersion",
    "DescribeActivity",
    "DescribeExecution",
    "DescribeStateMachine",
    "DescribeStateMachineAlias",
    "DescribeStateMachineForExecution",
    "GetActivityTask",
    "GetExecutionHistory",
    "ListActivities",
    "ListExecutions",
    "ListStateMachineAliases",
    "ListStateMachineVersions",
    "ListStateMachines",
    "ListTagsForResource",
    "PublishStateMachineVersion",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartExecution",
    "StartSyncExecution",
    "StopExecution",
    "TagResource",
    "UntagResource",
    "UpdateStateMachine",
    "UpdateStateMachineAlias",
    "ValidateStateMachineDefinition",
)


def method_name(operation: str) -> str:
    """``StartExecution`` -> ``start_execution``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def error_body(code: str, message: str) -> dict[str, str]:
    """An AWS JSON 1.0 error document."""
    return {"__type": code, "message": message}


class Api:
    """Dispatches AWS JSON 1.0 requests to an Engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.methods = {op: method_name(op) for op in OPERATIONS}

    def handle(self, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON document)."""
        if not target or not target.startswith(TARGET_PREFIX):
            return 400, error_body("UnknownOperationException", "Missing or invalid X-Amz-Target")
        operation = target[len(TARGET_PREFIX) :]
        name = self.methods.get(operation)
        method = getattr(self.engine, name, None) if name else None
        if method is None:
            return 400, error_body(
                "UnknownOperationException", f"Operation {operation} is not supported"
            )
        try:
            params = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return 400, error_body(
                "SerializationException", "Start of structure or map found where not expected."
            )
        if not isinstance(params, dict):
            return 400, error_body(
                "SerializationException", "The request body must be a JSON object"
            )
        try:
            result = method(**params)
        except ServiceError as exc:
            return exc.status, error_body(exc.code, exc.message)
        except TypeError as exc:
            if "unexpected keyword argument" in str(exc) or "missing" in str(exc):
                field = str(exc).split("'")[1] if "'" in str(exc) else "request"
                return 400, error_body(
                    "ValidationException",
                    f"1 validation error detected: Value at '{field}' failed to satisfy constraint",
                )
            log.exception("internal error in %s", operation)
            return 500, error_body("InternalFailure", "The server encountered an internal error")
        except Exception:
            log.exception("internal error in %s", operation)
            return 500, error_body("InternalFailure", "The server encountered an internal error")
        return 200, _encode(result)


class _Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _send(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", self.server.api.engine.ids.uuid())
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/health", "/ping"):
            self._send(200, {"status": "ok"})
        else:
            self._send(404, error_body("NotFound", f"No such path: {self.path}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                error_body("RequestEntityTooLarge", f"Request body exceeds {MAX_BODY_BYTES} bytes"),
            )
            return
        body = self.rfile.read(length) if length else b""
        status, document = self.server.api.handle(self.headers.get("X-Amz-Target"), body)
        self._send(status, document)


class Server(ThreadingHTTPServer):
    """The HTTP server of the API; ``serve_forever`` until ``shutdown``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 8083) -> None:
        self.api = Api(engine)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """The endpoint URL to give an SDK."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_background(self) -> threading.Thread:
        """Serve in a daemon thread (tests and embedding)."""
        thread = threading.Thread(target=self.serve_forever, name="stepfn-api", daemon=True)
        thread.start()
        return thread
