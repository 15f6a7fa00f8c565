"""The JSONata functions Step Functions adds, and those it makes deterministic.

AWS adds ``$partition``, ``$range``, ``$hash``, ``$random(seed?)``, ``$uuid`` and
``$parse`` to JSONata and removes ``$eval``. We also replace ``$now``, ``$millis``,
``$random`` and ``$shuffle`` so that they draw on the evaluation's clock and id source
instead of the machine's: a replayed history must decide the same.

How AWS's functions behave where its documentation is silent (recorded by running them):

* Counts and seeds are truncated towards zero (``$range(-1.7, 2, 1)`` is ``[-1,0,1,2]``).
* ``$range`` returns a JSONata sequence: one number comes out bare (``$range(1, 9, 9)``
  is ``1``), none is undefined, and so is a zero step.
* ``$partition`` of an empty array, or in chunks of 0, is undefined; without a size it is
  the whole array as one chunk; a negative size is an error.
* ``$random(seed)`` is ``java.util.Random(seed).nextDouble()``: ``$random(42)`` is
  ``0.7275636800328681`` on AWS and here.
* A function's own failure carries ``D3137``, the code of JSONata's ``$error()``.

Each function is a plain Python function of JSON-ish engine values; :data:`EXTRAS` wraps
them with their JSONata signatures, so a wrong argument fails as ``T0410`` as a built-in
does.
"""

from __future__ import annotations

import contextvars
import datetime as _datetime
import json
import math
import types
from collections.abc import Callable, Iterable
from typing import Any, Protocol

# The package ships no type information; mypy is told so once, on its first import.
from jsonata import datetimeutils as _engine_datetimeutils  # type: ignore[import-untyped]
from jsonata import functions as _engine_functions
from jsonata import jsonata as _engine
from jsonata import utils as _engine_utils

from stepfn.lang.intrinsics import HASHES

__all__ = [
    "CURRENT",
    "EXTRAS",
    "MAX_STEPS",
    "Evaluation",
    "FunctionFailure",
    "IdSourceLike",
    "StepBudgetExceeded",
    "engine_value",
]

JSON_NULL = _engine_utils.Utils.NULL_VALUE

# Nodes one evaluation may visit before it is stopped. A budget, unlike a timeout, ends a
# runaway expression at the same point on every replay. A million steps is a few seconds of
# work and well above what a payload of 256 KiB needs.
MAX_STEPS = 1_000_000

_MAX_RANGE_ITEMS = 10_000_000  # the limit JSONata puts on [a..b]


class IdSourceLike(Protocol):
    """Where ``$uuid()``, ``$random()`` and ``$shuffle()`` get their randomness."""

    def uuid(self) -> str: ...

    def random(self) -> float: ...


class FunctionFailure(Exception):
    """One of these functions refused its arguments; ``str()`` is the message."""


class StepBudgetExceeded(Exception):
    """The evaluation visited more than :data:`MAX_STEPS` nodes."""


class Evaluation:
    """What one evaluation hands to the functions it calls: its clock, its ids and the
    count of nodes visited so far."""

    __slots__ = ("ids", "now", "steps")

    def __init__(self, now: float, ids: IdSourceLike) -> None:
        self.now = now
        self.ids = ids
        self.steps = 0

    def step(self, expr: Any, value: Any, environment: Any) -> None:
        """Count one node; the engine calls this on entering each."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise StepBudgetExceeded

    @property
    def millis(self) -> int:
        """``now`` in whole milliseconds, as ``$millis()`` gives it."""
        return math.floor(self.now * 1000)


CURRENT: contextvars.ContextVar[Evaluation] = contextvars.ContextVar("stepfn_jsonata")
"""The evaluation running in this context; set around each call into the engine."""


def engine_value(value: Any) -> Any:
    """``value`` as the engine wants it: JSON null as its NULL_VALUE, since it reads a bare
    ``None`` as undefined.

    Containers with no null inside are handed over as they are, not copied: the engine
    treats its input as read-only (its functions build new lists), and copying a 256 KiB
    input for every expression would double the cost of a small one.
    """
    if value is None:
        return JSON_NULL
    if isinstance(value, dict):
        return _engine_members(value, value.items(), None)
    if isinstance(value, (list, tuple)):
        copy = None if isinstance(value, list) else list(value)  # a tuple becomes a list
        return _engine_members(value, enumerate(value), copy)
    return value


def _engine_members(value: Any, members: Iterable[tuple[Any, Any]], changed: Any) -> Any:
    """``value`` (a dict or a list, whose ``members`` are given) with its members as
    ``engine_value`` gives them: itself when none changes, else a copy (``changed``, when
    the caller already has to copy) along the changed members."""
    for key, item in members:
        if item is None or isinstance(item, (dict, list, tuple)):
            converted = engine_value(item)
            if converted is not item:
                if changed is None:
                    changed = dict(value) if isinstance(value, dict) else list(value)
                changed[key] = converted
    return value if changed is None else changed


def _truncated(number: float) -> int:
    return int(number)


def _partition(items: Any, size: Any) -> Any:
    if items is None:
        return None
    if size is None:
        return [list(items)] if items else None
    chunk = _truncated(size)
    if chunk < 0:
        raise FunctionFailure("Second argument must be zero or greater")
    if chunk == 0 or not items:
        return None
    return [list(items[start : start + chunk]) for start in range(0, len(items), chunk)]


def _range(start: Any, end: Any, step: Any) -> Any:
    if start is None or end is None or step is None:
        return None
    first, last, increment = _truncated(start), _truncated(end), _truncated(step)
    if increment == 0:
        return None
    numbers = range(first, last + (1 if increment > 0 else -1), increment)
    if len(numbers) > _MAX_RANGE_ITEMS:
        raise FunctionFailure(f"The range must not have more than {_MAX_RANGE_ITEMS} items")
    if not numbers:
        return None
    if len(numbers) == 1:
        return numbers[0]
    return list(numbers)


def _hash(text: Any, algorithm: Any) -> Any:
    if text is None or algorithm is None:
        return None
    digest = HASHES.get(algorithm)
    if digest is None:
        supported = ", ".join(HASHES)
        raise FunctionFailure(f"Unsupported hash algorithm '{algorithm}'. Use one of: {supported}")
    return str(digest(text.encode("utf-8", "surrogatepass")).hexdigest())


def _random(seed: Any = None) -> float:
    if seed is None:
        return CURRENT.get().ids.random()
    return JavaRandom(_truncated(seed)).next_double()


def _uuid() -> str:
    return CURRENT.get().ids.uuid()


def _parse(text: Any) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_int=_json_integer,
        )
    except (ValueError, RecursionError):
        raise FunctionFailure("Invalid JSON") from None
    # AWS refuses a number too large for a double (1e400) rather than reading infinity.
    if not _finite(value):
        raise FunctionFailure("Invalid JSON")
    return engine_value(value)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_integer(text: str) -> int | float:
    # AWS reads an integer as a long while it fits, and as a double beyond.
    number = int(text)
    return number if -(2**63) <= number < 2**63 else float(number)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


def _now(picture: Any = None, timezone: Any = None) -> Any:
    return _engine_functions.Functions.datetime_from_millis(CURRENT.get().millis, picture, timezone)


def _millis() -> int:
    return CURRENT.get().millis


def _shuffle(items: Any) -> Any:
    if items is None:
        return None
    shuffled = list(items)
    draw = CURRENT.get().ids.random
    # Fisher-Yates, with the execution's random numbers instead of the process's.
    for index in range(len(shuffled) - 1, 0, -1):
        other = min(int(draw() * (index + 1)), index)
        shuffled[index], shuffled[other] = shuffled[other], shuffled[index]
    return shuffled


class JavaRandom:
    """``java.util.Random``'s generator, the one AWS draws a seeded ``$random`` from."""

    _MULTIPLIER = 0x5DEECE66D
    _MASK = (1 << 48) - 1

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * self._MULTIPLIER + 0xB) & self._MASK
        return self._seed >> (48 - bits)

    def next_double(self) -> float:
        """A float in [0, 1), as ``Random.nextDouble`` gives it."""
        return ((self._next(26) << 27) + self._next(27)) * 2.0**-53


class _Native(_engine.Jsonata.JFunctionCallable):
    """Adapts a Python function to the engine's calling convention."""

    def __init__(self, body: Callable[..., Any]) -> None:
        self.body = body

    def call(self, context: Any, args: Any) -> Any:
        return self.body(*(args or ()))


def _function(signature: str, body: Callable[..., Any]) -> Any:
    return _engine.Jsonata.JFunction(_Native(body), signature)


EXTRAS: dict[str, Any] = {
    "partition": _function("<an?:a>", _partition),
    "range": _function("<nnn?:x>", _range),
    "hash": _function("<ss?:s>", _hash),
    "random": _function("<n?:n>", _random),
    "uuid": _function("<:s>", _uuid),
    "parse": _function("<s?:x>", _parse),
    "now": _function("<s?s?:s>", _now),
    "millis": _function("<:n>", _millis),
    "shuffle": _function("<a:a>", _shuffle),
    # Step Functions removes $eval; a name bound to nothing is "not a function" (T1006).
    "eval": None,
}
"""Name (without ``$``) to the engine function to bind under it."""


class _ExecutionDatetime(_datetime.datetime):
    """``datetime`` whose ``utcnow`` is the running evaluation's ``now``.

    The engine fills the parts a ``$toMillis`` picture leaves out (``'[H01]:[m01]'``) from
    today's date; this makes that the execution's today, not the machine's.
    """

    @classmethod
    def utcnow(cls) -> _datetime.datetime:  # type: ignore[override]
        run = CURRENT.get(None)
        moment = (
            _datetime.datetime.now(_datetime.UTC)
            if run is None
            else _datetime.datetime.fromtimestamp(run.now, _datetime.UTC)
        )
        return moment.replace(tzinfo=None)


def _pin_engine_clock() -> None:
    # Only the engine's date module sees the substitute; if a later engine version reads
    # the date another way, this quietly does nothing.
    module = getattr(_engine_datetimeutils, "datetime", None)
    if module is _datetime:
        shim = types.ModuleType("datetime")
        shim.__dict__.update(_datetime.__dict__)
        shim.datetime = _ExecutionDatetime  # type: ignore[attr-defined]
        _engine_datetimeutils.datetime = shim


_pin_engine_clock()
