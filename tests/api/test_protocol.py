"""The AWS JSON 1.0 protocol over raw HTTP: bad requests of every kind get a clear 4xx
answer with ``__type`` and ``message``, never a 500 and never a half-written resource;
keep-alive, ``Expect: 100-continue``, chunked bodies and ``/health`` work."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepfn.validation.model import load

from .helpers import PASS, ROLE, Live, unique

MODEL = load()


def test_a_request_without_target_or_with_an_unknown_one(live: Live) -> None:
    status, _, body = live.post("{}", target=None)
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, _, body = live.post("{}", target="AWSStepFunctions.LaunchRocket")
    assert (status, body) == (
        400,
        {"__type": "UnknownOperationException", "message": "Unknown operation: LaunchRocket"},
    )
    status, _, body = live.post("{}", target="DynamoDB_20120810.ListTables")
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_bodies_that_are_not_a_json_object(live: Live) -> None:
    for text, message in [
        ('{"maxResults": ', "The request body is not JSON: Expecting value (line 1, column 16)"),
        ("[1, 2]", "The request body must be a JSON object"),
        ('{"maxResults": NaN}', "The request body is not JSON: NaN is not JSON"),
    ]:
        assert live.post(text)[::2] == (
            400,
            {"__type": "SerializationException", "message": message},
        )
    status, _, body = live.post(b'{"name": "\xff"}', target="AWSStepFunctions.CreateActivity")
    assert (status, body["__type"]) == (400, "SerializationException")


def test_an_empty_body_is_an_empty_request(live: Live) -> None:
    status, headers, body = live.post(b"")
    assert status == 200 and "stateMachines" in body
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-requestid"]


def test_members_of_the_wrong_json_type(live: Live) -> None:
    status, _, body = live.post('{"name": 5}', target="AWSStepFunctions.CreateActivity")
    assert (status, body) == (
        400,
        {
            "__type": "SerializationException",
            "message": "Cannot read 'name': expected a string, found a number",
        },
    )
    status, _, body = live.post('{"maxResults": "10"}')
    assert body["message"] == "Cannot read 'maxResults': expected an integer, found a string"
    status, _, body = live.post('{"maxResults": 1.5}')
    assert body["message"] == (
        "Cannot read 'maxResults': expected an integer, found a fractional number"
    )
    status, _, body = live.post(
        '{"name": "a", "tags": {"key": "k"}}', target="AWSStepFunctions.CreateActivity"
    )
    assert body["message"] == "Cannot read 'tags': expected an array, found an object"
    status, _, body = live.post('{"name": "\\ud800"}', target="AWSStepFunctions.CreateActivity")
    assert (status, body["message"]) == (400, "Cannot read 'name': invalid Unicode text")


def test_every_violation_at_once_in_aws_words(live: Live) -> None:
    status, _, body = live.post(
        json.dumps({"name": "", "definition": "", "tags": [{"key": ""}], "type": "BIG"}),
        target="AWSStepFunctions.CreateStateMachine",
    )
    assert status == 400 and body["__type"] == "ValidationException"
    assert body["message"] == (
        "5 validation errors detected: "
        "Value '' at 'name' failed to satisfy constraint: Member must have length greater "
        "than or equal to 1; "
        # a sensitive member's value is never echoed
        "Value at 'definition' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1; "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
        "Value 'BIG' at 'type' failed to satisfy constraint: Member must satisfy enum value "
        "set: [STANDARD, EXPRESS]; "
        "Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have "
        "length greater than or equal to 1"
    )


def test_nothing_is_written_for_a_refused_request(live: Live) -> None:
    name = unique("never")
    for definition in ("", "{}", json.dumps(PASS)):
        live.post(
            json.dumps({"name": name, "definition": definition, "roleArn": ROLE, "type": "X"}),
            target="AWSStepFunctions.CreateStateMachine",
        )
    _, _, body = live.post("{}")
    assert name not in [m["name"] for m in body["stateMachines"]]


def test_unknown_members_are_ignored(live: Live) -> None:
    name = unique("extra")
    status, _, body = live.post(
        json.dumps({"name": name, "colour": "blue", "tags": [{"key": "k", "shade": 1}]}),
        target="AWSStepFunctions.CreateActivity",
    )
    assert status == 200 and body["activityArn"].endswith(f":activity:{name}")


def test_an_oversized_request_is_refused_with_413(live: Live) -> None:
    live.server.max_body, limit = 1000, live.server.max_body
    try:
        status, headers, body = live.post(json.dumps({"name": "x" * 2000}))
    finally:
        live.server.max_body = limit
    assert (status, body["__type"]) == (413, "RequestEntityTooLargeException")
    assert body["message"] == "The request body (2012 bytes) exceeds the limit of 1000 bytes"
    assert headers["connection"] == "close"


def test_health_and_other_methods(live: Live) -> None:
    assert live.post(b"", None, method="GET", path="/health")[::2] == (
        200,
        {"status": "ok", "requestsInProgress": 0},
    )
    status, _, body = live.post(b"", None, method="GET", path="/elsewhere")
    assert (status, body["__type"]) == (404, "NotFound")
    status, _, body = live.post(b"", target=None, method="PUT")
    assert (status, body["__type"]) == (405, "MethodNotAllowed")


def raw_exchange(live: Live, payload: bytes, reads: int = 1) -> bytes:
    """Send bytes on one connection and read what comes back."""
    parts = urlsplit(live.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        while received.count(b"HTTP/1.1 ") < reads or not received.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def request(body: bytes, extra: str = "") -> bytes:
    return (
        (
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListActivities\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\n{extra}"
        ).encode()
        + b"\r\n"
        + body
    )


def test_keep_alive_serves_several_requests_on_one_connection(live: Live) -> None:
    one = request(b"{}", "Content-Length: 2\r\n")
    answer = raw_exchange(live, one + one, reads=2)
    assert answer.count(b"HTTP/1.1 200 OK") == 2


def test_expect_continue_and_chunked_bodies(live: Live) -> None:
    answer = raw_exchange(live, request(b"{}", "Content-Length: 2\r\nExpect: 100-continue\r\n"))
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    chunked = request(b"1\r\n{\r\n1\r\n}\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n")
    assert raw_exchange(live, chunked).startswith(b"HTTP/1.1 200 OK")


def test_requests_that_are_not_http(live: Live) -> None:
    assert raw_exchange(live, b"HELLO\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request")
    bad_length = request(b"{}", "Content-Length: two\r\n")
    assert raw_exchange(live, bad_length).startswith(b"HTTP/1.1 400 Bad Request")


# --- no request makes a 500 -------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def member_value(shape_name: str) -> st.SearchStrategy[Any]:
    """Values near what a member expects (often right, sometimes not)."""
    shape = MODEL.shapes[shape_name]
    if shape.enum:
        return st.sampled_from(shape.enum) | st.text(max_size=12)
    if shape.type == "string":
        arns = st.sampled_from(
            [
                "arn:aws:states:us-east-1:123456789012:stateMachine:m",
                "arn:aws:states:us-east-1:123456789012:execution:m:e",
                "arn:aws:states:us-east-1:123456789012:activity:a",
                "arn:aws:states:us-east-1:123456789012:mapRun:m/l:e",
                "arn:aws:states:us-east-1:123456789012:express:m:e:x",
                json.dumps(PASS),
            ]
        )
        return arns | st.text(max_size=40)
    if shape.type in ("integer", "long"):
        return st.integers(min_value=-5, max_value=2000) | JSON_VALUES
    if shape.type == "list" and shape.member:
        return st.lists(member_value(shape.member), max_size=3) | JSON_VALUES
    if shape.type == "structure":
        return st.fixed_dictionaries(
            {}, optional={m: member_value(ref) for m, ref in shape.members.items()}
        )
    return JSON_VALUES


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    operation = draw(st.sampled_from(sorted(MODEL.operations)))
    name = MODEL.operations[operation].input
    members = MODEL.shapes[name].members if name else {}
    body = draw(
        st.fixed_dictionaries({}, optional={m: member_value(ref) for m, ref in members.items()})
    )
    return operation, body


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=requests())
def test_no_request_is_answered_with_a_500(live: Live, case: tuple[str, dict[str, Any]]) -> None:
    operation, body = case
    if operation == "GetActivityTask":
        return  # a valid one long-polls for a minute: covered in test_operations
    status, _, answer = live.post(json.dumps(body), target=f"AWSStepFunctions.{operation}")
    assert status < 500, (operation, body, answer)
    if status != 200:
        assert set(answer) >= {"__type", "message"}, answer
