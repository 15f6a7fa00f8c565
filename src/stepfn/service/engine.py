"""The Engine: the one door to the service, for the API, the CLI and the console.

``Engine.open("stepfn.db")`` opens (or creates) a store and starts the engine's loop in
a background thread: it steps runnable executions through the worker, and fires due
timers as the scheduler. With a virtual clock there is no thread: the caller drives the
engine with ``run_until_idle()``, which jumps the clock from timer to timer, so a
one-year Wait completes at once.

On opening, the engine recovers what a crash interrupted: every execution with stimuli
waiting in its inbox is runnable again, and every task that was dispatched but never
answered is dispatched again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from stepfn.clock import Clock, IdSource
from stepfn.durable.worker import ModelCache, Worker
from stepfn.logs.delivery import LogDelivery
from stepfn.logs.service import CloudWatchLogs
from stepfn.service.executions import Executions
from stepfn.service.state_machines import ControlPlane
from stepfn.store import open_store
from stepfn.store.base import Store
from stepfn.tasks.base import Registry
from stepfn.tasks.lambda_local import Handler
from stepfn.tasks.registry import RoutingConfig, default_registry
from stepfn.teststate.service import TestState

BATCH = 128  # executions stepped per transaction
POLL_SECONDS = 0.25  # how often an idle engine looks for other processes' stimuli


class Engine(ControlPlane, Executions, TestState):
    """Step Functions, durable: state machines, executions, activities, timers."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        registry: Registry | None = None,
        functions: Mapping[str, Handler] | None = None,
        ids: IdSource | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        background: bool | None = None,
        routing: RoutingConfig = None,
    ) -> None:
        clock = clock if clock is not None else Clock()
        ControlPlane.__init__(self, store, clock, region=region, account=account)
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.ids = ids if ids is not None else IdSource()
        self.registry = (
            registry if registry is not None else default_registry(functions, routing, clock=clock)
        )
        self.models = ModelCache()
        self._ready: OrderedDict[str, None] = OrderedDict()
        self._signal = threading.Condition()
        self._activity_signal = threading.Condition()
        self._express: dict[str, dict[str, Any]] = {}
        self._stopping = False
        self.worker = Worker(store, clock, self.registry, self.ids, on_runnable=self.wake)
        # Executions' logging configurations deliver to log groups that ``logs`` serves.
        self.log_delivery = LogDelivery(store, clock)
        self.worker.logs = self.log_delivery
        self.logs = CloudWatchLogs(store, clock, region=region, account=account)
        self._recover()
        if background is None:
            background = not clock.virtual
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="stepfn-engine", daemon=True)
            self._thread.start()

    @classmethod
    def open(cls, url: str = "stepfn.db", **options: Any) -> Engine:
        """An engine on the store at ``url``: a SQLite file path, ``:memory:``, or
        ``memory://`` (see ``stepfn.store.open_store``)."""
        return cls(open_store(url), **options)

    # --- the loop ---------------------------------------------------------------------------

    def wake(self, execution_arn: str) -> None:
        """Mark an execution runnable (it has stimuli waiting)."""
        with self._signal:
            self._ready[execution_arn] = None
            self._signal.notify()

    def _take(self, limit: int = BATCH) -> list[str]:
        with self._signal:
            arns: list[str] = []
            while self._ready and len(arns) < limit:
                arn, _ = self._ready.popitem(last=False)
                arns.append(arn)
            return arns

    def _recover(self) -> None:
        for arn in self.store.executions_with_inbox():
            self._ready[arn] = None
        self.worker.recover()

    def _step_ready(self) -> int:
        arns = self._take()
        if not arns:
            return 0
        transitions = self.worker.process(arns)
        with self._activity_signal:
            self._activity_signal.notify_all()
        return transitions or len(arns)

    def _fire_timers(self) -> int:
        fired = self.store.fire_due_timers(self.clock.now())
        for arn in fired:
            self.wake(arn)
        return len(fired)

    def _poll_inbox(self) -> int:
        """Pick up stimuli that another process wrote (a second server on the same
        store, a CLI): the in-memory ready set only knows this process's writes."""
        arns = self.store.executions_with_inbox(BATCH * 8)
        for arn in arns:
            self.wake(arn)
        return len(arns)

    def _loop(self) -> None:
        last_poll = 0.0
        while not self._stopping:
            try:
                busy = self._step_ready()
                busy += self._fire_timers()
                if not busy and self.clock.now() - last_poll >= POLL_SECONDS:
                    last_poll = self.clock.now()
                    busy += self._poll_inbox()
            except Exception:  # a failed transaction is retried on the next round
                busy = 0
                if self._stopping:
                    return
            if busy:
                continue
            due = self.store.next_timer_due()
            wait = 0.2 if due is None else max(0.0, min(0.2, due - self.clock.now()))
            with self._signal:
                if not self._ready and not self._stopping:
                    self._signal.wait(wait)

    def run_until_idle(self, max_rounds: int = 1_000_000) -> None:
        """Drive the engine in this thread until nothing is left to do now, moving a
        virtual clock forward to each next timer. For tests and one-shot runs."""
        for _ in range(max_rounds):
            # Timers first: with a virtual clock a task may have moved time past a timer
            # that must act before the task's answer (its timeout, say).
            fired = self._fire_timers()
            if self._step_ready() or fired:
                continue
            if self.worker.in_flight():
                self.worker.wait_idle(1.0)
                continue
            with self._signal:
                if self._ready:
                    continue
            if self.clock.virtual:
                due = self.store.next_timer_due()
                if due is None:
                    return
                self.clock.sleep_until(due)
                continue
            return

    def close(self) -> None:
        """Stop the loop, let running tasks finish, and close the store."""
        self._stopping = True
        with self._signal:
            self._signal.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.worker.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
