"""Driving the Order Processing System's functions from tests: Python handlers imported and
called, Node handlers run by a real ``node`` process, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "order_processing"
FUNCTIONS = APP / "functions"
HARNESS = Path(__file__).with_name("node_harness.js")
NODE_FUNCTIONS = {"validate_order", "process_payment"}
PYTHON_FUNCTIONS = {
    "prepare_shipment",
    "notify_customer",
    "notify_support",
    "log_error",
    "release_stock",
}

if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

_modules: dict[str, ModuleType] = {}
_install_lock = threading.Lock()


class NodeFunctionError(Exception):
    """A Node handler threw: ``error_type`` is the error's name, as Lambda reports it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def ensure_node_modules() -> None:
    """``npm ci`` in the functions folder when its dependencies are not installed yet."""
    with _install_lock:
        if (FUNCTIONS / "node_modules" / "better-sqlite3" / "build" / "Release").is_dir():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not on PATH: the Node functions need it to install")
        env = dict(os.environ)
        node = shutil.which("node")
        if "npm_config_nodedir" not in env and node is not None:
            # node-gyp would fetch Node's headers from the internet; a system Node has them
            # beside it (PREFIX/include/node), and npm's own config, if set, still wins.
            prefix = Path(node).resolve().parents[1]
            if (prefix / "include" / "node" / "node.h").exists():
                configured = subprocess.run(
                    [npm, "config", "get", "nodedir"], capture_output=True, text=True, check=False
                ).stdout.strip()
                if configured in ("", "undefined", "null"):
                    env["npm_config_nodedir"] = str(prefix)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FUNCTIONS, env=env, check=True)


def python_handler(name: str) -> Any:
    """The ``handler`` of ``functions/NAME/handler.py``, imported once under its own name."""
    module = _modules.get(name)
    if module is None:
        path = FUNCTIONS / name / "handler.py"
        spec = importlib.util.spec_from_file_location(f"orders_function_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[name] = module
    return module.handler


def run_node(name: str, event: Any) -> Any:
    """Run ``functions/NAME/index.js``'s handler once in a new ``node`` process."""
    return run_node_file(FUNCTIONS / name / "index.js", event)


def run_node_file(path: Path, event: Any) -> Any:
    """Run the ``handler`` export of the Node file ``path`` once in a new ``node`` process."""
    name = path.parent.name
    done = subprocess.run(
        ["node", str(HARNESS), str(path)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"node {name} exited {done.returncode}: {done.stderr}")
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    if "errorType" in reply:
        raise NodeFunctionError(reply["errorType"], reply["errorMessage"])
    return reply["result"]


def call(name: str, event: Any) -> Any:
    """Call function NAME (Node or Python) with ``event``."""
    if name in NODE_FUNCTIONS:
        return run_node(name, event)
    return python_handler(name)(json.loads(json.dumps(event)), None)


def node_as_python(name: str, path: Path | None = None) -> Any:
    """A Python ``handler(event, context)`` for ``stepfn.run`` that runs the Node handler.

    A Node error is raised as an exception whose class is named after the error, since
    ``stepfn.run`` names a Python handler's failure after its exception's class.
    """

    def handler(event: Any, context: Any) -> Any:
        try:
            return run_node_file(path or FUNCTIONS / name / "index.js", event)
        except NodeFunctionError as exc:
            raise type(exc.error_type, (Exception,), {})(str(exc)) from None

    return handler


def all_functions() -> dict[str, Any]:
    """Every function of the app, by the name its Lambda ARN ends with."""
    functions = {name: node_as_python(name) for name in NODE_FUNCTIONS}
    functions.update({name: python_handler(name) for name in PYTHON_FUNCTIONS})
    return functions


def free_port() -> int:
    """A TCP port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """What a test SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    def to(self, address: str) -> list[Message]:
        """The messages whose envelope named ``address``."""
        return [
            m for m, rcpts in zip(self.messages, self.recipients, strict=True) if address in rcpts
        ]


class _Collect:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.inbox.messages.append(message_from_bytes(envelope.original_content))
        self.inbox.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free port, with a name of its own to check."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = free_port()
        self.name = f"orders-test-{uuid.uuid4().hex[:8]}.invalid"
        self.controller = Controller(
            _Collect(self.inbox), hostname="127.0.0.1", port=self.port, server_hostname=self.name
        )

    def start(self) -> None:
        """Start it and check that the server answering the port is this one."""
        import smtplib

        self.controller.start()
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            code, banner = smtp.ehlo()
        if code != 250 or self.name not in banner.decode():
            self.controller.stop()
            raise RuntimeError(f"another server answers port {self.port}: {banner!r}")

    def stop(self) -> None:
        """Stop it (its port is refused from then on)."""
        self.controller.stop()


def query(data_dir: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    """Rows from the app's database, read on a connection of the test's own."""
    conn = sqlite3.connect(data_dir / "orders.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
