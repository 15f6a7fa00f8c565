"""The console served by uvicorn on a free port, in a thread of the test process."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette

from stepfn.console.app import console_routes
from stepfn.service.engine import Engine


@dataclass
class Served:
    """A running console: its base URL, CSRF token and engine."""

    url: str
    token: str
    engine: Engine

    def client(self) -> httpx.Client:
        """An HTTP client of the console that follows no redirects."""
        return httpx.Client(base_url=self.url, timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(engine: Engine) -> Iterator[Served]:
    """Serve the console over ``engine`` until the block ends."""
    token = secrets.token_urlsafe(16)
    app = Starlette(routes=console_routes(engine, token=token))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the console did not start on port {port}")
        time.sleep(0.02)
    served = Served(f"http://127.0.0.1:{port}", token, engine)
    # The server answering is this one: it knows this engine's state machines.
    marker = f"probe-{secrets.token_hex(4)}"
    engine.create_state_machine(
        name=marker,
        definition='{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}',
        roleArn="arn:aws:iam::123456789012:role/probe",
    )
    answer = httpx.get(served.url + "/console/", timeout=10)
    assert marker in answer.text, "another server answers on the console's port"
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "the console's server did not stop"
