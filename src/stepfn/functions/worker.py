"""One worker process: a warm sandbox of one function version, running one call at a time.

A worker is a Python interpreter running ``python_bootstrap.py`` or ``node`` running
``node/bootstrap.mjs``, both speaking the same length-prefixed framing on their stdin
and stdout (see the bootstraps). A reader thread per worker waits on its stdout and hands
each response (or the worker's end) to the pool; nothing else waits on a worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from stepfn.functions.model import FunctionConfig

HERE = Path(__file__).resolve().parent
PYTHON_BOOTSTRAP = HERE / "python_bootstrap.py"
NODE_BOOTSTRAP = HERE / "node" / "bootstrap.mjs"
MIN_NODE_MAJOR = 18

# Variables of the host passed on to functions: what a process needs to run at all,
# and the credentials and endpoint a handler's AWS SDK should use (Lambda gives a
# function its role's credentials the same way).
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "TMPDIR",
    "SYSTEMROOT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STEPFUNCTIONS",
    "AWS_ENDPOINT_URL_LAMBDA",
)


class RuntimeUnavailable(RuntimeError):
    """The runtime a function needs is missing on this machine (e.g. no node >= 18)."""


@lru_cache(maxsize=4)
def node_executable(explicit: str | None = None) -> str:
    """The ``node`` to run Node functions with, checked to be 18 or later."""
    node = explicit or os.environ.get("STEPFN_NODE") or shutil.which("node")
    if not node:
        raise RuntimeUnavailable(
            "Node.js functions need the 'node' command (version 18 or later) on PATH; "
            "none was found (set STEPFN_NODE to its path)"
        )
    try:
        text = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeUnavailable(f"Could not run '{node} --version': {exc}") from None
    match = re.match(r"v?(\d+)", text)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        raise RuntimeUnavailable(
            f"Node.js functions need node {MIN_NODE_MAJOR} or later; '{node}' is {text or '?'}"
        )
    return node


def log_stream_name(version: str) -> str:
    """A log stream name as Lambda gives each sandbox: ``YYYY/MM/DD/[VERSION]HEX``."""
    day = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{secrets.token_hex(16)}"


def environment(
    config: FunctionConfig,
    *,
    region: str,
    stream: str,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A worker's environment: the host's basics, the function's, then AWS's reserved."""
    host = os.environ if base is None else base
    env = {key: host[key] for key in PASSED_THROUGH if key in host}
    if base is not None:
        env.update(base)
    env.update(config.environment)
    task_root = str(Path(config.code_path).resolve())
    runtime_dir = str(NODE_BOOTSTRAP.parent if config.is_node else HERE)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(config.timeout)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "_HANDLER": config.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
    )
    if config.is_node:
        paths = [str(Path(task_root) / "node_modules"), task_root]
        if env.get("NODE_PATH"):
            paths.append(env["NODE_PATH"])
        env["NODE_PATH"] = os.pathsep.join(paths)
    return env


def command(config: FunctionConfig, node: str | None = None) -> list[str]:
    """The command line of a worker of this function."""
    if config.is_node:
        return [node_executable(node), str(NODE_BOOTSTRAP)]
    return [sys.executable, "-X", "utf8", str(PYTHON_BOOTSTRAP)]


# (worker, frame) -> None; frame is None when the worker's stdout ended.
FrameSink = Callable[["Worker", "Frame | None"], None]


class Frame:
    """A response frame read from a worker."""

    __slots__ = ("body", "kind", "log", "memory_mb", "status")

    def __init__(self, kind: str, status: int, body: bytes, log: bytes, memory_mb: int) -> None:
        self.kind = kind  # "init" or "result"
        self.status = status
        self.body = body
        self.log = log
        self.memory_mb = memory_mb


class Worker:
    """A running worker process and the thread that reads its answers."""

    def __init__(
        self,
        config: FunctionConfig,
        sink: FrameSink,
        *,
        region: str,
        base_environment: Mapping[str, str] | None = None,
        node: str | None = None,
    ) -> None:
        self.config = config
        self.stream = log_stream_name(config.version)
        self.started = time.monotonic()
        self.last_used = self.started
        self.init_ms: float | None = None  # set when the init frame arrives
        self.ready_at = self.started
        self.invocation: Any = None  # the pool's record of the call in progress
        self.dead = False
        self._sink = sink
        env = environment(config, region=region, stream=self.stream, base=base_environment)
        self.process = subprocess.Popen(
            command(config, node),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=env["LAMBDA_TASK_ROOT"],
            env=env,
            bufsize=1 << 16,
            close_fds=True,
            # Its own process group: a timeout kills what the handler started, too.
            start_new_session=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin: IO[bytes] = self.process.stdin
        self._stdout: IO[bytes] = self.process.stdout
        self._reader = threading.Thread(
            target=self._read, name=f"stepfn-fn-{config.name}", daemon=True
        )
        self.init_error: bytes | None = None
        self.served = 0

    def start(self) -> None:
        """Start reading the worker's answers (after the pool has recorded it)."""
        self._reader.start()

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def send(self, request_id: str, invoked_arn: str, remaining_ms: int, payload: bytes) -> bool:
        """Write one request; False when the worker's stdin is already closed."""
        header = b"%s %s %d %d\n" % (
            request_id.encode(),
            invoked_arn.encode(),
            remaining_ms,
            len(payload),
        )
        try:
            self._stdin.write(header)
            self._stdin.write(payload)
            self._stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False  # the reader sees the end and reports it
        return True

    def kill(self) -> None:
        """Kill the worker and whatever it started (idempotent)."""
        self.dead = True
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        except OSError:
            self.process.kill()

    def stop(self) -> None:
        """Close the worker's stdin so it ends by itself, then make sure it does."""
        self.dead = True
        with contextlib.suppress(OSError):
            self._stdin.close()
        self.kill()

    def exit_description(self) -> str:
        """How the process ended, as Lambda words it (``exit status 1``, ``signal: killed``)."""
        code = self.process.wait()
        if code >= 0:
            return f"exit status {code}"
        name = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated"}.get(
            signal.Signals(-code), signal.Signals(-code).name.lower().removeprefix("sig")
        )
        return f"signal: {name}"

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader thread to finish (after the process ended)."""
        if self._reader.is_alive() and threading.current_thread() is not self._reader:
            self._reader.join(timeout)

    def _read(self) -> None:
        stream = self._stdout
        readline, read = stream.readline, stream.read
        try:
            header = readline()
            if header.startswith(b"I "):
                _, status, size = header.split()
                self.ready_at = time.monotonic()
                self.init_ms = (self.ready_at - self.started) * 1000
                body = _read_exact(read, int(size))
                self._sink(self, Frame("init", int(status), body, b"", 0))
                header = readline()
            while header:
                status, size, log_size, memory = header.split()
                body = _read_exact(read, int(size))
                log = _read_exact(read, int(log_size))
                self._sink(self, Frame("result", int(status), body, log, int(memory)))
                header = readline()
        except (OSError, ValueError):
            pass  # a torn frame: the worker died mid-answer
        finally:
            self.dead = True
            with contextlib.suppress(OSError):
                stream.close()
            self.process.wait()
            with contextlib.suppress(OSError):
                self._stdin.close()
            self._sink(self, None)


def _read_exact(read: Callable[[int], bytes], size: int) -> bytes:
    if size == 0:
        return b""
    data = read(size)
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = read(size - got)
        if not more:
            raise ValueError("the worker's answer ended early")
        parts.append(more)
        got += len(more)
    return b"".join(parts)
