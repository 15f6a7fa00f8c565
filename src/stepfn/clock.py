"""Time and identifiers, the two inputs that make an execution non-deterministic.

The interpreter never reads the wall clock or draws random ids itself: it is handed a
``Clock`` and an ``IdSource`` and records what they gave in the history, so that a
replayed history takes the same decisions.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime

# Simulated executions start here unless told otherwise: a fixed, recognisable instant.
VIRTUAL_EPOCH = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


class Clock:
    """The real wall clock (seconds since the epoch, as a float)."""

    virtual = False

    def now(self) -> float:
        """The current time in seconds since the epoch."""
        return time.time()

    def sleep_until(self, when: float) -> None:
        """Block until ``when``; a virtual clock jumps there instead."""
        delay = when - time.time()
        if delay > 0:
            time.sleep(delay)


class VirtualClock(Clock):
    """A clock that only moves when told: a one-year Wait ends at once.

    ``sleep_until`` advances the clock to the wake-up time instead of sleeping, so
    simulated time shows in history timestamps exactly as real time would.
    """

    virtual = True

    def __init__(self, start: float | None = None) -> None:
        self._now = VIRTUAL_EPOCH if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self._now += seconds

    def sleep_until(self, when: float) -> None:
        with self._lock:
            if when > self._now:
                self._now = when


class IdSource:
    """Random identifiers and numbers: UUIDs for tokens and request ids, seeds for $random."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def uuid(self) -> str:
        """A fresh version-4 UUID as text."""
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def random(self) -> float:
        """A float in [0, 1)."""
        with self._lock:
            return self._random.random()

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        with self._lock:
            return self._random.randint(low, high)


def iso8601(ts: float) -> str:
    """AWS's text form of a timestamp in JSON payloads: ``2024-01-01T00:00:00.000Z``."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
