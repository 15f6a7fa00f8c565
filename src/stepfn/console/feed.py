"""The change feed of committed history events, which the execution page's event
stream waits on.

The engine calls ``publish(execution_arn, events)`` after each commit (from its worker
thread); a page's stream awaits ``subscribe(execution_arn, after_event_id)``, which
answers with the events after that id as soon as some are published.

Until the engine publishes (nothing calls ``publish`` yet: the integrator wires it into
the worker's commit), a subscription also reads new events through the Engine's
GetExecutionHistory every ``poll_seconds``, newest first and stopping at the last one
seen, so the stream works either way; with publishing wired, the read only happens when
nothing was published in that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

KEEP = 1000  # published events kept per execution for subscribers that fall behind
KEEP_EXECUTIONS = 1000  # executions whose events are kept, the least recently published go
POLL_SECONDS = 0.5


class ChangeFeed:
    """Committed history events by execution, for subscribers in asyncio tasks."""

    def __init__(self, engine: Any = None, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._events: OrderedDict[str, deque[dict[str, Any]]] = OrderedDict()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def publish(self, execution_arn: str, events: list[dict[str, Any]]) -> None:
        """Events just committed for an execution (GetExecutionHistory's shape, in id
        order). Safe to call from any thread."""
        if not events:
            return
        with self._lock:
            kept = self._events.setdefault(execution_arn, deque(maxlen=KEEP))
            kept.extend(events)
            self._events.move_to_end(execution_arn)
            while len(self._events) > KEEP_EXECUTIONS:
                self._events.popitem(last=False)
            waiters = list(self._waiters.get(execution_arn, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def notify(self, execution_arn: str) -> None:
        """The engine committed events of an execution (which subscribers then read):
        wakes whoever waits on it. Cheap and safe from any thread, so the engine calls
        it after every commit."""
        with self._lock:
            waiters = list(self._waiters.get(execution_arn, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def forget(self, execution_arn: str) -> None:
        """Drop what is kept for an execution (it has ended and nobody watches it)."""
        with self._lock:
            self._events.pop(execution_arn, None)

    def _published_after(self, execution_arn: str, after: int) -> list[dict[str, Any]] | None:
        """The kept events after ``after``; ``None`` when the kept ones do not reach
        back to it (then they must be read from the Engine)."""
        with self._lock:
            kept = self._events.get(execution_arn)
            if not kept:
                return None
            if int(kept[0]["id"]) > after + 1:
                return None
            return [e for e in kept if int(e["id"]) > after]

    async def subscribe(self, execution_arn: str, after_event_id: int) -> list[dict[str, Any]]:
        """The events after ``after_event_id``, waiting up to ``poll_seconds`` for some
        to be published; ``[]`` when there are none yet."""
        found = self._published_after(execution_arn, after_event_id)
        if found:
            return found
        loop = asyncio.get_running_loop()
        signal = asyncio.Event()
        waiter = (loop, signal)
        with self._lock:
            self._waiters.setdefault(execution_arn, set()).add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), self.poll_seconds)
        finally:
            with self._lock:
                self._waiters.get(execution_arn, set()).discard(waiter)
        found = self._published_after(execution_arn, after_event_id)
        if found is not None:
            return found
        if self.engine is None:
            return []
        return await run_in_threadpool(self._read, execution_arn, after_event_id)

    def _read(self, execution_arn: str, after: int) -> list[dict[str, Any]]:
        """New events read through the Engine, newest first until the last one seen."""
        newer: list[dict[str, Any]] = []
        token = None
        read: Callable[..., dict[str, Any]] = self.engine.get_execution_history
        while True:
            page = read(
                executionArn=execution_arn, maxResults=100, reverseOrder=True, nextToken=token
            )
            for event in page["events"]:
                if int(event["id"]) <= after:
                    return newer[::-1]
                newer.append(event)
            token = page.get("nextToken")
            if not token:
                return newer[::-1]
