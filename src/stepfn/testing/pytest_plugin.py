"""The pytest plugin of stepfn (entry point ``pytest11: stepfn``): fixtures for tests of
state machines.

* ``stepfn_server``: a real ``stepfn server`` process on a free port, with a fresh store
  in the test's temporary directory and instant time (``--wait-time-scale 0``). It has
  ``.endpoint_url`` and ``.client()``, a boto3 Step Functions client for it, and
  ``.wait_for_end(execution_arn)`` (from its status-change events). Its Lambda
  functions and mock file come from the test's marker::

      @pytest.mark.stepfn_server(functions={"charge": "billing:handler"},
                                 mock_config="tests/MockConfigFile.json")
      def test_charge(stepfn_server): ...

  (a function may also be given as a module-level callable).
  Once two tests have asked for servers started alike, the next such server is
  started in the background while the test before it runs (a fresh process and store
  all the same): a suite of short tests spends less of its time waiting for servers.
* ``stepfn_server_factory``: starts servers with other options in one test
  (``stepfn_server_factory(functions=..., mock_config=..., wait_time_scale=...)``;
  ``clock="virtual"``: time stands still until ``server.advance(seconds)``).
* ``stepfn_engine``: an in-process ``Engine`` on a virtual clock (drive it with
  ``run_until_idle()``), with the marker's functions (callables) and mock file.

The helpers ``states_entered``, ``state_input`` and ``state_output``
(``stepfn.testing.history``) read the histories these give.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 30.0  # seconds a server may take to answer /health
MARKER = "stepfn_server"


class StepfnServer:
    """A ``stepfn server`` process that this test session started."""

    def __init__(
        self,
        directory: Path,
        *,
        functions: Mapping[str, Any] | None = None,
        mock_config: str | os.PathLike[str] | None = None,
        wait_time_scale: float = 0.0,
        clock: str = "real",
        extra_args: tuple[str, ...] = (),
        ready: bool = True,
    ) -> None:
        """Start the process; ``ready=False`` returns at once (``wait_ready`` later)."""
        self.directory = directory
        self.port = _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        args = [
            sys.executable,
            "-m",
            "stepfn",
            "server",
            "--db",
            str(directory / "stepfn.db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(
                ("--clock", "virtual")
                if clock == "virtual"
                else ("--wait-time-scale", repr(float(wait_time_scale)))
            ),
            "--status-events",
            str(directory / "status-events.jsonl"),
            *extra_args,
        ]
        for name, handler in (functions or {}).items():
            args += ["--function", f"{name}={_handler_spec(handler)}"]
        if mock_config is not None:
            args += ["--mock-config", str(mock_config)]
        env = dict(os.environ)
        # The server imports handlers as this process does (test modules included).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.log: list[str] = []
        self.launched = time.monotonic()  # when the process started (time.monotonic)
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True, name="stepfn-log")
        self._reader.start()
        if ready:
            self.wait_ready()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip("\n"))

    def wait_ready(self) -> None:
        """Return once this process answers ``/health`` on its port; raise RuntimeError
        (with its log) when it exits or does not answer within ``START_TIMEOUT``."""
        banner = f"stepfn server on {self.endpoint_url}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"stepfn server exited with {self.process.returncode}:\n" + "\n".join(self.log)
                )
            # Our process printed that it listens on this port: the answer is from it.
            if any(line.startswith(banner) for line in self.log) and self._healthy():
                return
            time.sleep(0.05)
        self.stop()
        log = "\n".join(self.log)
        raise RuntimeError(f"stepfn server did not start in {START_TIMEOUT:g} s:\n{log}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint_url + "/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def client(self, service: str = "stepfunctions", **options: Any) -> Any:
        """A boto3 client for this server (``stepfunctions`` or ``logs``)."""
        import boto3
        from botocore.config import Config

        settings: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": "us-east-1",
            "aws_access_key_id": "any",
            "aws_secret_access_key": "any",
            # StartSyncExecution and TestState use a host prefix that 127.0.0.1 lacks.
            "config": Config(inject_host_prefix=False, retries={"max_attempts": 0}),
        }
        settings.update(options)
        return boto3.client(service, **settings)

    def advance(self, seconds: float) -> float:
        """Move the time of a ``clock="virtual"`` server forward; the new time (epoch
        seconds). Timers that came due fire."""
        request = urllib.request.Request(
            self.endpoint_url + "/_stepfn/clock",
            data=json.dumps({"advanceSeconds": seconds}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            now: float = json.loads(response.read())["epoch"]
            return now

    def status_events(self) -> list[dict[str, Any]]:
        """The execution status-change events the server sent so far (EventBridge's
        "Step Functions Execution Status Change" shape), oldest first."""
        path = self.directory / "status-events.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def wait_for_end(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """The detail of the status event that ended ``execution_arn``, waiting for it.

        Raises:
            TimeoutError: it did not end within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            for event in self.status_events():
                detail: dict[str, Any] = event["detail"]
                if detail["executionArn"] == execution_arn and detail["status"] != "RUNNING":
                    return detail
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} did not end within {timeout:g} s")
            time.sleep(0.01)

    def stop(self, wait: bool = True) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it does not stop in 10 s).

        ``wait=False`` only sends SIGTERM: the server drains while the next test runs,
        and ``reap_stopping()`` (at the latest, at the end of the session) waits for it.
        """
        if not wait:
            if self.process.poll() is None:
                self.process.terminate()
            _STOPPING.append(self)
            if len(_STOPPING) > MAX_STOPPING:
                reap_stopping()
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


_STOPPING: list[StepfnServer] = []
MAX_STOPPING = 4  # servers left draining at once, at most


def reap_stopping() -> None:
    """Wait for the servers that ``stop(wait=False)`` left stopping."""
    while _STOPPING:
        _STOPPING.pop().stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _handler_spec(handler: Any) -> str:
    """``module:function`` of a handler given as that text or as a module-level callable."""
    if isinstance(handler, str):
        return handler
    module, name = getattr(handler, "__module__", None), getattr(handler, "__qualname__", "")
    if not module or not name or "<" in name or "." in name:
        raise TypeError(f"{handler!r}: give a module-level function or 'module:function'")
    return f"{module}:{name}"


def _resolve(handler: Any) -> Callable[..., Any]:
    if callable(handler):
        return handler
    module, _, attribute = str(handler).partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    return found


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    return dict(marker.kwargs) if marker is not None else {}


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``stepfn_server`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(functions=..., mock_config=..., wait_time_scale=0): "
        "how the stepfn_server and stepfn_engine fixtures start",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every server this session started has stopped before pytest ends."""
    _SPARES.stop()
    reap_stopping()


class _Spares:
    """Servers started ahead of the tests that will ask for them.

    A server takes a second or more to start, most of a short test's time. Once two
    tests of the session have asked for servers with the same options, each later one
    that does gets a server started in the background while the test before it ran,
    and leaves the next one starting (a fresh process and store each time, as without
    spares). Options seen once start no spare: a test with options of its own (a mock
    file in its temporary directory, say) does not pay for a server nobody takes."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._spare: tuple[str, StepfnServer] | None = None

    def take(self, directory: Callable[[], Path], options: dict[str, Any]) -> StepfnServer:
        """A ready server started with ``options`` (in a folder ``directory()`` gives)."""
        key = _options_key(options)
        server = None
        if self._spare is not None:
            spare_key, spare = self._spare
            self._spare = None
            if spare_key == key and spare.process.poll() is None:
                server = spare
            else:
                spare.stop(wait=False)
        if server is None:
            server = StepfnServer(directory(), **options)
        else:
            server.wait_ready()
        if key is not None and key in self._seen:
            self._spare = (key, StepfnServer(directory(), **options, ready=False))
        elif key is not None:
            self._seen.add(key)
        return server

    def stop(self) -> None:
        """Stop the spare nobody took."""
        if self._spare is not None:
            self._spare[1].stop()
            self._spare = None


def _options_key(options: dict[str, Any]) -> str | None:
    """What a server is started with (its options, and the environment and import path
    it inherits: a test may set ``AWS_ENDPOINT_URL`` first) as text, to compare two
    tests' by; None when they cannot be (a handler callable with no module-level name:
    no spare then)."""
    try:
        functions = {n: _handler_spec(h) for n, h in (options.get("functions") or {}).items()}
    except TypeError:
        return None
    started_with = {
        "options": {**options, "functions": functions},
        # (less pytest's name of the running test, which differs from test to test)
        "environment": sorted(i for i in os.environ.items() if i[0] != "PYTEST_CURRENT_TEST"),
        "path": sys.path,
    }
    return json.dumps(started_with, sort_keys=True, default=str)


_SPARES = _Spares()


@pytest.fixture
def stepfn_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start ``stepfn server`` processes (``factory(functions=, mock_config=,
    wait_time_scale=)``), each with a fresh store; all are stopped after the test."""
    servers: list[StepfnServer] = []

    def start(**options: Any) -> StepfnServer:
        server = _SPARES.take(lambda: tmp_path_factory.mktemp("stepfn"), options)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        # A server takes ~0.5 s to drain: let it do that while the next test runs.
        for server in servers:
            server.stop(wait=False)


@pytest.fixture
def stepfn_server(request: pytest.FixtureRequest, stepfn_server_factory: Any) -> StepfnServer:
    """A real ``stepfn server`` on a free port, a fresh store, instant time; its
    functions and mock file from the ``stepfn_server`` marker."""
    server: StepfnServer = stepfn_server_factory(**_marker_options(request))
    return server


@pytest.fixture
def stepfn_engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An in-process ``Engine`` on a virtual clock, with an in-memory store; the
    ``stepfn_server`` marker's functions and mock file apply to it too."""
    from stepfn.clock import VirtualClock
    from stepfn.service.engine import Engine

    options = _marker_options(request)
    functions = {name: _resolve(h) for name, h in (options.get("functions") or {}).items()}
    engine = Engine.open(
        "memory://",
        clock=VirtualClock(),
        functions=functions,
        mock_config=options.get("mock_config"),
    )
    try:
        yield engine
    finally:
        engine.close()
