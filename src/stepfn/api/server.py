"""The HTTP server of the API: uvicorn with its httptools protocol on uvloop, serving
``asgi.build_app``.

Why uvicorn, httptools and uvloop: a well-kept server whose HTTP/1.1 framing is llhttp's
(Node's parser, through httptools), which is strict (a malformed chunk size, a chunk not
followed by CRLF, a bad Content-Length, both Content-Length and Transfer-Encoding: ``400``
and the connection closed), on one event loop: idle connections and long polls hold no
thread. httptools and uvloop rather than h11 and asyncio's own loop, by measurement
(``bench/http_transport.py``): h11 parses in Python, and with a thread hop per call the
pure-Python loop and parser were most of a small call's cost; the two C libraries roughly
doubled both calls' rates, to 0.7-1.0x the hand-written transport's (StartExecution is
bound by the store's group commit, not by the transport).
Where uvloop is missing (it has no Windows build) asyncio's loop serves.

Limits: at most ``LIMIT_CONCURRENCY`` connections and requests at once (``503``
beyond); a request head must arrive whole within ``HEAD_SECONDS`` of the connection or
of the previous answer (uvicorn has no such deadline of its own: a client that connects
and sends nothing would hold its connection for ever); an idle keep-alive connection
closes after ``KEEP_ALIVE_SECONDS``; a request line and headers of more than ``MAX_HEAD``
bytes answer ``431`` and close (httptools has no limit of its own).

Graceful shutdown (``drain``): no new connections, idle ones closed, requests in
progress finish (long polls are cut short) and their connections then close; after
``timeout`` seconds what is left is cancelled. Signals are the caller's (``stepfn
server`` installs its own handlers), not uvicorn's.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httptools
import uvicorn
from starlette.routing import BaseRoute
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from stepfn.api.app import CONTENT_TYPE, Api, Authenticator, error_document
from stepfn.api.asgi import MAX_BODY_BYTES, THREADS, AwsJson, build_app

LIMIT_CONCURRENCY = 2000
HEAD_SECONDS = 20.0
KEEP_ALIVE_SECONDS = 15.0
MAX_HEAD = 65536
BACKLOG = 2048
SWITCH_SECONDS = 0.001

__all__ = ["MAX_BODY_BYTES", "Server"]


class _Corked:
    """A transport whose writes within one turn of the event loop leave in one send:
    uvicorn writes an answer's head and body apart, and each send is a system call."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _HeadTooLarge(Exception):
    """A request line and headers longer than ``MAX_HEAD``."""


def _refusal(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole answer refusing a request that could not be read, closing its connection."""
    body = json.dumps(error_document(code, message)).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {CONTENT_TYPE}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class _Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for each request
    head (see the module), and its writes corked (``_Corked``)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # see _listen
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = _Corked(transport, self.loop)  # type: ignore[assignment]
        self._head_bytes = 0
        self._too_large = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head()

    def _arm_head(self) -> None:
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()

    def _disarm_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD:
            self._too_large = True
            raise _HeadTooLarge()  # httptools stops parsing: see data_received

    def data_received(self, data: bytes) -> None:
        # uvicorn's own answers "Invalid HTTP request received."; this one says what
        # llhttp found wrong (the framing rules are in its messages).
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()  # no WebSocket here
        except httptools.HttpParserError as exc:
            if self._too_large:
                answer = _refusal(
                    431,
                    "Request Header Fields Too Large",
                    "RequestHeaderFieldsTooLarge",
                    f"The request line and headers exceed the limit of {MAX_HEAD} bytes",
                )
            else:
                answer = _refusal(
                    400, "Bad Request", "BadRequest", f"Malformed HTTP request: {exc}"
                )
            self.transport.write(answer)
            self.transport.close()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_head()  # a request's head arrived whole

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._disarm_head()
            self._arm_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head()
        super().connection_lost(exc)


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, leaving signals to the caller and telling whether the last
    shutdown ended every request in time."""

    graceful = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def _wait_tasks_to_complete(self) -> None:
        self.graceful = False
        await super()._wait_tasks_to_complete()
        self.graceful = True


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (see the module), else asyncio's."""
    if importlib.util.find_spec("uvloop") is None:
        return None
    import uvloop

    return uvloop.new_event_loop


def _listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets that say they
    # are TCP, and without it an answer written in two parts waits ~40 ms (Nagle's
    # algorithm against the client's delayed acknowledgement).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """The API's HTTP server.

    Args:
        engine: the Engine to serve (ignored when ``api`` is given).
        host: the address to listen on.
        port: the port (0 picks a free one; see ``url``).
        auth: checks each request's credentials (``sigv4.SigV4``); None accepts any.
        api: a ready ``Api`` (to share one, or to serve a test double).
        max_body: the largest request body accepted, in bytes.
        routes: more Starlette routes (see ``asgi.build_app``).
        threads: how many blocking Engine calls run at once.
        limit_concurrency: connections and requests at once before answering 503.

    The socket is bound here (an ``OSError`` when it cannot be); ``serve_forever`` or
    ``start_background`` serve it until ``drain``.
    """

    def __init__(
        self,
        engine: Any,
        host: str = "127.0.0.1",
        port: int = 8083,
        *,
        auth: Authenticator | None = None,
        api: Api | None = None,
        max_body: int = MAX_BODY_BYTES,
        routes: Sequence[BaseRoute] = (),
        threads: int = THREADS,
        limit_concurrency: int = LIMIT_CONCURRENCY,
    ) -> None:
        self.app = build_app(
            engine, auth=auth, api=api, routes=routes, max_body=max_body, threads=threads
        )
        self.endpoint: AwsJson = self.app.state.aws_json
        self.socket = _listen(host, port)
        self.server_address = self.socket.getsockname()[:2]
        self.config = uvicorn.Config(
            self.app,
            http=_Protocol,
            loop="none",  # serve_forever makes the loop (_loop_factory)
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            limit_concurrency=limit_concurrency,
            timeout_keep_alive=int(KEEP_ALIVE_SECONDS),
            backlog=BACKLOG,
        )
        self._uvicorn = _Uvicorn(self.config)
        self.lock = threading.Lock()
        self.draining = False
        self._serving = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stopped = threading.Event()

    @property
    def api(self) -> Api:
        """The ``Api`` answering (it may be replaced while serving)."""
        return self.endpoint.api

    @api.setter
    def api(self, api: Api) -> None:
        self.endpoint.api = api

    @property
    def max_body(self) -> int:
        """The largest request body accepted, in bytes (may be changed while serving)."""
        return self.endpoint.max_body

    @max_body.setter
    def max_body(self, limit: int) -> None:
        self.endpoint.max_body = limit

    @property
    def url(self) -> str:
        """The endpoint URL to give an SDK."""
        host, port = str(self.server_address[0]), self.server_address[1]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until ``drain`` (``poll_interval`` is ignored: kept for callers of the
        ``socketserver`` interface)."""
        with self.lock:
            if self.draining or self._serving:
                return
            self._serving = True
        # Each call needs the interpreter lock on two threads (the event loop, then a pool
        # thread): with the default 5 ms switch interval, a thread waiting for it while
        # another computes waits that long. 1 ms: StartExecution ~1.3x (bench/http_transport.py).
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_SECONDS))
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._serve())
        finally:
            sys.setswitchinterval(switch)
            self._stopped.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started.set()
        await self._uvicorn.serve(sockets=[self.socket])

    def start_background(self) -> threading.Thread:
        """Serve in a daemon thread (tests and embedding); ``drain`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="stepfn-api", daemon=True)
        thread.start()
        self._started.wait(10)
        return thread

    def drain(self, timeout: float = 30.0) -> bool:
        """Stop gracefully: no new connections, in-flight requests finish.

        Must not run on the thread of ``serve_forever``. Returns True when every
        request ended within ``timeout`` seconds (the rest are then cancelled).
        """
        with self.lock:
            self.draining = True
            serving = self._serving
        self.api.draining = True
        stop_polling = getattr(self.api.engine, "stop_polling", None)
        if callable(stop_polling):
            stop_polling()  # blocking long polls of an Engine without claim_activity_task
        if not serving:
            self.server_close()
            return True
        self._started.wait(10)
        self.config.timeout_graceful_shutdown = max(1, round(timeout))
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(self._begin_drain)
        self._stopped.wait(timeout + 10)
        return self._stopped.is_set() and self._uvicorn.graceful

    def _begin_drain(self) -> None:
        self.endpoint.polls.stop()
        self._uvicorn.should_exit = True

    def shutdown(self) -> None:
        """Stop serving (as ``drain``, with a short timeout)."""
        self.drain(5)

    def server_close(self) -> None:
        """Close the listening socket (done by ``drain`` when serving)."""
        self.socket.close()
