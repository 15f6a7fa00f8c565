"""Functions' logs in CloudWatch Logs: ``/aws/lambda/NAME``, a stream per warm worker.

Every invocation, whether an Invoke through the API or a Task's, writes its log (START,
what the handler printed, END, REPORT) as log events of the function's group, in the
stream of the worker that ran it (``YYYY/MM/DD/[VERSION]HEX``, as Lambda names a
sandbox's stream). The writes are made in the background, many invocations per
transaction: an invocation's answer never waits on the store, as Lambda delivers logs
moments after the call ends. ``flush`` waits for what is queued (tests, shutdown).
"""

from __future__ import annotations

import logging
import threading

from stepfn.clock import Clock
from stepfn.functions.model import FunctionConfig
from stepfn.functions.results import InvocationResult
from stepfn.store.base import LogEventRecord
from stepfn.store.sql_functions import SqlFunctions

log = logging.getLogger("stepfn.service.function_logs")

MAX_BATCH = 512  # invocations written per transaction, at most
# Seconds the writer lets logs gather before a write: invocations ending close together
# share one transaction (a log shows this much later, at most).
LINGER_SECONDS = 0.02


def log_group(name: str) -> str:
    """The log group of a function."""
    return f"/aws/lambda/{name}"


def log_events(
    result: InvocationResult, config: FunctionConfig, now_ms: int
) -> list[LogEventRecord]:
    """An invocation's log as log events: one per line, START to REPORT."""
    group = log_group(config.name)
    stream = result.log_stream or "default"
    return [LogEventRecord(group, stream, now_ms, line, now_ms) for line in result.log.splitlines()]


class FunctionLogs:
    """Writes invocation logs to the store, in the background and in batches."""

    def __init__(self, store: SqlFunctions, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._pending: list[tuple[InvocationResult, FunctionConfig, int]] = []
        self._signal = threading.Condition()
        self._writing = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(self, result: InvocationResult, config: FunctionConfig) -> None:
        """Queue an invocation's log (its events are dated now)."""
        now_ms = int(self.clock.now() * 1000)
        with self._signal:
            if self._closed:
                return
            self._pending.append((result, config, now_ms))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="stepfn-fn-logs", daemon=True
                )
                self._thread.start()
            elif len(self._pending) == 1:
                self._signal.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued log is written; False if that took over ``timeout``."""
        with self._signal:
            return self._signal.wait_for(lambda: not self._pending and not self._writing, timeout)

    def close(self) -> None:
        """Write what is queued, then stop."""
        self.flush()
        with self._signal:
            self._closed = True
            self._signal.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(5)

    def _run(self) -> None:
        while True:
            with self._signal:
                self._signal.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                if not self._closed and len(self._pending) < MAX_BATCH:
                    self._signal.wait(LINGER_SECONDS)
                if not self._pending:
                    continue
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._writing = True
            try:
                events: list[LogEventRecord] = []
                for result, config, now_ms in batch:
                    events += log_events(result, config, now_ms)
                self.store.append_log_events(events)
            except Exception:  # the store is closing or failing: these logs are lost
                log.exception("writing %d function logs failed", len(batch))
            finally:
                with self._signal:
                    self._writing = False
                    self._signal.notify_all()
