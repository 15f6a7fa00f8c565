"""An AWS-shaped front for the moto server: what the conformance cases' Tasks call.

Step Functions' optimized integrations echo the service's HTTP answer in their result
(``SdkHttpMetadata``: every response header, ``Content-Length`` included), and moto
answers as a Werkzeug server does (``Server: Werkzeug``, ``Connection: close``, a
lowercase ``x-amzn-requestid`` of its own shape, XML and JSON laid out its own way). The
front is an HTTP proxy on a thread of the test process, on a port the OS chose, in front of
the moto server. It forwards each request to moto and answers as AWS's service does:

* **headers**: the set, names, casing and order each service sends (``SERVICE_HEADERS``,
  learnt from the recordings), with a request id of the service's own shape;
* **body**: a Query protocol answer is XML indented by two spaces, one element a line,
  with a final newline; a JSON protocol answer is compact JSON; ``Content-Length`` (and
  DynamoDB's ``x-amz-crc32``) are those of the body sent;
* **what the service checks and answers where moto does otherwise**: ``aws_rules.py``.

``shape`` is a function of a request and an answer, tested without a server.
"""

from __future__ import annotations

import atexit
import email.utils
import http.client
import json
import random
import string
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from .aws_rules import (
    Answer,
    Call,
    SequenceNumbers,
    adjust,
    check,
    loads_or_none,
    local_name,
    put_events,
)

# Request headers that belong to one hop, not to the request: the front makes its own.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "expect", "content-length", "te"}
)
# Response headers of moto's that no AWS service sends.
MOTO_ONLY = frozenset({"server", "access-control-allow-origin", "status", "connection"})


# --- the layout of an answer ---------------------------------------------------------------

# Each service's headers as its recordings show them, in order. ``{request_id}`` names
# the request-id header; ``None`` values are filled in by ``shape``.
SERVICE_HEADERS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "sns": (
        ("{request_id}", None),
        ("connection", "keep-alive"),
        ("Content-Length", None),
        ("Date", None),
        ("Content-Type", None),
    ),
    "sqs": (
        ("{request_id}", None),
        ("connection", "keep-alive"),
        ("Content-Length", None),
        ("Date", None),
        ("Content-Type", None),
    ),
    "dynamodb": (
        ("Server", "Server"),
        ("Connection", "keep-alive"),
        ("{request_id}", None),
        ("x-amz-crc32", None),
        ("Content-Length", None),
        ("Date", None),
        ("Content-Type", None),
    ),
}
# Headers of moto's answer that carry meaning for the client and that the service sends
# too: kept.
KEPT = frozenset({"x-amzn-query-error"})
# DynamoDB spells its request-id header in lower case for GetItem alone (the recordings
# of one execution show PutItem, UpdateItem and DeleteItem with ``x-amzn-RequestId`` and
# GetItem with ``x-amzn-requestid``).
LOWERCASE_REQUEST_ID = frozenset({("dynamodb", "GetItem")})


def request_id(service: str) -> str:
    """A request id of the service's shape: DynamoDB's are 52 upper-case letters and
    digits, most others' a UUID."""
    if service == "dynamodb":
        return "".join(random.choices(string.ascii_uppercase + string.digits, k=52))
    return str(uuid.uuid4())


def shape(call: Call, answer: Answer, rid: str | None = None) -> Answer:
    """The answer as the service sends it: its headers and its body's layout."""
    rid = rid if rid is not None else request_id(call.service)
    body = answer.body
    content_type = answer.header("Content-Type") or ""
    if call.protocol == "query":
        body = aws_xml(body, rid) if body else body
        content_type = "text/xml"
    elif call.protocol == "json":
        value = loads_or_none(body) if body else None
        if value is not None:
            body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        content_type = call.header("Content-Type") or "application/x-amz-json-1.0"
    rid_name = "x-amzn-RequestId"
    if (call.service, call.operation) in LOWERCASE_REQUEST_ID:
        rid_name = "x-amzn-requestid"
    template = SERVICE_HEADERS.get(call.service)
    if template is None or call.protocol == "rest":
        headers = _rest_headers(call, answer, rid, body, content_type)
        return Answer(answer.status, headers, body)
    values = {
        "{request_id}": rid,
        "x-amz-crc32": str(zlib.crc32(body)),
        "Content-Length": str(len(body)),
        "Date": email.utils.formatdate(usegmt=True),
        "Content-Type": content_type,
    }
    headers = []
    for name, value in template:
        headers.append((rid_name if name == "{request_id}" else name, value or values[name]))
    headers += [(k, v) for k, v in answer.headers if k.lower() in KEPT]
    return Answer(answer.status, headers, body)


def _rest_headers(
    call: Call, answer: Answer, rid: str, body: bytes, content_type: str
) -> list[tuple[str, str]]:
    """The headers of a service without a profile here (or a REST one): moto's own, less
    what only moto sends, with AWS's request id, the protocol's content type, a
    persistent connection and the body's length (a HEAD answer keeps the length of what
    GET would send)."""
    drop = MOTO_ONLY | {"x-amzn-requestid", "date", "content-type"}
    if call.method != "HEAD":
        drop = drop | {"content-length"}
    headers = [(k, v) for k, v in answer.headers if k.lower() not in drop]
    if call.service == "s3":
        lead = [("x-amz-id-2", rid), ("x-amz-request-id", rid), ("Server", "AmazonS3")]
    else:
        lead = [("x-amzn-RequestId", rid)]
    tail = [("Date", email.utils.formatdate(usegmt=True))]
    if content_type:
        tail.append(("Content-Type", content_type))
    if call.method != "HEAD":
        tail.append(("Content-Length", str(len(body))))
    return [*lead, *headers, *tail, ("Connection", "keep-alive")]


def aws_xml(body: bytes, rid: str) -> bytes:
    """Query-protocol XML as AWS writes it: one element a line, indented by two spaces,
    the root declaring its namespace, a final newline; ``RequestId`` is ``rid``."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body
    lines: list[str] = []

    def emit(element: ET.Element, depth: int) -> None:
        name = local_name(element.tag)
        pad = "  " * depth
        opening = name
        if depth == 0 and element.tag.startswith("{"):
            opening += f' xmlns="{element.tag[1:].partition("}")[0]}"'
        children = list(element)
        if children:
            lines.append(f"{pad}<{opening}>")
            for child in children:
                emit(child, depth + 1)
            lines.append(f"{pad}</{name}>")
            return
        text = rid if name == "RequestId" else (element.text or "")
        if text:
            lines.append(f"{pad}<{opening}>{escape(text, _QUOTE)}</{name}>")
        else:
            lines.append(f"{pad}<{opening}/>")

    emit(root, 0)
    return ("\n".join(lines) + "\n").encode("utf-8")


# AWS escapes double quotes in text too (an SNS policy reads ``{&quot;Version&quot;...``).
_QUOTE = {'"': "&quot;"}


# --- the server ------------------------------------------------------------------------------


def forward_to(upstream: str) -> Callable[[Call], Answer]:
    """A function that sends a call to ``upstream`` (``http://host:port``) and reads the
    whole answer."""
    where = urllib.parse.urlsplit(upstream)

    def forward(call: Call) -> Answer:
        connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=60)
        try:
            headers = {k: v for k, v in call.headers if k.lower() not in HOP_HEADERS}
            headers["Content-Length"] = str(len(call.body))
            connection.request(call.method, call.path, body=call.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return Answer(response.status, list(response.getheaders()), body)
        finally:
            connection.close()

    return forward


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FrontServer

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet: the tests' output is the report

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        call = Call(self.command, self.path, tuple(self.headers.items()), self._read_body())
        front = self.server.front
        answer = check(call)
        if answer is None:
            answer = put_events(call, front.forward)
        if answer is None:
            answer = adjust(call, front.forward(call), front.sequence)
        answer = shape(call, answer)
        # send_response_only: no Server or Date header of http.server's own.
        self.send_response_only(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True
    front: AwsFront


class AwsFront:
    """The front: ``url`` is its base, to route the Tasks' service calls to."""

    def __init__(self, upstream: str) -> None:
        self.forward = forward_to(upstream)
        self.sequence = SequenceNumbers()
        self.server = _FrontServer(("127.0.0.1", 0), _Handler)
        self.server.front = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> AwsFront:
        """Serve on a thread of its own."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


_fronts: dict[str, AwsFront] = {}
_lock = threading.Lock()


def aws_front(upstream: str) -> AwsFront:
    """The front of ``upstream``, started on first use and stopped at exit."""
    with _lock:
        front = _fronts.get(upstream)
        if front is None:
            front = _fronts[upstream] = AwsFront(upstream).start()
            atexit.register(front.stop)
        return front
