"""``stepfn server`` as a process: it serves, answers /health, stops gracefully on
SIGTERM (requests in progress finish, long polls end at once), keeps its executions
across a restart, runs activities, task tokens and map runs, and checks signatures with
``--auth sigv4``. What goes through the store runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

import pg  # tests/pg.py, put on the path by conftest.py

from .helpers import (
    KEY_ID,
    PASS,
    ROLE,
    SECRET,
    STORES,
    WAIT_LONG,
    client,
    finished,
    start_server,
    wait_for,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
TARGET = {"X-Amz-Target": "AWSStepFunctions.ListActivities"}


@contextmanager
def server_process(db: Path | str, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``stepfn server`` on a free port; (process, endpoint URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stepfn", "server", "--db", str(db), "--port", "0", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("stepfn server on http://"), line
        yield process, line.split()[3]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit status and what the server said on stderr."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


@pytest.mark.parametrize("store_kind", STORES)
def test_health_then_sigterm_lets_a_long_poll_finish(store_kind: str, tmp_path: Path) -> None:
    with server_process(pg.store_url(store_kind, tmp_path)) as (process, url):
        assert health(url) == {"status": "ok", "requestsInProgress": 0}
        sfn = client(url, read_timeout=120)
        activity = sfn.create_activity(name="idle")["activityArn"]
        answers: list[Any] = []
        poll = threading.Thread(
            target=lambda: answers.append(sfn.get_activity_task(activityArn=activity))
        )
        poll.start()
        # Stop only once the poll is in progress: the server then has a request to finish.
        wait_for(lambda: health(url)["requestsInProgress"], lambda busy: busy == 1)
        status, err = stop(process)
        poll.join(timeout=60)
        assert status == 0 and "stepfn server stopped" in err
        assert not poll.is_alive()
        assert len(answers) == 1 and "taskToken" not in answers[0]


@pytest.mark.parametrize("store_kind", STORES)
def test_executions_survive_a_restart(store_kind: str, tmp_path: Path) -> None:
    db = pg.store_url(store_kind, tmp_path)
    with server_process(db) as (process, url):
        sfn = client(url)
        arn = sfn.create_state_machine(name="keep", definition=json.dumps(WAIT_LONG), roleArn=ROLE)[
            "stateMachineArn"
        ]
        waiting = sfn.start_execution(stateMachineArn=arn, name="waiting")["executionArn"]
        assert stop(process)[0] == 0
    with server_process(db) as (process, url):
        sfn = client(url)
        assert sfn.describe_execution(executionArn=waiting)["status"] == "RUNNING"
        sfn.stop_execution(executionArn=waiting)
        assert stop(process)[0] == 0


@pytest.mark.parametrize("store_kind", STORES)
def test_activities_task_tokens_and_map_runs(store_kind: str, tmp_path: Path) -> None:
    """An activity worker's poll, heartbeat and answer, then a distributed Map of child
    executions, through one server process."""
    with server_process(pg.store_url(store_kind, tmp_path)) as (process, url):
        sfn = client(url, read_timeout=120)
        activity = sfn.create_activity(name="review")["activityArn"]
        children = {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        }
        definition = {
            "StartAt": "Review",
            "States": {
                "Review": {
                    "Type": "Task",
                    "Resource": activity,
                    "HeartbeatSeconds": 60,
                    "Next": "Fan",
                },
                "Fan": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": children,
                    "End": True,
                },
            },
        }
        machine = sfn.create_state_machine(
            name="review", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, name="r1", input='{"n":1}')[
            "executionArn"
        ]
        task = sfn.get_activity_task(activityArn=activity, workerName="reviewer")
        assert json.loads(task["input"]) == {"n": 1}
        token = task["taskToken"]
        sfn.send_task_heartbeat(taskToken=token)
        sfn.send_task_success(taskToken=token, output='{"items":[1,2,3]}')
        with pytest.raises(ClientError) as again:  # answered once
            sfn.send_task_success(taskToken=token, output="{}")
        assert again.value.response["Error"]["Code"] == "TaskTimedOut"
        done = finished(sfn, arn)
        assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == [1, 2, 3]
        events = sfn.get_execution_history(executionArn=arn)["events"]
        started = [
            e["activityStartedEventDetails"] for e in events if e["type"] == "ActivityStarted"
        ]
        assert started == [{"workerName": "reviewer"}]
        (run,) = sfn.list_map_runs(executionArn=arn)["mapRuns"]
        counts = sfn.describe_map_run(mapRunArn=run["mapRunArn"])["itemCounts"]
        assert (counts["succeeded"], counts["total"]) == (3, 3)
        assert stop(process)[0] == 0


def test_sigv4_from_a_credentials_file(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    )
    with server_process(
        tmp_path / "c.db", "--auth", "sigv4", "--credentials", str(credentials)
    ) as (process, url):
        sfn = client(url)
        arn = sfn.create_state_machine(name="s", definition=json.dumps(PASS), roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        assert finished(sfn, execution)["status"] == "SUCCEEDED"
        with pytest.raises(ClientError) as info:
            client(url, credentials=("AKIDOTHER", "x")).list_state_machines()
        assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert stop(process)[0] == 0


def test_a_missing_credentials_file_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stepfn",
            "server",
            "--db",
            str(tmp_path / "d.db"),
            "--auth",
            "sigv4",
            "--credentials",
            str(tmp_path / "nope"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 1
    assert "--auth sigv4: cannot read" in result.stderr


def test_drain_closes_idle_connections_and_refuses_new_ones(tmp_path: Path) -> None:
    live = start_server(tmp_path)
    parts = urlsplit(live.url)
    idle = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        idle.request("POST", "/", body=b"{}", headers=TARGET)
        assert idle.getresponse().read()  # the connection stays open (keep-alive)
        assert live.server.drain(10) is True
    finally:
        live.engine.close()
    with pytest.raises(OSError):  # refused: nothing listens any more
        live.post(b"", None, method="GET", path="/health")
    try:
        with pytest.raises((OSError, http.client.HTTPException)):  # closed by the drain
            idle.request("POST", "/", body=b"{}", headers=TARGET)
            idle.getresponse()
    finally:
        idle.close()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "warned"),
    [
        (["--port", "0", "--host", "0.0.0.0"], True),
        (["--port", "0", "--host", "127.0.0.1"], False),
        (["--port", "0", "--host", "localhost"], False),
    ],
)
def test_listening_beyond_loopback_without_auth_warns(
    tmp_path: Path, args: list[str], warned: bool
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stepfn", "server", "--db", str(tmp_path / "w.db"), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        said = []
        while not (said and said[-1].startswith("stepfn server on http://")):
            line = process.stderr.readline()
            assert line, said  # the server ended before it listened
            said.append(line)
        port = urlsplit(said[-1].split()[3]).port
        # The process that printed the port is the one answering on it.
        assert health(f"http://127.0.0.1:{port}")["status"] == "ok"
        status, _ = stop(process)
        assert status == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
    warnings = [line for line in said if line.startswith("warning:")]
    assert bool(warnings) is warned, said
    if warned:
        assert "without authentication" in warnings[0] and "0.0.0.0" in warnings[0]


def test_the_server_serves_the_console_on_the_same_port(tmp_path: Path) -> None:
    with server_process(tmp_path / "c.db") as (process, url):
        sfn = client(url)
        arn = sfn.create_state_machine(name="shown", definition=json.dumps(PASS), roleArn=ROLE)[
            "stateMachineArn"
        ]
        with urllib.request.urlopen(url + "/", timeout=30) as answer:  # redirected
            page = answer.read().decode()
            assert answer.url.endswith("/console/")
        assert "shown" in page and "<html" in page.lower()
        with urllib.request.urlopen(url + "/console/?format=json", timeout=30) as answer:
            listed = json.loads(answer.read())
        assert arn in json.dumps(listed)
        # The same process answers both: its /health counts the requests it serves.
        with urllib.request.urlopen(url + "/health", timeout=30) as answer:
            health = json.loads(answer.read())
        assert health["status"] == "ok"
        assert process.poll() is None


def test_with_sigv4_the_console_asks_for_the_access_keys(tmp_path: Path) -> None:
    keys = tmp_path / "credentials"
    keys.write_text(f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    with server_process(tmp_path / "c.db", "--auth", "sigv4", "--credentials", str(keys)) as (
        _,
        url,
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/console/", timeout=30)
        refused.value.close()
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"].startswith("Basic")
        import base64

        good = base64.b64encode(f"{KEY_ID}:{SECRET}".encode()).decode()
        request = urllib.request.Request(
            url + "/console/", headers={"Authorization": f"Basic {good}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200
        bad = base64.b64encode(f"{KEY_ID}:wrong".encode()).decode()
        request = urllib.request.Request(
            url + "/console/", headers={"Authorization": f"Basic {bad}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        refused.value.close()
        assert refused.value.code == 401


def test_server_function_option_registers_code_the_lambda_api_lists(tmp_path: Path) -> None:
    from .test_lambda_api import lambda_client

    code = tmp_path / "fn"
    code.mkdir()
    (code / "index.mjs").write_text("export const handler = async (e) => ({ esm: e });\n")
    with server_process(tmp_path / "f.db", "--function", f"esm={code}") as (process, url):
        lam = lambda_client(url)
        listed = lam.list_functions()["Functions"]
        assert [(f["FunctionName"], f["Runtime"]) for f in listed] == [("esm", "nodejs20.x")]
        answer = lam.invoke(FunctionName="esm", Payload=b'{"a": 1}')
        assert json.loads(answer["Payload"].read()) == {"esm": {"a": 1}}
        lam.close()
        assert stop(process)[0] == 0


def test_server_function_option_with_bad_code_exits_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "stepfn", "server", "--db", str(tmp_path / "g.db"), "--port", "0",
         "--function", f"bad={tmp_path / 'empty'}:nodejs20.x"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "there is no index.js in it" in done.stderr and "Traceback" not in done.stderr
