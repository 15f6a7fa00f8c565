"""What AWS's services check and answer where moto does otherwise: the rules of the
front (``aws_front.py``), as functions of a request (``Call``) and an answer (``Answer``).

* **checks made before moto sees the request** (``RULES``, ``check``), each as the
  service makes it, with its error shape: a request missing a member the service
  requires (DynamoDB's validation message, SQS's ``MissingParameter``), a FIFO topic's
  publish without ``MessageGroupId``;
* **calls the front takes part in**: PutEvents, whose entries with a ``Detail`` that is
  not a JSON object fail (``MalformedDetail``) while the others are put;
* **answers moto gives otherwise** (``adjust``): DynamoDB's ``ConsumedCapacity`` only
  when asked for, SNS FIFO's ``SequenceNumber``, S3 PutObject's ``ChecksumType``.
"""

from __future__ import annotations

import itertools
import json
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

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
        value = loads_or_none(answer.body)
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
        if local_name(result.tag) != "PublishResult":
            continue
        if any(local_name(child.tag) == "SequenceNumber" for child in result):
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


def local_name(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rpartition("}")[2]


def _qualified(like: str, name: str) -> str:
    return like.rpartition("}")[0] + "}" + name if like.startswith("{") else name


def loads_or_none(body: bytes) -> Any:
    """A JSON body's value, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None
