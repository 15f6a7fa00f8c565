"""Retry and Catch: which retrier or catcher handles an error, and the backoff delay.

AWS's rules, in the order they apply:

* ``States.Runtime`` is terminal: no retrier or catcher handles it, not even one that
  names it. (``States.DataLimitExceeded`` from a task's result *is* caught, by name and
  by ``States.ALL``, whatever the documentation says: AWS's recordings show it.)
* A retrier or catcher matches when its ``ErrorEquals`` names the error, or holds
  ``States.ALL``, or holds ``States.TaskFailed`` and the error is anything but
  ``States.Timeout`` (TaskFailed is a wildcard for task errors).
* The first matching retrier decides. Its attempts are counted per retrier; when they
  are used up the error goes to Catch, and no later retrier is tried.
* Delay before attempt ``n`` (0-based) is ``IntervalSeconds * BackoffRate ** n``, capped
  by ``MaxDelaySeconds``; with ``JitterStrategy: FULL`` a random share of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from stepfn import errors
from stepfn.definition.model import Catcher, Retrier, RetryingState, State

if TYPE_CHECKING:
    from stepfn.interp.runstate import Thread

TERMINAL_ERRORS = frozenset({errors.RUNTIME})


class _Random(Protocol):
    def random(self) -> float: ...


def matches(error_equals: Iterable[str], error: str | None) -> bool:
    """Whether a retrier's or catcher's ``ErrorEquals`` covers ``error`` (None: a Fail
    state without an Error, which only the wildcards catch)."""
    if error in TERMINAL_ERRORS:
        return False
    for name in error_equals:
        if name == error or name == errors.ALL:
            return True
        if name == errors.TASK_FAILED and error != errors.TIMEOUT:
            return True
    return False


def find_retrier(retriers: Sequence[Retrier], error: str | None) -> int | None:
    """The index of the first retrier that matches ``error``, or None."""
    for index, retrier in enumerate(retriers):
        if matches(retrier.error_equals, error):
            return index
    return None


def find_catcher(catchers: Sequence[Catcher], error: str | None) -> Catcher | None:
    """The first catcher that matches ``error``, or None."""
    for catcher in catchers:
        if matches(catcher.error_equals, error):
            return catcher
    return None


def backoff_delay(retrier: Retrier, attempt: int, rng: _Random) -> float:
    """Seconds to wait before retry ``attempt`` (0 for the first retry)."""
    delay = float(retrier.interval_seconds) * float(retrier.backoff_rate) ** attempt
    if retrier.max_delay_seconds is not None:
        delay = min(delay, float(retrier.max_delay_seconds))
    if retrier.jitter_strategy == "FULL":
        delay = delay * rng.random()
    return delay


def will_retry(thread: Thread, state: State, error: str | None) -> bool:
    """Whether a retrier of ``state`` takes ``error`` with attempts left on ``thread``."""
    if not isinstance(state, RetryingState):
        return False
    index = find_retrier(state.retry, error)
    if index is None:
        return False
    return thread.attempts.get(index, 0) < state.retry[index].max_attempts
