"""The HTTP transport of the API: HTTP/1.1 with keep-alive, one thread per connection.

Why not ``http.server``: its handler writes the headers and the body of an answer in two
``send`` calls, and with Nagle's algorithm on one side and delayed acknowledgements on
the other every answer then waits ~40 ms (an SDK on keep-alive made 25 calls a second).
It also parses headers with the ``email`` package, which costs more than the rest of a
small request. This transport reads the request line and headers itself, sends each
answer in one write with ``TCP_NODELAY``, and keeps connections open as SDKs expect.

It still uses the standard library only (``socketserver``), one thread per connection:
that suits long polls (GetActivityTask waits up to 60 s) and SDK connection pools.

Limits: request line and each header at most 64 KiB, 100 headers, a body of at most
``MAX_BODY_BYTES`` (``413`` beyond: the connection is then closed after the answer,
reading what the client still sends for a moment so that it gets the answer rather than
a reset). ``Expect: 100-continue`` and chunked bodies are understood.

Graceful shutdown (``drain``): the server stops accepting connections, closes the idle
ones, lets every request in progress finish (long polls are cut short through the
Engine's ``stop_polling``) and answers on each busy connection with ``Connection:
close``; after ``timeout`` seconds what is left is closed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import sys
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from stepfn.api.app import CONTENT_TYPE, Api, Authenticator, Request, Response, error_document

log = logging.getLogger("stepfn.api")

# Large enough for any request whose members are within the model's limits: a
# definition of 1,048,576 characters, each JSON-escaped to six bytes, is 6 MiB.
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_LINE = 65536
MAX_HEADERS = 100
IDLE_SECONDS = 300.0  # a keep-alive connection with no request for this long is closed
LINGER_SECONDS = 2.0


class BadRequest(Exception):
    """A request that is not HTTP we can read; answered, then the connection closes."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_REASONS = {status.value: status.phrase for status in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    # One Date header per second is enough; formatting it for every answer is not free.
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class _Connection(socketserver.StreamRequestHandler):
    """One client connection: its requests, one after another."""

    server: Server
    timeout = IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.busy = False

    def handle(self) -> None:
        if not self.server.register(self):
            return
        try:
            while True:
                try:
                    line = self.rfile.readline(MAX_LINE + 1)
                except OSError:
                    return  # closed by the client, by idleness or by a drain
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue  # a stray line break between requests is allowed
                with self.server.lock:
                    draining = self.server.draining
                    self.busy = True
                try:
                    keep = self._one(line, draining)
                finally:
                    with self.server.lock:
                        self.busy = False
                if not keep or self.server.draining:
                    return
        finally:
            self.server.unregister(self)

    def close_idle(self) -> None:
        """Wake this connection's thread out of its read (a drain)."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- one request -------------------------------------------------------------------------

    def _one(self, line: bytes, draining: bool) -> bool:
        """Read and answer one request; whether the connection stays open."""
        try:
            method, target, version, headers = self._head(line)
        except BadRequest as exc:
            self._send(exc.status, error_document(exc.code, exc.message), [], keep=False)
            return False
        except OSError:
            return False
        if draining:
            # The server stops: answer without running anything (SDKs retry a 503).
            self._send(
                503,
                error_document("ServiceUnavailable", "The server is shutting down"),
                [],
                keep=False,
            )
            return False
        try:
            body = self._body(headers)
        except BadRequest as exc:
            self._send(exc.status, error_document(exc.code, exc.message), [], keep=False)
            self._linger(headers)
            return False
        except OSError:
            return False
        try:
            response = self.server.api.handle(Request(method, target, headers, body))
        except Exception:  # the application answers its own errors; this is a last guard
            log.exception("internal error answering %s %s", method, target)
            response = Response(
                500,
                error_document(
                    "InternalFailure",
                    "The request processing has failed because of an unknown error",
                ),
            )
        keep = self._keep_alive(version, headers) and not self.server.draining
        try:
            self._send(
                response.status,
                response.document,
                response.headers,
                keep=keep,
                content_type=response.content_type,
                body=response.body(),
            )
        except OSError:
            return False
        return keep

    def _head(self, line: bytes) -> tuple[str, str, str, dict[str, str]]:
        if len(line) > MAX_LINE:
            raise BadRequest(414, "RequestURITooLong", "The request line is too long")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(400, "BadRequest", "Not an HTTP/1.x request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE:
                raise BadRequest(431, "RequestHeaderFieldsTooLarge", "A header is too long")
            if not raw:
                raise OSError("the client closed the connection within the headers")
            if raw in (b"\r\n", b"\n"):
                return method, target, version, headers
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest(400, "BadRequest", f"Malformed header line: {name[:80]!r}")
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        raise BadRequest(431, "RequestHeaderFieldsTooLarge", "Too many headers")

    @staticmethod
    def _keep_alive(version: str, headers: dict[str, str]) -> bool:
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    def _body(self, headers: dict[str, str]) -> bytes:
        limit = self.server.max_body
        encoding = headers.get("transfer-encoding", "").lower()
        if encoding and encoding != "identity":
            if encoding != "chunked":
                raise BadRequest(501, "NotImplemented", f"Transfer-Encoding {encoding!r}")
            self._continue(headers)
            return self._chunked(limit)
        text = headers.get("content-length", "0") or "0"
        if not text.isdigit():
            raise BadRequest(400, "BadRequest", "Invalid Content-Length")
        length = int(text)
        if length > limit:
            raise BadRequest(
                413,
                "RequestEntityTooLargeException",
                f"The request body ({length} bytes) exceeds the limit of {limit} bytes",
            )
        if not length:
            return b""
        self._continue(headers)
        body = self.rfile.read(length)
        if len(body) != length:
            raise OSError("the client closed the connection within the body")
        return body

    def _continue(self, headers: dict[str, str]) -> None:
        if headers.get("expect", "").lower() == "100-continue":
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest(400, "BadRequest", "Malformed chunk size") from None
            if length == 0:
                while self.rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: not used
                return b"".join(chunks)
            size += length
            if size > limit:
                raise BadRequest(
                    413,
                    "RequestEntityTooLargeException",
                    f"The request body exceeds the limit of {limit} bytes",
                )
            chunks.append(self.rfile.read(length))
            self.rfile.readline(MAX_LINE + 1)

    def _linger(self, headers: dict[str, str]) -> None:
        """After refusing a request whose body we did not read: stop sending, then read
        and drop what the client still sends for a moment, so that it reads our answer
        instead of a connection reset."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_SECONDS)
            deadline = time.monotonic() + LINGER_SECONDS
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass

    def _send(
        self,
        status: int,
        document: dict[str, Any],
        extra: list[tuple[str, str]],
        *,
        keep: bool,
        content_type: str = CONTENT_TYPE,
        body: bytes | None = None,
    ) -> None:
        if body is None:
            body = Response(status, document).body()
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            f"Date: {_http_date()}",
            "Connection: keep-alive" if keep else "Connection: close",
        ]
        lines += [f"{name}: {value}" for name, value in extra]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # One write for head and body: see the module's docstring.
        self.connection.sendall(head + body)


class Server(socketserver.ThreadingTCPServer):
    """The API's HTTP server.

    Args:
        engine: the Engine to serve (ignored when ``api`` is given).
        host: the address to listen on.
        port: the port (0 picks a free one; see ``url``).
        auth: checks each request's credentials (``sigv4.SigV4``); None accepts any.
        api: a ready ``Api`` (to share one, or to serve a test double).
        max_body: the largest request body accepted, in bytes.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        engine: Any,
        host: str = "127.0.0.1",
        port: int = 8083,
        *,
        auth: Authenticator | None = None,
        api: Api | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.api = api if api is not None else Api(engine, auth=auth)
        self.max_body = max_body
        self.lock = threading.Lock()
        self.draining = False
        self._connections: set[_Connection] = set()
        self._idle = threading.Condition(self.lock)
        self._serving = False
        super().__init__((host, port), _Connection)

    @property
    def url(self) -> str:
        """The endpoint URL to give an SDK."""
        host, port = str(self.server_address[0]), self.server_address[1]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection's thread failed outside a request's answer: a client that went
        away is routine; anything else is logged once, never printed raw."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("connection from %s ended: %s", client_address, error)
        else:
            log.exception("connection from %s failed", client_address)

    def register(self, connection: _Connection) -> bool:
        """Track a new connection; False (close it) when the server is draining."""
        with self.lock:
            if self.draining:
                return False
            self._connections.add(connection)
            return True

    def unregister(self, connection: _Connection) -> None:
        """A connection ended."""
        with self.lock:
            self._connections.discard(connection)
            self._idle.notify_all()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until ``drain`` (or ``shutdown``)."""
        with self.lock:
            if self.draining:
                return
            self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            with self.lock:
                self._serving = False

    def start_background(self) -> threading.Thread:
        """Serve in a daemon thread (tests and embedding); ``drain`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="stepfn-api", daemon=True)
        thread.start()
        return thread

    def drain(self, timeout: float = 30.0) -> bool:
        """Stop gracefully: no new connections, in-flight requests finish.

        Must not run on the thread of ``serve_forever``. Returns True when every
        connection ended within ``timeout`` seconds (the rest are then closed).
        """
        self.api.draining = True
        with self.lock:
            already, serving = self.draining, self._serving
            self.draining = True
        if not already:
            if serving:
                self.shutdown()  # serve_forever returns: nothing new is accepted
            self.server_close()  # and connection attempts are refused, not queued
        stop_polling = getattr(self.api.engine, "stop_polling", None)
        if callable(stop_polling):
            stop_polling()
        deadline = time.monotonic() + timeout
        with self.lock:
            for connection in self._connections:
                if not connection.busy:
                    connection.close_idle()
            while self._connections and time.monotonic() < deadline:
                self._idle.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            left = list(self._connections)
        for connection in left:
            connection.close_idle()
        return not left
