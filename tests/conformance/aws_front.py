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
* **checks moto does not make, or makes otherwise** (``RULES``), each as the service
  makes it, with its error shape: a request missing a member the service requires
  (DynamoDB's validation message, SQS's ``MissingParameter``), a FIFO topic's publish
  without ``MessageGroupId``, PutEvents entries whose ``Detail`` is not a JSON object;
* **answers moto gives otherwise**: DynamoDB's ``ConsumedCapacity`` only when asked for,
  SNS FIFO's ``SequenceNumber``, S3 PutObject's ``ChecksumType``.

The pure parts (``Call``, ``Answer``, ``shape``, ``check``) are functions of a request and
an answer, so they are tested without a server.
"""

from __future__ import annotations

import atexit
import email.utils
import http.client
import itertools
import json
import random
import string
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

# Request headers that belong to one hop, not to the request: the front makes its own.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "expect", "content-length", "te"}
)
# Response headers of moto's that no AWS service sends.
MOTO_ONLY = frozenset({"server", "access-control-allow-origin", "status", "connection"})
# The Query protocol's XML namespaces, for the error answers the front makes itself.
QUERY_NAMESPACES = {
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
}


@dataclass(frozen=True)
class Call:
    """One request as the front sees it."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def service(self) -> str:
        """The service's signing name, from the credential scope of the signature
        (``Credential=AKID/20261203/us-east-1/sns/aws4_request``)."""
        auth = self.header("Authorization") or ""
        scope = auth.partition("Credential=")[2].split(",")[0].split("/")
        return scope[3] if len(scope) >= 5 else ""

    @property
    def protocol(self) -> str:
        """``json`` (an ``X-Amz-Target`` call), ``query`` (a form with ``Action``) or
        ``rest``."""
        if self.header("X-Amz-Target"):
            return "json"
        if "x-www-form-urlencoded" in (self.header("Content-Type") or "") and b"Action=" in (
            self.body
        ):
            return "query"
        return "rest"

    @property
    def operation(self) -> str:
        """The operation's name (``PutItem``, ``Publish``); empty for REST calls."""
        if self.protocol == "json":
            return (self.header("X-Amz-Target") or "").rpartition(".")[2]
        if self.protocol == "query":
            return str(self.params.get("Action", ""))
        return ""

    @property
    def params(self) -> dict[str, Any]:
        """The request's members: its JSON body, or its form's fields."""
        if self.protocol == "json":
            try:
                value = json.loads(self.body or b"{}")
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
        if self.protocol == "query":
            form = urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), True)
            return dict(form)
        return {}

    def with_params(self, params: dict[str, Any]) -> Call:
        """This JSON call with other members."""
        return replace(self, body=json.dumps(params).encode("utf-8"))


@dataclass
class Answer:
    """One response: status, headers in order, body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


# --- the services' errors ---------------------------------------------------------------


def json_error(call: Call, status: int, type_: str, message: str, code: str = "") -> Answer:
    """An error of the JSON protocol: ``{"__type", "message"}``; ``code`` also goes in
    ``x-amzn-query-error``, as services that once spoke Query (SQS) send it."""
    body = json.dumps({"__type": type_, "message": message}, separators=(",", ":"))
    headers = [("Content-Type", call.header("Content-Type") or "application/x-amz-json-1.0")]
    if code:
        headers.append(("x-amzn-query-error", f"{code};Sender"))
    return Answer(status, headers, body.encode("utf-8"))


def query_error(call: Call, status: int, code: str, message: str) -> Answer:
    """An error of the Query protocol (``<ErrorResponse>``); ``shape`` lays it out."""
    namespace = QUERY_NAMESPACES.get(call.service, "")
    root = ET.Element("ErrorResponse", {"xmlns": namespace})
    error = ET.SubElement(root, "Error")
    for tag, text in (("Type", "Sender"), ("Code", code), ("Message", message)):
        ET.SubElement(error, tag).text = text
    ET.SubElement(root, "RequestId").text = ""
    return Answer(status, [("Content-Type", "text/xml")], ET.tostring(root))


def _missing_required(call: Call) -> list[str]:
    """The members the service model requires that the request lacks, in model order."""
    model = _service_model(call.service)
    if model is None or call.operation not in model.operation_names:
        return []
    shape = model.operation_model(call.operation).input_shape
    given = call.params
    return [name for name in shape.required_members if given.get(name) is None]


@cache
def _service_model(name: str) -> Any:
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(name)
    except Exception:  # an unknown service: no model, no check
        return None


# --- checks of a request, made before moto sees it ---------------------------------------


def dynamodb_required(call: Call) -> Answer | None:
    """DynamoDB validates the request before anything else (the table need not exist):
    each required member absent is one ``Value null at 'item' ...`` clause."""
    if call.service != "dynamodb" or call.protocol != "json":
        return None
    missing = _missing_required(call)
    if not missing:
        return None
    clauses = [
        f"Value null at '{name[:1].lower()}{name[1:]}' failed to satisfy constraint: "
        "Member must not be null"
        for name in missing
    ]
    count = f"{len(clauses)} validation error{'s' if len(clauses) > 1 else ''} detected"
    message = f"{count}: " + "; ".join(clauses)
    return json_error(call, 400, "com.amazon.coral.validate#ValidationException", message)


def sqs_required(call: Call) -> Answer | None:
    """SQS names the first required member a request lacks: ``MissingParameter``."""
    if call.service != "sqs":
        return None
    missing = _missing_required(call)
    if not missing:
        return None
    message = f"The request must contain the parameter {missing[0]}."
    if call.protocol == "query":
        return query_error(call, 400, "MissingParameter", message)
    return json_error(call, 400, "com.amazonaws.sqs#MissingParameter", message, "MissingParameter")


def sns_fifo_group(call: Call) -> Answer | None:
    """A publish to a FIFO topic (its name ends in ``.fifo``) must name its message
    group: SNS answers ``InvalidParameter``, where moto says ``MissingParameter``."""
    if call.service != "sns" or call.operation != "Publish":
        return None
    params = call.params
    target = str(params.get("TopicArn") or params.get("TargetArn") or "")
    if not target.endswith(".fifo") or params.get("MessageGroupId"):
        return None
    message = "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    return query_error(call, 400, "InvalidParameter", message)


RULES: tuple[Callable[[Call], Answer | None], ...] = (
    dynamodb_required,
    sqs_required,
    sns_fifo_group,
)


def check(call: Call) -> Answer | None:
    """The error the service gives for this request before acting on it, or None."""
    for rule in RULES:
        answer = rule(call)
        if answer is not None:
            return answer
    return None


# --- calls the front takes part in ---------------------------------------------------------

MALFORMED_DETAIL = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def _json_object(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def put_events(call: Call, forward: Callable[[Call], Answer]) -> Answer | None:
    """EventBridge's PutEvents fails each entry whose ``Detail`` is not a JSON object
    (``MalformedDetail``) and puts the others: moto gets only those, and the entries of
    the answer keep the request's order. None when the call is not such a PutEvents."""
    if call.service != "events" or call.operation != "PutEvents":
        return None
    params = call.params
    entries = params.get("Entries")
    if not isinstance(entries, list):
        return None
    bad = {i for i, e in enumerate(entries) if isinstance(e, dict) and "Detail" in e}
    bad = {i for i in bad if not _json_object(entries[i]["Detail"])}
    if not bad:
        return None
    good = [e for i, e in enumerate(entries) if i not in bad]
    results: list[Any] = []
    failed = 0
    if good:
        answer = forward(call.with_params({**params, "Entries": good}))
        if answer.status != 200:
            return answer
        got = json.loads(answer.body)
        results, failed = list(got.get("Entries") or []), int(got.get("FailedEntryCount") or 0)
    merged = [MALFORMED_DETAIL if i in bad else results.pop(0) for i in range(len(entries))]
    body = {"FailedEntryCount": failed + len(bad), "Entries": merged}
    headers = [("Content-Type", call.header("Content-Type") or "application/x-amz-json-1.1")]
    return Answer(200, headers, json.dumps(body).encode("utf-8"))


def adjust(call: Call, answer: Answer, sequence: Callable[[str, str], str]) -> Answer:
    """moto's answer with what the service answers otherwise put right."""
    if answer.status != 200:
        return answer
    if call.service == "dynamodb" and call.protocol == "json":
        asked = call.params.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES")
        value = _loads(answer.body)
        if not asked and isinstance(value, dict) and "ConsumedCapacity" in value:
            del value["ConsumedCapacity"]
            answer = replace(answer, body=json.dumps(value).encode("utf-8"))
    elif call.service == "sns" and call.operation == "Publish":
        topic = str(call.params.get("TopicArn") or call.params.get("TargetArn") or "")
        if topic.endswith(".fifo"):
            number = sequence(topic, str(call.params.get("MessageGroupId") or ""))
            answer = replace(answer, body=_with_sequence_number(answer.body, number))
    elif call.service == "s3" and _is_put_object(call):
        # Since 2025 S3 reports the type of the checksum it stored: a PutObject's covers
        # the whole object.
        has_checksum = any(k.lower().startswith("x-amz-checksum-") for k, _ in answer.headers)
        if has_checksum and answer.header("x-amz-checksum-type") is None:
            headers = [*answer.headers, ("x-amz-checksum-type", "FULL_OBJECT")]
            answer = replace(answer, headers=headers)
    return answer


def _is_put_object(call: Call) -> bool:
    url = urllib.parse.urlsplit(call.path)
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    key = url.path.lstrip("/").partition("/")[2]
    return (
        call.method == "PUT"
        and bool(key)
        and not query
        and call.header("x-amz-copy-source") is None
    )


def _with_sequence_number(body: bytes, number: str) -> bytes:
    """SNS gives a FIFO topic's message its sequence number, after its MessageId."""
    root = ET.fromstring(body)
    for result in root.iter():
        if _local(result.tag) != "PublishResult":
            continue
        if any(_local(child.tag) == "SequenceNumber" for child in result):
            return body
        ET.SubElement(result, _qualified(result.tag, "SequenceNumber")).text = number
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else None
    return ET.tostring(root, default_namespace=namespace)


class SequenceNumbers:
    """SNS FIFO sequence numbers: large, not consecutive, increasing per topic and message
    group (as SNS documents them); 20 digits, the length the recorded answers show."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[tuple[str, str], itertools.count[int]] = {}

    def __call__(self, topic: str, group: str = "") -> str:
        with self._lock:
            counter = self._next.setdefault((topic, group), itertools.count(1))
            return str(10**19 + next(counter) * 1000)


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
        value = _loads(body) if body else None
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
        name = _local(element.tag)
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


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _qualified(like: str, name: str) -> str:
    return like.rpartition("}")[0] + "}" + name if like.startswith("{") else name


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


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
            parts = []
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
