"""Warm pools of function workers, and invocations that run on them without a thread each.

``FunctionRuntime.invoke`` hands a payload to an idle worker of the function (starting one
when the pool has room, else queueing the call) and returns at once with a handle; the
worker's reader thread calls ``done`` when the answer comes. One timer thread serves every
deadline (the function's timeout, the caller's deadline) and reaps idle workers. So a
thousand calls in flight cost a thousand small records, not a thousand threads, and a hung
handler costs only its own worker, which its timeout kills.

What Lambda reports, we report: a handler past its timeout is ``Sandbox.Timedout``
("Task timed out after 3.00 seconds") and its worker is replaced; a worker that exits
mid-call is ``Runtime.ExitError`` ("Runtime exited with error: exit status 1"); a result
over 6 MB is ``Function.ResponseSizeTooLarge``; past the function's reserved concurrency a
call is refused with ``TooManyRequestsException``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from stepfn.functions.model import FunctionConfig
from stepfn.functions.results import (
    MAX_RESPONSE_BYTES,
    UNHANDLED,
    InvocationResult,
    service_document,
)
from stepfn.functions.worker import Frame, Worker

log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 4
DEFAULT_IDLE_SECONDS = 300.0
DEADLINE_EXCEEDED = "DeadlineExceeded"
TIMER_TICK = 0.01  # seconds: how late a timeout may fire, at most
INIT_SECONDS = 10.0  # Lambda's limit for a sandbox's init phase

Done = Callable[[InvocationResult], None]

_QUEUED, _RUNNING, _ENDED = 0, 1, 2


@dataclass(slots=True, eq=False)
class _Call:
    """One invocation in flight (the pool's record of it)."""

    pool: _Pool
    payload: bytes
    done: Done
    request_id: str
    invoked_arn: str
    deadline: float | None
    state: int = _QUEUED
    worker: Worker | None = None
    started: float = 0.0
    kill_at: float = 0.0
    config: FunctionConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.pool.config


class InvocationHandle:
    """What ``invoke`` returns: ``cancel()`` gives the invocation up."""

    __slots__ = ("_call", "_runtime")

    def __init__(self, runtime: FunctionRuntime, call: _Call | None) -> None:
        self._runtime = runtime
        self._call = call

    def cancel(self) -> None:
        """Give the invocation up: a queued call is dropped, a running one's worker is
        killed (and replaced on demand). ``done`` is not called afterwards."""
        if self._call is not None:
            self._runtime._cancel(self._call)


class _Pool:
    """The workers of one function version."""

    __slots__ = ("active", "config", "idle", "queue", "retired", "size", "spawning", "workers")

    def __init__(self, config: FunctionConfig, size: int) -> None:
        self.config = config
        self.size = size
        self.workers: list[Worker] = []
        self.idle: list[Worker] = []  # a stack: the most recently used stays warmest
        self.queue: deque[_Call] = deque()
        self.active = 0  # calls queued or running: what reserved concurrency limits
        self.spawning = 0
        self.retired = False


class FunctionRuntime:
    """Runs functions in warm worker processes; one per server or ``stepfn.run`` session.

    Args:
        pool_size: the most workers one function version may have at once (more calls
            wait for a free one, unless reserved concurrency refuses them).
        idle_seconds: a worker unused this long is stopped.
        region, account: what the ARNs and ``AWS_REGION`` of the functions say.
        base_environment: variables every worker gets beneath the function's own
            (default: PATH, HOME, TMPDIR and the AWS credentials of this process).
        node: the ``node`` executable (default: ``$STEPFN_NODE`` or ``node`` on PATH).
    """

    def __init__(
        self,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        region: str = "us-east-1",
        account: str = "123456789012",
        base_environment: Mapping[str, str] | None = None,
        node: str | None = None,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, not {pool_size}")
        self.pool_size = pool_size
        self.idle_seconds = idle_seconds
        self.region = region
        self.account = account
        self.base_environment = base_environment
        self.node = node
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._retired: list[_Pool] = []
        self._timers: list[tuple[float, int, _Call]] = []
        self._sequence = itertools.count()
        self._timer_thread: threading.Thread | None = None
        # Workers start on one thread of their own: a fork and exec (or node's version
        # check) never holds up a caller of ``invoke`` or a reader thread.
        self._spawns: queue.SimpleQueue[_Pool | None] = queue.SimpleQueue()
        self._spawner: threading.Thread | None = None
        self._closed = False
        self._next_reap = time.monotonic() + idle_seconds

    # -- the public surface -------------------------------------------------------------

    def invoke(
        self,
        config: FunctionConfig,
        payload: bytes,
        done: Done,
        *,
        request_id: str,
        deadline: float | None = None,
        invoked_arn: str | None = None,
    ) -> InvocationHandle:
        """Start one invocation; ``done(result)`` is called once: from a worker's reader
        thread or the timer thread, or before ``invoke`` returns when the call is refused
        at once (reserved concurrency, a closed runtime).

        Args:
            config: the function version to run.
            payload: the event as JSON bytes (empty or ``null`` is sent as ``{}``, as
                Lambda does).
            done: gets the ``InvocationResult``.
            request_id: the invocation's request id (its log and context show it).
            deadline: a ``time.monotonic()`` time after which the caller no longer wants
                the answer; the call then ends with ``service_error`` "DeadlineExceeded"
                and its worker is replaced. The function's own timeout applies anyway.
            invoked_arn: the ARN the caller named (with its qualifier), for the context.
        """
        if len(payload) < 16 and payload.strip() in (b"", b"null"):
            payload = b"{}"
        arn = invoked_arn or config.arn(self.region, self.account)
        spawn = False
        throttled = closed = False
        with self._lock:
            if self._closed:
                closed = True
            else:
                pool = self._pool(config)
                reserved = config.reserved_concurrency
                if reserved is not None and pool.active >= reserved:
                    throttled = True
                else:
                    call = _Call(pool, payload, done, request_id, arn, deadline)
                    pool.active += 1
                    if deadline is not None:
                        self._schedule(deadline, call)
                    if pool.idle:
                        worker = pool.idle.pop()
                        self._assign(call, worker)
                    else:
                        pool.queue.append(call)
                        if len(pool.workers) + pool.spawning < pool.size:
                            pool.spawning += 1
                            spawn = True
                        worker = None
        if closed:
            done(
                _service_result(
                    config, request_id, "ServiceException", "The runtime is closed", 500
                )
            )
            return InvocationHandle(self, None)
        if throttled:
            done(
                _service_result(
                    config,
                    request_id,
                    "TooManyRequestsException",
                    "Rate Exceeded.",
                    429,
                )
            )
            return InvocationHandle(self, None)
        if worker is not None:
            worker.send(call.request_id, call.invoked_arn, _millis(config), call.payload)
        elif spawn:
            self._request_spawn(pool)
        return InvocationHandle(self, call)

    def workers(self, config: FunctionConfig) -> list[int]:
        """The process ids of the function version's workers (for tests and stats)."""
        with self._lock:
            pool = self._pools.get((config.name, config.version))
            return [w.pid for w in pool.workers] if pool else []

    def close(self) -> None:
        """Stop every worker; calls still in flight end with a ServiceException."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values()) + self._retired
            self._pools.clear()
            self._retired.clear()
            ended: list[_Call] = []
            workers: list[Worker] = []
            for pool in pools:
                workers.extend(pool.workers)
                for call in list(pool.queue) + [w.invocation for w in pool.workers]:
                    if call is not None and call.state != _ENDED:
                        call.state = _ENDED
                        ended.append(call)
                pool.queue.clear()
                pool.idle.clear()
            self._timers.clear()
            self._wake.notify_all()
        self._spawns.put(None)
        spawner = self._spawner
        if spawner is not None and spawner is not threading.current_thread():
            spawner.join(30)
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(5)
        thread = self._timer_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        for call in ended:
            _deliver(
                call,
                _service_result(
                    call.config, call.request_id, "ServiceException", "The runtime is closed", 500
                ),
            )

    def __enter__(self) -> FunctionRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pools and workers (called with the lock held unless said otherwise) -------------

    def _pool(self, config: FunctionConfig) -> _Pool:
        key = (config.name, config.version)
        pool = self._pools.get(key)
        if pool is not None and (pool.config is config or pool.config == config):
            return pool
        if pool is not None:
            # The version changed (new code or settings): its workers finish what they
            # run and stop; new calls get workers of the new configuration.
            pool.retired = True
            self._retired.append(pool)
            for worker in pool.idle:
                worker.stop()
            pool.idle.clear()
        pool = self._pools[key] = _Pool(config, self.pool_size)
        return pool

    def _assign(self, call: _Call, worker: Worker) -> None:
        call.state = _RUNNING
        call.worker = worker
        call.started = now = time.monotonic()
        call.kill_at = now + call.config.timeout
        if worker.init_ms is None:
            # The worker is still starting: its init phase has a limit of its own, as on
            # Lambda, and is not the handler's time (a slow start on a loaded machine
            # must not time the first call out).
            call.kill_at += INIT_SECONDS
        worker.invocation = call
        if call.deadline is None or call.kill_at < call.deadline:
            self._schedule(call.kill_at, call)

    def _schedule(self, due: float, call: _Call) -> None:
        timers = self._timers
        earliest = timers[0][0] if timers else None
        heapq.heappush(timers, (due, next(self._sequence), call))
        if self._timer_thread is None:
            self._timer_thread = threading.Thread(
                target=self._run_timers, name="stepfn-fn-timers", daemon=True
            )
            self._timer_thread.start()
        elif earliest is None or due < earliest:
            self._wake.notify()

    def _request_spawn(self, pool: _Pool) -> None:
        with self._lock:
            if self._spawner is None:
                self._spawner = threading.Thread(
                    target=self._run_spawns, name="stepfn-fn-spawner", daemon=True
                )
                self._spawner.start()
        self._spawns.put(pool)

    def _run_spawns(self) -> None:
        while True:
            pool = self._spawns.get()
            if pool is None:
                return
            try:
                self._spawn(pool)
            except Exception:  # keep serving the other pools
                log.exception("starting a worker of %s failed", pool.config.name)

    def _spawn(self, pool: _Pool) -> None:
        """Start a worker for the pool (without the lock) and give it the next queued call."""
        try:
            worker = Worker(
                pool.config,
                self._on_frame,
                region=self.region,
                base_environment=self.base_environment,
                node=self.node,
            )
        except Exception as exc:  # no node, a missing code directory, ...
            self._spawn_failed(pool, exc)
            return
        send: _Call | None = None
        with self._lock:
            pool.spawning -= 1
            closed = self._closed
            if not closed:
                pool.workers.append(worker)
                while pool.queue:
                    call = pool.queue.popleft()
                    if call.state == _QUEUED:
                        self._assign(call, worker)
                        send = call
                        break
                if send is None:
                    worker.last_used = time.monotonic()
                    pool.idle.append(worker)
        if closed:
            worker.stop()
            worker.start()  # its reader reaps the process and closes the pipes
            worker.join(5)
            return
        worker.start()
        if send is not None:
            worker.send(send.request_id, send.invoked_arn, _millis(send.config), send.payload)

    def _spawn_failed(self, pool: _Pool, exc: Exception) -> None:
        with self._lock:
            pool.spawning -= 1
            calls = [call for call in pool.queue if call.state == _QUEUED]
            # Only the calls no other worker will serve fail.
            spare = len(pool.workers) + pool.spawning
            failing = calls if spare == 0 else calls[:0]
            for call in failing:
                pool.queue.remove(call)
                self._end(call)
        message = f"{type(exc).__name__}: {exc}"
        for call in failing:
            _deliver(
                call,
                _service_result(call.config, call.request_id, "ServiceException", message, 500),
            )

    def _end(self, call: _Call) -> None:
        call.state = _ENDED
        call.pool.active -= 1

    # -- what the reader threads and the timer thread report ----------------------------

    def _on_frame(self, worker: Worker, frame: Frame | None) -> None:
        if frame is None:
            self._on_exit(worker)
            return
        if frame.kind == "init":
            if frame.status:
                worker.init_error = frame.body
                return
            with self._lock:
                call = worker.invocation
                if call is not None and call.state == _RUNNING:
                    # The handler's own time starts now that the init phase is over.
                    call.started = worker.ready_at
                    call.kill_at = worker.ready_at + call.config.timeout
                    if call.deadline is None or call.kill_at < call.deadline:
                        self._schedule(call.kill_at, call)
            return
        nxt: _Call | None = None
        stop = False
        with self._lock:
            call = self._take_running(worker)
            pool = call.pool if call is not None else None
            pool = pool or self._pool_of(worker)
            if pool is not None and not worker.dead and not self._closed:
                while pool.queue:
                    queued = pool.queue.popleft()
                    if queued.state == _QUEUED:
                        nxt = queued
                        self._assign(queued, worker)
                        break
                if nxt is None:
                    if pool.retired:
                        stop = True
                    else:
                        worker.last_used = time.monotonic()
                        pool.idle.append(worker)
        if nxt is not None:
            worker.send(nxt.request_id, nxt.invoked_arn, _millis(nxt.config), nxt.payload)
        elif stop:
            worker.stop()
        if call is not None:
            _deliver(call, self._result(call, worker, frame))

    def _result(self, call: _Call, worker: Worker, frame: Frame) -> InvocationResult:
        config = call.config
        worker.served += 1
        result = InvocationResult(
            call.request_id,
            frame.body,
            executed_version=config.version,
            # The init phase is reported apart, as Lambda's REPORT line does.
            duration_ms=(time.monotonic() - max(call.started, worker.ready_at)) * 1000,
            init_ms=worker.init_ms if worker.served == 1 else None,
            max_memory_mb=frame.memory_mb,
            memory_size=config.memory_size,
            output=frame.log,
            log_stream=worker.stream,
        )
        if frame.status:
            result.function_error = UNHANDLED
            result.error_type = _error_type(frame.body)
        elif len(frame.body) > MAX_RESPONSE_BYTES:
            result.function_error = UNHANDLED
            result.error_type = "Function.ResponseSizeTooLarge"
            result.payload = service_document(
                result.error_type,
                f"Response payload size ({len(frame.body)} bytes) exceeded maximum allowed "
                f"payload size ({MAX_RESPONSE_BYTES} bytes).",
            )
        return result

    def _take_running(self, worker: Worker) -> _Call | None:
        """The worker's call, ended, taken off the worker; None when it timed out or was
        cancelled meanwhile (nobody wants its answer). The lock is held."""
        call = worker.invocation
        worker.invocation = None
        if call is None or call.state != _RUNNING:
            return None
        self._end(call)
        return call

    def _on_exit(self, worker: Worker) -> None:
        spawn_for: _Pool | None = None
        with self._lock:
            call = self._take_running(worker)
            pool = self._pool_of(worker)
            if pool is not None:
                if worker in pool.workers:
                    pool.workers.remove(worker)
                if worker in pool.idle:
                    pool.idle.remove(worker)
                waiting = any(c.state == _QUEUED for c in pool.queue)
                if waiting and not self._closed and len(pool.workers) + pool.spawning < pool.size:
                    pool.spawning += 1
                    spawn_for = pool
        if call is not None:
            _deliver(call, self._exit_result(call, worker))
        if spawn_for is not None:
            self._request_spawn(spawn_for)

    def _exit_result(self, call: _Call, worker: Worker) -> InvocationResult:
        config = call.config
        result = InvocationResult(
            call.request_id,
            executed_version=config.version,
            duration_ms=(time.monotonic() - call.started) * 1000,
            memory_size=config.memory_size,
            function_error=UNHANDLED,
            report_status="error",
            log_stream=worker.stream,
        )
        if worker.init_error is not None:
            result.payload = worker.init_error
            result.error_type = _error_type(worker.init_error)
            result.init_ms = worker.init_ms
            return result
        description = worker.exit_description()
        message = f"RequestId: {call.request_id} Error: Runtime exited with error: {description}"
        result.error_type = "Runtime.ExitError"
        result.payload = service_document("Runtime.ExitError", message)
        result.notes.append(f"{message}\nRuntime.ExitError\n")
        return result

    def _pool_of(self, worker: Worker) -> _Pool | None:
        config = worker.config
        pool = self._pools.get((config.name, config.version))
        if pool is not None and worker in pool.workers:
            return pool
        for old in self._retired:
            if worker in old.workers:
                return old
        return None

    def _run_timers(self) -> None:
        while True:
            expired: list[tuple[_Call, str]] = []
            reap: list[Worker] = []
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                timers = self._timers
                while timers and timers[0][0] <= now:
                    _, _, call = heapq.heappop(timers)
                    kind = self._expire(call, now)
                    if kind:
                        expired.append((call, kind))
                if now >= self._next_reap:
                    reap = self._reap(now)
                    self._next_reap = now + max(0.05, self.idle_seconds / 2)
                if not expired and not reap:
                    wait = self._next_reap - now
                    if timers:
                        wait = min(wait, timers[0][0] - now)
                    # Deadlines are kept to the timer's tick: a wake-up per finished call
                    # (whose entry is stale by then) would cost more than the calls.
                    self._wake.wait(max(TIMER_TICK, wait))
                    continue
            for worker in reap:
                worker.stop()
            for call, kind in expired:
                if call.worker is not None:
                    call.worker.kill()
                _deliver(call, self._expired_result(call, kind))

    def _expire(self, call: _Call, now: float) -> str | None:
        if call.state == _ENDED:
            return None
        if call.state == _RUNNING and now >= call.kill_at:
            kind = "timeout"
        elif call.deadline is not None and now >= call.deadline:
            kind = "deadline"
        else:
            return None
        if call.state == _QUEUED:
            call.pool.queue.remove(call)
        self._end(call)
        if call.worker is not None:
            call.worker.dead = True  # never handed another call: it is being killed
        return kind

    def _expired_result(self, call: _Call, kind: str) -> InvocationResult:
        config = call.config
        if kind == "deadline":
            return _service_result(
                config, call.request_id, DEADLINE_EXCEEDED, "The caller's deadline passed", 200
            )
        seconds = f"{config.timeout:.2f}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        result = InvocationResult(
            call.request_id,
            service_document(
                "Sandbox.Timedout",
                f"RequestId: {call.request_id} Error: Task timed out after {seconds} seconds",
            ),
            function_error=UNHANDLED,
            error_type="Sandbox.Timedout",
            executed_version=config.version,
            duration_ms=(time.monotonic() - call.started) * 1000,
            memory_size=config.memory_size,
            report_status="timeout",
            log_stream=call.worker.stream if call.worker is not None else "",
        )
        result.notes.append(f"{stamp}Z {call.request_id} Task timed out after {seconds} seconds\n")
        return result

    def _reap(self, now: float) -> list[Worker]:
        stale: list[Worker] = []
        for pool in self._pools.values():
            keep = []
            for worker in pool.idle:
                if now - worker.last_used >= self.idle_seconds:
                    stale.append(worker)
                else:
                    keep.append(worker)
            pool.idle[:] = keep
        return stale

    def _cancel(self, call: _Call) -> None:
        worker = None
        with self._lock:
            if call.state == _ENDED:
                return
            if call.state == _QUEUED:
                call.pool.queue.remove(call)
            else:
                worker = call.worker
                if worker is not None:
                    worker.dead = True
            self._end(call)
        if worker is not None:
            worker.kill()


def _millis(config: FunctionConfig) -> int:
    return int(config.timeout * 1000)


def _error_type(document: bytes) -> str | None:
    try:
        value = json.loads(document)
    except ValueError:
        return None
    kind = value.get("errorType") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None


def _service_result(
    config: FunctionConfig, request_id: str, error: str, message: str, status: int
) -> InvocationResult:
    return InvocationResult(
        request_id,
        service_error=error,
        service_message=message,
        status_code=status,
        executed_version=config.version,
        memory_size=config.memory_size,
    )


def _delivered(result: InvocationResult) -> None:
    """The completion of a call already delivered (see ``_deliver``)."""


def _deliver(call: _Call, result: InvocationResult) -> None:
    try:
        call.done(result)
    except Exception:  # a caller's bug must not kill a reader or the timer thread
        log.exception("the completion of invocation %s raised", call.request_id)
    # The timer heap keeps the call until its timeout's time (a stale entry, cheaper
    # than a removal per call), up to the function's timeout after its end: it lets go
    # of what the caller's completion holds (a task's closures and records) and of the
    # payload now, so that the heap does not keep every call of that while alive.
    call.done = _delivered
    call.payload = b""


__all__ = ["DEADLINE_EXCEEDED", "FunctionRuntime", "InvocationHandle", "InvocationResult"]
