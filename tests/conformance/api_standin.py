"""A local HTTP server standing for the API Gateway stage the ``apigateway:invoke`` cases
were recorded against (LocalStack's ``sfn-apigw-api``, a Lambda proxy API).

It answers as that API did, headers and all:

* ``POST /<stage>/get_constant``: ``{}``;
* ``POST /<stage>/id_func``: the request's JSON body again (as Python's ``json.dumps``
  writes it: the recorded lengths show its spaces), ``{}`` without one; with a query
  string, ``{"body": <body>, "queryStringParameters": "{k=v, ...}"}`` (the mapping
  template's Java map text);
* any other path: ``403 {"message":"Missing Authentication Token"}``, API Gateway's
  answer for a route it does not have.

The server runs on a thread of the test process, bound to a port the OS chose, so the
process answering is ours.
"""

from __future__ import annotations

import atexit
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The response headers the recordings show (their dynamic values stand as placeholders).
FIXED_HEADERS = (
    ("Connection", "keep-alive"),
    ("Date", "Tue, 01 Dec 2026 00:00:00 GMT"),
    ("Via", "1.1 local.cloudfront.net (CloudFront)"),
    ("x-amz-apigw-id", "stepfn-local="),
    ("X-Amz-Cf-Id", "stepfn-local"),
    ("X-Amz-Cf-Pop", "LOCAL"),
    ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"),
    ("X-Amzn-Trace-Id", "Root=1-00000000-000000000000000000000000"),
    ("X-Cache", "Miss from cloudfront"),
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet: the tests' output is the report

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        route = url.path.rstrip("/").rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if route == "get_constant":
            self._send(200, {})
        elif route == "id_func":
            body = json.loads(raw) if raw else {}
            query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
            if query:
                text = ", ".join(f"{k}={v}" for k, v in query)
                body = {"body": body, "queryStringParameters": "{" + text + "}"}
            self._send(200, body)
        else:
            self._send(403, None, b'{"message":"Missing Authentication Token"}')

    def _send(self, status: int, value: Any, content: bytes | None = None) -> None:
        data = content if content is not None else json.dumps(value).encode()
        # send_response_only: no Server or Date header of http.server's own.
        self.send_response_only(status)
        for name, text in FIXED_HEADERS[:1]:
            self.send_header(name, text)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/json")
        for name, text in FIXED_HEADERS[1:]:
            self.send_header(name, text)
        self.end_headers()
        self.wfile.write(data)


class ApiStandIn:
    """The stand-in server: ``url`` is its base, to route ``apigateway:invoke`` to."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ApiStandIn:
        """Serve on a thread of its own."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


_standin: ApiStandIn | None = None
_lock = threading.Lock()


def api_standin() -> ApiStandIn:
    """The stand-in, started on first use and stopped at exit."""
    global _standin
    with _lock:
        if _standin is None:
            _standin = ApiStandIn().start()
            atexit.register(_standin.stop)
        return _standin
