"""Express executions: run in memory, as AWS runs them, on a bounded pool of threads.

An Express execution keeps no history unless its state machine logs it, and nothing of
it is kept once it has ended: StartSyncExecution answers with its result, StartExecution
with its ARN only (the execution then runs on the pool and is gone when it ends, logged
if logging is on). Before, each asynchronous start ran on a thread of its own and every
ended execution stayed in a dict nobody read: memory grew with every call.

The pool is sized to the machine; starts beyond what it can queue are refused with
``ThrottlingException`` (AWS throttles StartExecution too), so a flood of Express starts
cannot grow the server without bound.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from stepfn.clock import Clock, IdSource
from stepfn.durable.local import EXPRESS_TIME_LIMIT, Driver, Execution
from stepfn.durable.models import ModelCache
from stepfn.durable.worker import execution_info_of
from stepfn.errors import ServiceError
from stepfn.store.base import ExecutionRecord
from stepfn.tasks.base import Registry

if TYPE_CHECKING:
    from stepfn.logs.delivery import LogDelivery

logger = logging.getLogger(__name__)

MAX_QUEUED = 10_000  # asynchronous Express starts waiting for a thread, at most


def pool_size() -> int:
    """Threads for asynchronous Express executions: a few per core (they wait on tasks)."""
    return max(4, 4 * (os.cpu_count() or 1))


class ExpressRunner:
    """Runs Express executions to their end, in the caller's thread or on the pool."""

    def __init__(
        self,
        models: ModelCache,
        ids: IdSource,
        clock: Clock,
        registry: Registry,
        log_delivery: LogDelivery,
        *,
        workers: int | None = None,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.models = models
        self.ids = ids
        self.clock = clock
        self.registry = registry
        self.log_delivery = log_delivery
        self._pool = ThreadPoolExecutor(
            max_workers=workers or pool_size(), thread_name_prefix="stepfn-express"
        )
        self._max_queued = max_queued
        self._queued = 0
        self._lock = threading.Lock()

    def run(self, target: Any, record: ExecutionRecord, value: Any) -> Execution:
        """Run an Express execution here to its end; its events go to its log group."""
        compiled = self.models.compiled(target.definition)
        driver = Driver(
            compiled.machine,
            execution_info_of(record, value),
            self.ids,
            self.clock,
            self.registry,
            time_limit=EXPRESS_TIME_LIMIT,
            compiled=compiled,
        )
        execution = driver.run()
        self.log_delivery.express(target, record, execution.events)
        return execution

    def submit(
        self,
        target: Any,
        record: ExecutionRecord,
        value: Any,
        ended: Callable[[Execution], None] | None = None,
    ) -> None:
        """Run an Express execution on the pool; nothing of it is kept once it ends but
        what ``ended`` is given (a nested ``.sync`` parent waits for it so).

        Raises:
            ServiceError: ``ThrottlingException`` when too many starts wait already.
        """
        with self._lock:
            if self._queued >= self._max_queued:
                raise ServiceError("ThrottlingException", "Rate exceeded", status=400)
            self._queued += 1
        self._pool.submit(self._run_queued, target, record, value, ended)

    def _run_queued(
        self,
        target: Any,
        record: ExecutionRecord,
        value: Any,
        ended: Callable[[Execution], None] | None,
    ) -> None:
        try:
            execution = self.run(target, record, value)
        except Exception:
            # A run that could not even start (a definition gone bad, a bug of ours):
            # whoever waits for it is told, rather than waiting for ever.
            logger.exception("express execution %s did not run", record.arn)
            execution = Execution(
                record.arn,
                record.name,
                "FAILED",
                error="States.Runtime",
                cause="The execution could not be run",
                start_time=record.start_date,
                stop_time=self.clock.now(),
            )
        finally:
            with self._lock:
                self._queued -= 1
        if ended is not None:
            ended(execution)

    def close(self) -> None:
        """Let running executions finish; drop the queued ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
