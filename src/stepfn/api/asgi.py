"""The API as an ASGI application (Starlette), served by uvicorn (``server.py``).

``build_app`` makes the application from an Engine: extra routes first (a console,
other AWS protocols such as ``/2015-03-31/functions``), then one endpoint for every
other request, which answers AWS JSON calls by their ``X-Amz-Target`` header: a target
prefix names the service (``AWSStepFunctions.`` and ``Logs_20140328.``: the ``Api`` of
``app.py``; more with ``targets``), and ``GET /health`` as the ``Api`` answers it.

What runs where: reading the body, authentication, parsing and validation are quick and
run on the event loop; the Engine call blocks (SQLite, locks), so it runs in a thread of
a bounded pool (``THREADS``, ``BlockingPool``). Running the fast calls on the loop
itself measured slower (bench/http_transport.py): SQLite gives up the interpreter lock
while it works, and threads let the loop parse the next requests meanwhile, and let
concurrent StartExecution calls share a commit. StartExecution calls are gathered
(``Batches``): those arriving while a batch runs go to the pool together, as one job
whose executions share one group commit. A GetActivityTask long poll holds no thread while it
waits: ``ActivityPolls`` tries to claim a task in the pool, then awaits the Engine's
activity signal (one watcher thread for all polls) or a second, and tries again.

Body limits: ``max_body`` bytes (``413`` beyond, for a declared length as for a chunked
body; the connection then closes). What the client still sends is read and dropped for
up to ``LINGER_SECONDS`` first, so that it reads the answer rather than a reset; a body
that takes longer than ``BODY_SECONDS`` to arrive is answered ``408``. A request with
both ``Content-Length`` and ``Transfer-Encoding`` is refused (``400``) and its
connection closed, as RFC 9112 requires (the framing itself is h11's, in uvicorn).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from stepfn.api.app import (
    CONTENT_TYPE,
    Api,
    Authenticator,
    Batch,
    Call,
    Request,
    Response,
    error_document,
)
from stepfn.api.lambda_api import is_lambda_path

log = logging.getLogger("stepfn.api")

# Large enough for any request whose members are within the model's limits: a
# definition of 1,048,576 characters, each JSON-escaped to six bytes, is 6 MiB.
MAX_BODY_BYTES = 8 * 1024 * 1024
THREADS = 32  # Engine calls at once; more only adds contention on the store
BODY_SECONDS = 60.0
LINGER_SECONDS = 2.0
INLINE_BYTES = 65536  # larger bodies are parsed and validated in the pool too
ACTIVITY_POLL_SECONDS = 60.0

T = TypeVar("T")
Run = Callable[..., Awaitable[Any]]


class Target(Protocol):
    """A service answering AWS JSON calls of one ``X-Amz-Target`` prefix (as ``Api``)."""

    def prepare(self, request: Request) -> Call | tuple[int, dict[str, Any]]:
        """Authenticate and validate a request without blocking: what to run, or the
        (status, document) refusing it."""


def build_app(
    engine: Any,
    *,
    auth: Authenticator | None = None,
    api: Api | None = None,
    routes: Sequence[BaseRoute] = (),
    targets: Mapping[str, Target] | None = None,
    max_body: int = MAX_BODY_BYTES,
    threads: int = THREADS,
) -> Starlette:
    """The ASGI application of ``stepfn server``.

    Args:
        engine: the Engine to serve (ignored when ``api`` is given).
        auth: checks each request's credentials (``sigv4.SigV4``); None accepts any.
        api: a ready ``Api`` (to share one, or to serve a test double).
        routes: Starlette routes or mounts matched before the AWS JSON endpoint.
        targets: more AWS JSON services, by ``X-Amz-Target`` prefix; the rest go to
            the ``Api``.
        max_body: the largest request body accepted, in bytes.
        threads: how many blocking calls run at once.

    The endpoint is ``app.state.aws_json`` (its ``api`` and ``max_body`` may be changed
    while serving).
    """
    endpoint = AwsJson(
        api if api is not None else Api(engine, auth=auth),
        targets=targets,
        max_body=max_body,
        threads=threads,
    )
    app = _App(endpoint, routes=[*routes, Route("/{path:path}", endpoint)])
    app.state.aws_json = endpoint
    return app


class _App(Starlette):
    """Starlette, with AWS JSON calls (POST with ``X-Amz-Target``) and Lambda's REST
    calls going straight to their endpoint past the router and middleware: they are most
    of the traffic, and no other route takes them."""

    def __init__(self, endpoint: AwsJson, **options: Any) -> None:
        super().__init__(**options)
        self._aws_json = endpoint

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        endpoint = self._aws_json

        async def front(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                if scope["method"] == "POST":
                    for name, _ in scope["headers"]:
                        if name == b"x-amz-target":
                            await endpoint(scope, receive, send)
                            return
                if is_lambda_path(scope["path"]):
                    # Lambda's REST paths (/2015-03-31/...): no console route takes them.
                    await endpoint(scope, receive, send)
                    return
            await inner(scope, receive, send)

        return front


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


async def _answer(send: Send, response: Response, *, close: bool = False) -> None:
    body = response.body()
    headers = [
        (b"content-type", response.content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BlockingPool:
    """At most ``size`` threads running blocking calls for the event loop.

    Not ``loop.run_in_executor``: a hop to a thread and back is most of a small call's
    cost here, and the executor's (a ``concurrent.futures.Future`` with its condition
    variable, chained to an asyncio one) measured three to five times this one's, which
    queues the call and settles an asyncio future from the thread. anyio's ``to_thread``
    costs more still. Threads start as calls need them and end after ``IDLE_SECONDS``
    without one.
    """

    IDLE_SECONDS = 30.0

    def __init__(self, size: int, name: str = "stepfn-api") -> None:
        self.size = size
        self.name = name
        self._calls: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def run(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Start ``function(*args)`` in a thread; a future of its result (or error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, function, args))
        if not self._idle and self._threads < self.size:
            with self._lock:
                if self._threads < self.size:
                    self._threads += 1
                    threading.Thread(
                        target=self._work, name=f"{self.name}-{self._threads}", daemon=True
                    ).start()
        return future

    def _work(self) -> None:
        calls, lock = self._calls, self._lock
        while True:
            with lock:
                self._idle += 1
            try:
                loop, future, function, args = calls.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with lock:
                    self._idle -= 1
                    self._threads -= 1
                return
            with lock:
                self._idle -= 1
            try:
                result = function(*args)
            except BaseException as exc:  # the caller's error, given to the caller
                settle = functools.partial(_fail, future, exc)
            else:
                settle = functools.partial(_succeed, future, result)
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(settle)
            del loop, future, function, args, settle


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # not cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class Batches:
    """Concurrent calls of an operation the Api answers many at once (``Call.batch``:
    StartExecution), gathered: the calls that arrive while a batch runs go together in
    the next, as one job of the pool whose answers all reach the event loop in one
    callback. Concurrent StartExecution calls then share one group commit, and each
    costs no thread hop of its own (bench/http_transport.py: a pool job per call, each
    waking the loop on its own, kept fewer calls in each commit and cost more CPU per
    call; one batch at a time measured better than two or four).

    One batch of an operation runs at a time, of at most ``MOST`` calls; another
    starts beside it only once it has run ``SLOW_SECONDS`` (up to ``JOBS`` at once):
    a batch held up by a slow call (a first step running long) does not hold up the
    calls arriving meanwhile.
    """

    JOBS = 4
    MOST = 64
    SLOW_SECONDS = 0.02

    def __init__(self, pool: BlockingPool) -> None:
        self._pool = pool
        self._waiting: dict[Batch, list[tuple[dict[str, Any], asyncio.Future[Any]]]] = {}
        # The start times of the running batches, by operation.
        self._running: dict[Batch, list[float]] = {}
        self._scheduled: set[Batch] = set()

    def submit(
        self, batch: Batch, params: dict[str, Any]
    ) -> asyncio.Future[tuple[int, dict[str, Any]]]:
        """Queue one call for ``batch``: a future of its (status, document)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, dict[str, Any]]] = loop.create_future()
        self._waiting.setdefault(batch, []).append((params, future))
        if batch not in self._scheduled and self._may_start(batch, loop.time()):
            # At the end of this turn of the loop: the calls read in the same turn join.
            self._scheduled.add(batch)
            loop.call_soon(self._launch, batch)
        return future

    def _may_start(self, batch: Batch, now: float) -> bool:
        running = self._running.get(batch)
        if not running:
            return True
        return len(running) < self.JOBS and now - running[-1] >= self.SLOW_SECONDS

    def _launch(self, batch: Batch) -> None:
        self._scheduled.discard(batch)
        waiting = self._waiting.pop(batch, None)
        if not waiting:
            return
        taken, rest = waiting[: self.MOST], waiting[self.MOST :]
        if rest:
            self._waiting[batch] = rest
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._running.setdefault(batch, []).append(started)
        job = self._pool.run(batch, [params for params, _ in taken])
        job.add_done_callback(functools.partial(self._done, batch, taken, started))
        if len(self._running[batch]) < self.JOBS:
            # Should this batch be slow, the calls waiting behind it start beside it.
            loop.call_later(self.SLOW_SECONDS, self._slow, batch, job)

    def _slow(self, batch: Batch, job: asyncio.Future[Any]) -> None:
        if not job.done() and self._waiting.get(batch) and batch not in self._scheduled:
            self._launch(batch)

    def _done(
        self,
        batch: Batch,
        taken: list[tuple[dict[str, Any], asyncio.Future[Any]]],
        started: float,
        job: asyncio.Future[list[tuple[int, dict[str, Any]]]],
    ) -> None:
        running = self._running[batch]
        running.remove(started)
        if not running:
            del self._running[batch]
        answers: list[tuple[int, dict[str, Any]]] = []
        if not job.cancelled() and job.exception() is None:
            answers = job.result()
        if len(answers) != len(taken):
            # The Api answers every error of its own; this one is a bug of ours.
            error = None if job.cancelled() else job.exception()
            log.error("internal error in a batch of calls", exc_info=error)
            failed = (
                500,
                error_document(
                    "InternalFailure",
                    "The request processing has failed because of an unknown error",
                ),
            )
            answers = [failed] * len(taken)
        for (_, future), answer in zip(taken, answers, strict=True):
            if not future.done():
                future.set_result(answer)
        if self._waiting.get(batch) and batch not in self._scheduled:
            self._launch(batch)


class _Refused(Exception):
    """A request answered before its body was read whole; its connection then closes."""

    def __init__(self, status: int, code: str, message: str, *, drain: bool = True) -> None:
        super().__init__(message)
        self.response = Response(status, error_document(code, message))
        self.drain = drain


class _Gone(Exception):
    """The client went away within the request."""


class AwsJson:
    """The ASGI endpoint of AWS JSON calls and ``GET /health``.

    Args:
        api: the Step Functions ``Api``.
        targets: more services by ``X-Amz-Target`` prefix.
        max_body: the largest request body accepted, in bytes.
        threads: the size of the pool of blocking calls.
    """

    def __init__(
        self,
        api: Api,
        *,
        targets: Mapping[str, Target] | None = None,
        max_body: int = MAX_BODY_BYTES,
        threads: int = THREADS,
    ) -> None:
        self.api = api
        self.targets = dict(targets or {})
        self.max_body = max_body
        self.pool = BlockingPool(threads)
        self.batches = Batches(self.pool)
        self.polls = ActivityPolls(lambda: self.api.engine, self.run)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call in the bounded pool."""
        return await self.pool.run(function, *args)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        target = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            body = await self._body(headers, receive)
        except _Refused as refused:
            if refused.drain:
                await self._discard(receive)
            await _answer(send, refused.response, close=True)
            return
        except _Gone:
            return
        request = Request(scope["method"], target, headers, body)
        if request.method == "POST" and "x-amz-target" not in headers:
            # A Lambda Invoke waits on its function here, on the event loop, rather
            # than holding a pool thread (two thread hops fewer per call).
            started = await self._started(request)
            if started is not None:
                await _answer(send, started)
                return
        if request.method != "POST" or "x-amz-target" not in headers:
            # Not AWS JSON: /health, the admin calls, and the protocols routed by path or
            # form (REST-JSON, Query) that ``Api.handle`` dispatches.
            await _answer(send, await self.run(self.api.handle, request))
            return
        await _answer(send, await self._post(request))

    async def _started(self, request: Request) -> Response | None:
        """The response of a request the Api answers without a thread (a Lambda Invoke,
        see ``Api.start_lambda``), or None for the others."""
        start = getattr(self.api, "start_lambda", None)
        if start is None:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()

        def settle(response: Response) -> None:
            if not future.done():
                future.set_result(response)

        def done(response: Response) -> None:
            loop.call_soon_threadsafe(settle, response)

        if not start(request, done):
            return None
        return await future

    async def _post(self, request: Request) -> Response:
        api = self.api
        request_id = api.request_id()
        service: Target = api
        name = request.headers.get("x-amz-target") or ""
        for prefix, other in self.targets.items():
            if name.startswith(prefix):
                service = other
                break
        with api.tracking():
            if len(request.body) < INLINE_BYTES:
                prepared = service.prepare(request)
            else:
                prepared = await self.run(service.prepare, request)
            content_type = CONTENT_TYPE
            if not isinstance(prepared, Call):
                status, document = prepared
            else:
                content_type = prepared.content_type
                if prepared.operation == "GetActivityTask" and self.polls.available(service):
                    status, document = await self.polls.get(api, prepared)
                elif prepared.batch is not None:
                    status, document = await self.batches.submit(prepared.batch, prepared.params)
                else:
                    status, document = await self.run(prepared.run)
        return Response(status, document, [("x-amzn-RequestId", request_id)], content_type)

    async def _body(self, headers: Mapping[str, str], receive: Receive) -> bytes:
        limit = self.max_body
        if "transfer-encoding" in headers and "content-length" in headers:
            raise _Refused(
                400,
                "BadRequest",
                "A request may not have both Content-Length and Transfer-Encoding",
                drain=False,
            )
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refused(
                413,
                "RequestEntityTooLargeException",
                f"The request body ({int(declared)} bytes) exceeds the limit of {limit} bytes",
                # A client waiting for "100 Continue" sends nothing more: answer at once.
                drain=headers.get("expect", "").lower() != "100-continue",
            )
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(BODY_SECONDS):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Gone()
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(
                            413,
                            "RequestEntityTooLargeException",
                            f"The request body exceeds the limit of {limit} bytes",
                        )
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise _Refused(
                408,
                "RequestTimeout",
                f"The request body did not arrive within {BODY_SECONDS:g} seconds",
                drain=False,
            ) from None

    @staticmethod
    async def _discard(receive: Receive) -> None:
        """Read and drop what the client still sends, for a moment (see the module)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_SECONDS):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect" or not message.get("more_body"):
                        return


class ActivityPolls:
    """GetActivityTask long polls that wait without a thread each.

    Polls of one activity queue in arrival order and only the first tries to claim
    (each wake-up costs one store query per polled activity, not one per poll); it
    tries again when the Engine's worker signals that tasks may have been scheduled
    (one watcher thread forwards the signal to the event loop) or after a second.

    Args:
        engine: returns the Engine being served.
        run: runs a blocking call in the pool.
    """

    def __init__(self, engine: Callable[[], Any], run: Run) -> None:
        self._engine = engine
        self._run = run
        self._queues: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._waiting = 0
        self._event = asyncio.Event()
        self._watcher: threading.Thread | None = None
        self.stopped = False

    def available(self, service: Any) -> bool:
        """Whether the Engine can be polled asynchronously."""
        return isinstance(service, Api) and callable(
            getattr(self._engine(), "claim_activity_task", None)
        )

    def stop(self) -> None:
        """End every poll at once (the server stops); call on the event loop."""
        self.stopped = True
        self._notify()

    async def get(self, api: Api, call: Call) -> tuple[int, dict[str, Any]]:
        """Answer a prepared GetActivityTask: (status, document)."""
        engine = self._engine()
        claim = functools.partial(
            api.invoke, call.operation, engine.claim_activity_task, call.params
        )
        virtual = bool(getattr(getattr(engine, "clock", None), "virtual", False))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACTIVITY_POLL_SECONDS
        arn = str(call.params.get("activityArn", ""))
        lock, users = self._queues.setdefault(arn, (asyncio.Lock(), [0]))
        users[0] += 1
        self._waiting += 1
        self._watch(loop)
        try:
            try:
                await asyncio.wait_for(lock.acquire(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return 200, {}
            try:
                while True:
                    event = self._event  # taken before trying: a signal meanwhile sets it
                    status, document = await self._run(claim)
                    remaining = deadline - loop.time()
                    if status != 200 or document or virtual or self.stopped or remaining <= 0:
                        return status, document
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), min(remaining, 1.0))
            finally:
                lock.release()
        finally:
            self._waiting -= 1
            users[0] -= 1
            if not users[0]:
                del self._queues[arn]

    def _notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return
        wait = getattr(self._engine(), "wait_activity_signal", None)
        if not callable(wait):
            return  # the polls try again each second

        def watch() -> None:
            while self._waiting and not self.stopped:
                if wait(1.0):
                    with contextlib.suppress(RuntimeError):  # the loop has closed
                        loop.call_soon_threadsafe(self._notify)

        self._watcher = threading.Thread(target=watch, name="stepfn-activity-polls", daemon=True)
        self._watcher.start()
