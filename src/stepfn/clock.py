"""Time and identifiers, the two inputs that make an execution non-deterministic.

The interpreter never reads the wall clock or draws random ids itself: it is handed a
``Clock`` and an ``IdSource`` and records what they gave in the history, so that a
replayed history takes the same decisions.
"""

from __future__ import annotations

import os
import random
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

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


_SHARED_RANDOM = random.Random()
# Each of its calls is one C call, atomic under the GIL: sharing it needs no lock.
_SHARED_LOCK: AbstractContextManager[Any] = nullcontext()
# A forked process must not repeat its parent's identifiers.
os.register_at_fork(after_in_child=_SHARED_RANDOM.seed)


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, written out: the version and variant
    bits set in the number, then its hex digits grouped. Every task token and request
    id is one, and the ``UUID`` object costs several times this."""
    bits = (bits & _UUID4_CLEAR) | _UUID4_SET
    hexa = f"{bits:032x}"
    return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"


# RFC 4122's variant (10 in bits 62-63) and version 4 (bits 76-79), as uuid.UUID sets them.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


class IdSource:
    """Random identifiers and numbers: UUIDs for tokens and request ids, seeds for $random."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            # Unseeded sources need no sequence of their own: they share one generator,
            # as seeding a Mersenne Twister from the OS costs ~15-20 us, which an
            # in-process run (one IdSource each) would pay every time.
            self._random = _SHARED_RANDOM
            self._lock: AbstractContextManager[Any] = _SHARED_LOCK
        else:
            self._random = random.Random(seed)
            self._lock = threading.Lock()

    def uuid(self) -> str:
        """A fresh version-4 UUID as text."""
        with self._lock:
            bits = self._random.getrandbits(128)
        return uuid4_text(bits)

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


class ScaledClock(Clock):
    """Real time in which waiting for a timer takes ``scale`` times as long.

    Step Functions Local's ``WAIT_TIME_SCALE``: with 0.1 a one-hour Wait takes six real
    minutes, with 0 it ends at once. Time still reads as if it had passed at scale 1:
    when the engine has nothing to do but wait for its next timer (due at ``d`` seconds
    from now), it waits ``d * scale`` real seconds, then the clock *jumps* to the due
    time (``skip_towards``). So Waits, Retry intervals, timeouts and heartbeats are all
    shortened, and history timestamps show the simulated seconds (an hour for the hour),
    while work in progress (a task running) takes its real time.
    """

    virtual = False

    def __init__(self, scale: float) -> None:
        if not scale >= 0:  # also refuses NaN
            raise ValueError(f"the wait time scale must be 0 or more, not {scale}")
        self.scale = float(scale)
        self._offset = 0.0  # simulated minus real seconds: what the jumps skipped
        self._target: tuple[float, float] | None = None  # (due, real deadline)
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def skip_towards(self, due: float) -> float:
        """The caller has nothing to do before ``due`` (simulated time): the real seconds
        to wait before asking again. Once ``(due - now) * scale`` real seconds have passed
        since the first ask for this ``due``, the clock jumps to ``due`` and 0 is returned.
        """
        with self._lock:
            real = time.time()
            now = real + self._offset
            if due <= now:
                self._target = None
                return 0.0
            if self._target is None or self._target[0] != due:
                self._target = (due, real + (due - now) * self.scale)
            deadline = self._target[1]
            if real >= deadline:
                self._offset = due - real
                self._target = None
                return 0.0
            return deadline - real

    def sleep_until(self, when: float) -> None:
        while True:
            wait = self.skip_towards(when)
            if wait <= 0:
                return
            time.sleep(wait)


class ManualClock(Clock):
    """A clock that stands still until told to move (``advance``), for a server whose
    tests move time themselves (``stepfn server --clock virtual``).

    Unlike ``VirtualClock`` it does not jump to the next timer by itself: the engine
    runs in the background as with real time, and a timer fires once the clock has been
    advanced past it. It starts at the real time of its creation unless told otherwise.
    """

    virtual = False

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._moved = threading.Condition()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (0 or more); the new time."""
        if not seconds >= 0:
            raise ValueError(f"time only moves forward: cannot advance by {seconds}")
        with self._moved:
            self._now += seconds
            self._moved.notify_all()
            return self._now

    def sleep_until(self, when: float) -> None:
        with self._moved:
            self._moved.wait_for(lambda: self._now >= when)
