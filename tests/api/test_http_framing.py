"""``stepfn server`` probed as an attacker would, over raw sockets: malformed framing is
answered with a 4xx or a closed connection, never read until the client hangs up;
bodies over the limit get 413, chunked or not; idle connections and long polls do not
keep other requests from being answered, nor hold a thread each."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from stepfn.api.server import MAX_BODY_BYTES, MAX_HEAD

from .helpers import ROLE, client, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

HEAD = (
    "POST / HTTP/1.1\r\nHost: stepfn\r\nX-Amz-Target: AWSStepFunctions.ListActivities\r\n"
    "Content-Type: application/x-amz-json-1.0\r\n"
)


@contextmanager
def server(tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], tuple[str, int]]]:
    """``stepfn server`` on a free port; (process, (host, port)) read from its own
    first line, so the address is the one this process listens on. Its stderr is read
    on to the end (a full pipe would stall it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stepfn", "server", "--db", str(tmp / "s.db"), "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert process.stderr is not None
    reader = threading.Thread(target=process.stderr.read, daemon=True)
    try:
        line = process.stderr.readline().decode()
        assert line.startswith("stepfn server on http://"), line
        reader.start()
        host, port = line.split()[3].removeprefix("http://").rsplit(":", 1)
        yield process, (host, int(port))
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        if reader.is_alive():
            reader.join(timeout=30)
        process.stderr.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, tuple[str, int]]]:
    with server(tmp_path_factory.mktemp("framing")) as running:
        yield running


def exchange(address: tuple[str, int], payload: bytes, timeout: float = 20) -> tuple[bytes, bool]:
    """Send bytes, read until the server closes or stops sending: (what came back,
    whether the server closed the connection)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        # Refused before all was sent: what came back says why.
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, True
        except TimeoutError:
            return received, False
        return received, True


def status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def ok_request(address: tuple[str, int]) -> bytes:
    answer, _ = exchange(
        address, (HEAD + "Content-Length: 2\r\nConnection: close\r\n\r\n{}").encode()
    )
    return answer


def test_a_negative_chunk_size_is_refused(served: Any) -> None:
    _, address = served
    answer, closed = exchange(
        address, (HEAD + "Transfer-Encoding: chunked\r\n\r\n-1\r\n{}\r\n0\r\n\r\n").encode()
    )
    assert closed and (not answer or 400 <= status(answer) < 500)


def test_content_length_with_transfer_encoding_closes_the_connection(served: Any) -> None:
    _, address = served
    smuggled = HEAD + "Content-Length: 5\r\n\r\n{}"
    answer, closed = exchange(
        address,
        (
            HEAD + "Content-Length: 40\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
            "\r\n2\r\n{}\r\n0\r\n\r\n" + smuggled
        ).encode(),
    )
    assert closed
    assert status(answer) == 400 and answer.count(b"HTTP/1.1 ") == 1
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["__type"] == "BadRequest"
    assert "Content-Length" in body["message"] and "Transfer-Encoding" in body["message"]


def test_a_head_over_the_limit_gets_431_and_a_closed_connection(served: Any) -> None:
    _, address = served
    answer, closed = exchange(address, (HEAD + f"X-Pad: {'a' * MAX_HEAD}\r\n\r\n").encode())
    assert closed and status(answer) == 431
    assert b"RequestHeaderFieldsTooLarge" in answer


def test_a_chunk_without_its_crlf_is_refused(served: Any) -> None:
    _, address = served
    answer, closed = exchange(
        address, (HEAD + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n").encode()
    )
    assert closed and status(answer) == 400


def test_an_oversized_body_gets_413_with_a_length(served: Any) -> None:
    _, address = served
    size = MAX_BODY_BYTES + 1024
    body = b'{"x": "' + b"a" * (size - 9) + b'"}'
    answer, closed = exchange(
        address, (HEAD + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    )
    assert closed and status(answer) == 413
    document = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert document["__type"] == "RequestEntityTooLargeException"
    assert document["message"] == (
        f"The request body ({len(body)} bytes) exceeds the limit of {MAX_BODY_BYTES} bytes"
    )


def test_an_oversized_body_gets_413_when_chunked(served: Any) -> None:
    _, address = served
    chunk = b"a" * 65536
    chunks = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(MAX_BODY_BYTES // 65536 + 2))
    answer, closed = exchange(
        address, (HEAD + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n"
    )
    assert closed and status(answer) == 413
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"] == (
        f"The request body exceeds the limit of {MAX_BODY_BYTES} bytes"
    )


def test_a_declared_body_that_never_comes_is_not_waited_for(served: Any) -> None:
    _, address = served
    # More than the limit is declared, nothing sent: answered after a short linger.
    answer, closed = exchange(address, (HEAD + "Content-Length: 999999999999\r\n\r\n").encode())
    assert closed and status(answer) == 413


def test_five_hundred_silent_clients_do_not_stop_a_request(served: Any) -> None:
    process, address = served
    with ExitStack() as stack:
        for _ in range(500):
            stack.enter_context(socket.create_connection(address, timeout=30))
        answer = ok_request(address)
        assert status(answer) == 200 and b'"activities"' in answer
        assert threads(process.pid) < 100


def threads(pid: int) -> int:
    """The threads of a process (Linux's /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux /proc")
def test_long_polls_beside_normal_calls(tmp_path: Path) -> None:
    with server(tmp_path) as (process, address):
        url = f"http://{address[0]}:{address[1]}"
        sfn = client(url, read_timeout=120)
        activity = sfn.create_activity(name="idle")["activityArn"]
        answers: list[Any] = []
        poll = threading.Thread(
            target=lambda: answers.append(sfn.get_activity_task(activityArn=activity))
        )
        poll.start()
        # 199 more long polls on raw sockets, each one request waiting on the server.
        body = json.dumps({"activityArn": activity}).encode()
        head = HEAD.replace("ListActivities", "GetActivityTask")
        raw = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        with ExitStack() as stack:
            for _ in range(199):
                sock = stack.enter_context(socket.create_connection(address, timeout=120))
                sock.sendall(raw)
            other = client(url)
            wait_for(
                lambda: other.list_activities()["activities"] and health(address),
                lambda busy: busy == 200,
                seconds=60,
            )
            # Normal calls are answered while 200 polls wait, and no poll holds a thread.
            assert other.describe_activity(activityArn=activity)["name"] == "idle"
            assert status(ok_request(address)) == 200
            assert threads(process.pid) < 100
            poll.join(timeout=100)
            assert not poll.is_alive()
            assert len(answers) == 1 and "taskToken" not in answers[0]


def health(address: tuple[str, int]) -> int:
    answer, _ = exchange(address, b"GET /health HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
    in_progress: int = json.loads(answer.split(b"\r\n\r\n", 1)[1])["requestsInProgress"]
    return in_progress


def test_waiting_polls_get_the_tasks_scheduled_meanwhile(served: Any) -> None:
    _, address = served
    url = f"http://{address[0]}:{address[1]}"
    sfn = client(url, read_timeout=120)
    activity = sfn.create_activity(name="work")["activityArn"]
    task = {"Type": "Task", "Resource": activity, "End": True}
    definition = {"StartAt": "A", "States": {"A": task}}
    arn = sfn.create_state_machine(
        name="uses-work", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    answers: list[Any] = []
    polls = [
        threading.Thread(
            target=lambda: answers.append(
                client(url, read_timeout=120).get_activity_task(activityArn=activity)
            )
        )
        for _ in range(2)
    ]
    for poll in polls:
        poll.start()
    # The polls wait before any task exists; then two executions schedule one each.
    wait_for(lambda: health(address), lambda busy: busy == 2, seconds=60)
    inputs = {json.dumps({"n": n}) for n in (1, 2)}
    for text in inputs:
        sfn.start_execution(stateMachineArn=arn, input=text)
    wait_for(lambda: len(answers), lambda done: done == 2, seconds=60)
    assert sorted(json.loads(answer["input"])["n"] for answer in answers) == [1, 2]
    for answer in answers:
        sfn.send_task_success(taskToken=answer["taskToken"], output="{}")
    for poll in polls:
        poll.join(timeout=100)
    assert not any(poll.is_alive() for poll in polls)
    assert len({answer["taskToken"] for answer in answers}) == 2
