"""JSONata, the query language of JSONata states: ``"{% $states.input.order.amount * 2 %}"``.

The language itself comes from the ``jsonata-python`` package (see docs/jsonata-engine.md
for why that one). This module is the seam between it and stepfn: it compiles the text
inside ``{% %}``, binds ``$states`` and the workflow's variables, adds the functions Step
Functions provides, and turns the engine's failures into the texts AWS shows.

What AWS does that plain JSONata does not, as recorded against AWS:

* A value is an expression only when the whole string is ``{% ... %}``: ``" {% x %} "``
  (spaces outside the delimiters) is a literal string. Spaces inside are trimmed, and the
  trimmed text is what error messages quote.
* An expression that returns nothing fails the state: ``The JSONata expression
  '$doesNotExist' specified for the field 'Output' returned nothing (undefined).`` Inside
  an object or array template the field is the path to it (``Output/FunctionResult``,
  ``Assign/result``): AWS does not drop the key.
* An engine error keeps JSONata's code: ``... threw an error during evaluation. T1006:
  Attempted to invoke a non-function``; a function value is ``returned an unsupported
  result type.``
* Whole numbers come out as integers (``$number('2')`` is ``2``, not ``2.0``).
* Step Functions adds ``$partition``, ``$range``, ``$hash``, ``$random(seed?)``, ``$uuid``
  and ``$parse``, and takes ``$eval`` away (calling it is ``T1006``).

Determinism: ``$now()``, ``$millis()``, ``$uuid()``, ``$random()`` and ``$shuffle()`` draw
only on the ``now`` and ``ids`` handed to :meth:`Expression.evaluate`, so a replayed
history decides the same. A step budget, not a wall-clock timeout, stops a runaway
expression, for the same reason.
"""

from __future__ import annotations

import contextvars
import datetime as _datetime
import functools
import hashlib
import json
import math
import re
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any, Protocol

# The package ships no type information; mypy is told so once, on its first import.
from jsonata import datetimeutils as _engine_datetimeutils  # type: ignore[import-untyped]
from jsonata import functions as _engine_functions
from jsonata import jexception as _engine_errors
from jsonata import jsonata as _engine
from jsonata import utils as _engine_utils

from stepfn.errors import QUERY_EVALUATION_ERROR, StateError

__all__ = [
    "MAX_STEPS",
    "UNDEFINED",
    "Expression",
    "IdSourceLike",
    "JsonataEvaluationError",
    "JsonataSyntaxError",
    "compile_expression",
    "evaluate_template",
    "evaluate_typed",
    "expression_text",
    "is_expression",
    "json_type",
]

# Nodes one evaluation may visit before it is stopped. A budget, unlike a timeout, ends a
# runaway expression at the same point on every replay. A million steps is a few seconds of
# work and well above what a payload of 256 KiB can need.
MAX_STEPS = 1_000_000

# JSONata's numbers are doubles; below this AWS writes a whole one with all its digits.
_WHOLE_NUMBER_LIMIT = 1e21

_JSON_NULL = _engine_utils.Utils.NULL_VALUE
_Jsonata = _engine.Jsonata
_JException = _engine_errors.JException
_ERROR_CODE = re.compile(r"[A-Z]\d{4}")


class _Undefined:
    """The type of :data:`UNDEFINED`; falsy, and equal only to itself."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()
"""JSONata's *undefined*: what a path that matches nothing returns. Distinct from ``None``,
which is JSON ``null``."""


class JsonataSyntaxError(ValueError):
    """An expression that does not parse; ``code`` is JSONata's (``S0201``, ...)."""

    def __init__(self, text: str, code: str | None, message: str, position: int | None) -> None:
        self.text = text
        self.code = code
        self.message = message
        self.position = position
        super().__init__(f"{code}: {message}" if code else message)


class JsonataEvaluationError(Exception):
    """An expression that failed while it ran; ``str()`` is AWS's ``<code>: <message>``."""

    def __init__(self, code: str | None, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}" if code else message)


class _UnsupportedResult(JsonataEvaluationError):
    """The expression returned something JSON cannot hold (a function, a regex)."""

    def __init__(self) -> None:
        super().__init__(None, "unsupported result type")


class IdSourceLike(Protocol):
    """Where ``$uuid()``, ``$random()`` and ``$shuffle()`` get their randomness."""

    def uuid(self) -> str: ...

    def random(self) -> float: ...


# --- Recognising and compiling expressions ----------------------------------------------


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a JSONata expression: a string that is ``{% ... %}`` whole."""
    return (
        isinstance(value, str)
        and len(value) >= 4
        and value.startswith("{%")
        and value.endswith("%}")
    )


def expression_text(value: str) -> str:
    """The expression inside ``{% ... %}``, trimmed, as AWS quotes it in messages."""
    return value[2:-2].strip()


@functools.lru_cache(maxsize=4096)
def compile_expression(text: str) -> Expression:
    """Parse ``text`` (without the ``{% %}``) once; later calls with it are free.

    Raises:
        JsonataSyntaxError: the text is not JSONata.
    """
    return Expression(text)


class Expression:
    """A compiled JSONata expression, safe to share between threads and executions."""

    def __init__(self, text: str) -> None:
        self.text = text
        with _ENGINE_LOCK:
            try:
                compiled = _Jsonata(text)
            except _JException as error:
                code, message = _describe_engine_error(error)
                raise JsonataSyntaxError(text, code, message, _position(error)) from None
            except Exception as error:  # the parser has a few plain Python failures
                raise JsonataSyntaxError(text, None, str(error), None) from None
            if compiled.errors:
                code, message = _describe_engine_error(compiled.errors[0])
                raise JsonataSyntaxError(text, code, message, _position(compiled.errors[0]))
            # Tell null (NULL_VALUE) from undefined (None) in results.
            compiled.set_output_convert_nulls(False)
            for name, function in _STEP_FUNCTIONS_EXTRAS.items():
                compiled.register_function(name, function)
        self._compiled = compiled

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(self, bindings: Mapping[str, Any], *, now: float, ids: IdSourceLike) -> Any:
        """Run the expression with ``bindings`` as its ``$`` variables.

        Args:
            bindings: variable name (without ``$``) to JSON value, e.g. ``{"states":
                {"input": ..., "context": ...}, "myVar": 1}``.
            now: the execution clock's time, in seconds since the epoch, for ``$now()`` and
                ``$millis()``.
            ids: the execution's source of UUIDs and random numbers.

        Returns:
            A JSON value (``None`` is ``null``), or :data:`UNDEFINED` when the expression
            returns nothing.

        Raises:
            JsonataEvaluationError: JSONata raised an error, or the result is no JSON value.
        """
        return self._evaluate(_to_engine_bindings(bindings), now, ids)

    def _evaluate(self, engine_bindings: dict[str, Any], now: float, ids: IdSourceLike) -> Any:
        run = _Evaluation(now, ids)
        frame = dict(engine_bindings)
        # The engine calls this on entering every node; it is how the step budget is kept.
        frame["__evaluate_entry"] = run.step
        token = _CURRENT.set(run)
        try:
            with _ENGINE_LOCK:
                result = self._compiled.evaluate(None, frame)
        except JsonataEvaluationError:
            raise
        except _JException as error:
            raise JsonataEvaluationError(*_describe_engine_error(error)) from None
        except RecursionError:
            raise JsonataEvaluationError(None, _STACK_OVERFLOW) from None
        except ZeroDivisionError:
            raise JsonataEvaluationError("D1001", "Number out of range: Infinity") from None
        except Exception as error:  # the engine lets a few plain Python errors out
            raise JsonataEvaluationError(None, str(error)) from None
        finally:
            _CURRENT.reset(token)
        if result is None:
            return UNDEFINED
        return _from_engine(result)


_STACK_OVERFLOW = (
    "Stack overflow error: Check for non-terminating recursive function.  "
    "Consider rewriting as tail-recursive."
)
_TOO_MANY_STEPS = "Expression evaluation timeout: Check for infinite loop"

# jsonata-python keeps per-thread evaluation state on shared objects (the expression's
# environment, a thread-local "current" instance); one evaluation at a time keeps them
# apart. Pure Python holds the GIL anyway, so this costs no parallelism.
_ENGINE_LOCK = threading.RLock()


class _Evaluation:
    """What one call of :meth:`Expression.evaluate` hands to the functions it calls."""

    __slots__ = ("ids", "now", "steps")

    def __init__(self, now: float, ids: IdSourceLike) -> None:
        self.now = now
        self.ids = ids
        self.steps = 0

    def step(self, expr: Any, value: Any, environment: Any) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise JsonataEvaluationError(None, _TOO_MANY_STEPS)

    @property
    def millis(self) -> int:
        return math.floor(self.now * 1000)


_CURRENT: contextvars.ContextVar[_Evaluation] = contextvars.ContextVar("stepfn_jsonata")


# --- Values in and out of the engine ----------------------------------------------------


def _to_engine(value: Any) -> Any:
    # The engine reads a bare None as undefined; JSON null must be its NULL_VALUE.
    if value is None:
        return _JSON_NULL
    if isinstance(value, dict):
        return {key: _to_engine(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_engine(item) for item in value]
    return value


def _to_engine_bindings(bindings: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _to_engine(value) for name, value in bindings.items()}


def _from_engine(value: Any) -> Any:
    if value is _JSON_NULL:
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonataEvaluationError("D1001", f"Number out of range: {_number_text(value)}")
        if value.is_integer() and abs(value) < _WHOLE_NUMBER_LIMIT:
            return int(value)
        return value
    if isinstance(value, dict):
        # An undefined member (None) is left out, as JSON.stringify leaves it out.
        return {key: _from_engine(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_from_engine(item) for item in value if item is not None]
    raise _UnsupportedResult


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# --- Error texts ------------------------------------------------------------------------

# jsonata-python's message catalogue came through a port that renamed "function" to
# "Object"; AWS's texts say "function".
_MISNAMED = re.compile(r"\bObject\b")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# Where AWS words a message differently from the catalogue.
_AWS_TEMPLATES = {
    "T2009": "The values {{value}} and {{value2}} either side of the operator must be of the "
    "same data type",
}
_ARRAY_ITEM_TYPES = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}


def _describe_engine_error(error: Any) -> tuple[str | None, str]:
    """AWS's code and message for a JSONata error raised by the engine."""
    code = str(getattr(error, "error", "") or "")
    if not _ERROR_CODE.fullmatch(code):
        # A few engine functions put their whole message where the code goes.
        return None, code or str(error)
    template = _AWS_TEMPLATES.get(code) or _engine_errors.JException.error_codes.get(code)
    if template is None:
        return code, str(error)
    if template == "{{{message}}}":
        return code, "" if error.current is None else str(error.current)
    arguments = [error.current, error.expected, error.extra]
    if code == "T0411":
        # Raised with (context value, argument index); the text names only the index.
        arguments = [error.expected, error.current]
    if code == "T0412" and isinstance(error.extra, str):
        arguments[2] = _ARRAY_ITEM_TYPES.get(error.extra[:1], error.extra)
    supply = iter(arguments)

    def fill(match: re.Match[str]) -> str:
        return _json_text(next(supply, None))

    return code, _PLACEHOLDER.sub(fill, _MISNAMED.sub("function", template))


def _json_text(value: Any) -> str:
    # JSONata writes each value into its message as JSON ("+" quoted, -1 bare).
    if value is None:
        return "undefined"
    try:
        return json.dumps(_from_engine(value), ensure_ascii=False, separators=(",", ":"))
    except (JsonataEvaluationError, TypeError, ValueError):
        return str(value)


def _position(error: Any) -> int | None:
    location = getattr(error, "location", None)
    return location if isinstance(location, int) and location >= 0 else None


# --- The functions Step Functions adds ---------------------------------------------------


class _Native(_engine.Jsonata.JFunctionCallable):
    """Adapts a Python function to the engine's calling convention."""

    def __init__(self, body: Callable[..., Any]) -> None:
        self.body = body

    def call(self, context: Any, args: Any) -> Any:
        return self.body(*(args or ()))


def _function(signature: str, body: Callable[..., Any]) -> Any:
    return _engine.Jsonata.JFunction(_Native(body), signature)


def _fail(message: str) -> JsonataEvaluationError:
    # D3137 is the code of JSONata's $error(): AWS reports its own functions' failures so.
    return JsonataEvaluationError("D3137", message)


def _whole(number: float) -> int:
    # AWS truncates counts and seeds towards zero (-1.7 -> -1).
    return int(number)


def _partition(items: Any, size: Any) -> Any:
    if items is None:
        return None
    if size is None:
        return [list(items)] if items else None
    chunk = _whole(size)
    if chunk < 0:
        raise _fail("Second argument must be zero or greater")
    if chunk == 0 or not items:
        return None
    return [list(items[start : start + chunk]) for start in range(0, len(items), chunk)]


_MAX_RANGE_ITEMS = 10_000_000  # JSONata's own limit for [a..b]


def _range(start: Any, end: Any, step: Any) -> Any:
    if start is None or end is None or step is None:
        return None
    first, last, increment = _whole(start), _whole(end), _whole(step)
    if increment == 0:
        return None
    numbers = range(first, last + (1 if increment > 0 else -1), increment)
    if len(numbers) > _MAX_RANGE_ITEMS:
        raise _fail(f"The range must not have more than {_MAX_RANGE_ITEMS} items")
    # AWS returns a JSONata sequence: one item comes out bare, none is undefined.
    if not numbers:
        return None
    if len(numbers) == 1:
        return numbers[0]
    return list(numbers)


_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _hash(text: Any, algorithm: Any) -> Any:
    if text is None or algorithm is None:
        return None
    digest = _HASHES.get(algorithm)
    if digest is None:
        supported = ", ".join(_HASHES)
        raise _fail(f"Unsupported hash algorithm '{algorithm}'. Use one of: {supported}")
    return str(digest(text.encode("utf-8", "surrogatepass")).hexdigest())


def _random(seed: Any = None) -> float:
    if seed is None:
        return _CURRENT.get().ids.random()
    return _JavaRandom(_whole(seed)).next_double()


def _uuid() -> str:
    return _CURRENT.get().ids.uuid()


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
        raise _fail("Invalid JSON") from None
    if not _finite(value):
        raise _fail("Invalid JSON")
    return _to_engine(value)


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
    return _engine_functions.Functions.datetime_from_millis(
        _CURRENT.get().millis, picture, timezone
    )


def _millis() -> int:
    return _CURRENT.get().millis


def _shuffle(items: Any) -> Any:
    if items is None:
        return None
    shuffled = list(items)
    draw = _CURRENT.get().ids.random
    # Fisher-Yates with the execution's random numbers instead of the process's.
    for index in range(len(shuffled) - 1, 0, -1):
        other = min(int(draw() * (index + 1)), index)
        shuffled[index], shuffled[other] = shuffled[other], shuffled[index]
    return shuffled


class _JavaRandom:
    """``java.util.Random``: AWS draws a seeded ``$random(seed)`` from it, so the same seed
    gives AWS's number (``$random(42)`` is ``0.7275636800328681``)."""

    _MULTIPLIER = 0x5DEECE66D
    _MASK = (1 << 48) - 1

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * self._MULTIPLIER + 0xB) & self._MASK
        return self._seed >> (48 - bits)

    def next_double(self) -> float:
        return ((self._next(26) << 27) + self._next(27)) * 2.0**-53


_STEP_FUNCTIONS_EXTRAS: dict[str, Any] = {
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


class _ExecutionDatetime(_datetime.datetime):
    """``datetime`` whose ``utcnow`` is the evaluation's ``now``.

    The engine fills the parts a ``$toMillis`` picture leaves out (``'[H01]:[m01]'``) from
    the current date; this keeps that date the execution's, not the machine's.
    """

    @classmethod
    def utcnow(cls) -> _datetime.datetime:  # type: ignore[override]
        run = _CURRENT.get(None)
        moment = (
            _datetime.datetime.now(_datetime.UTC)
            if run is None
            else _datetime.datetime.fromtimestamp(run.now, _datetime.UTC)
        )
        return moment.replace(tzinfo=None)


def _pin_engine_clock() -> None:
    module = getattr(_engine_datetimeutils, "datetime", None)
    if isinstance(module, types.ModuleType) and module is _datetime:
        shim = types.ModuleType("datetime")
        shim.__dict__.update(_datetime.__dict__)
        shim.datetime = _ExecutionDatetime  # type: ignore[attr-defined]
        _engine_datetimeutils.datetime = shim


_pin_engine_clock()


# --- Templates: JSON values with expressions inside -------------------------------------


def evaluate_template(
    value: Any,
    bindings: Mapping[str, Any],
    *,
    now: float,
    ids: IdSourceLike,
    field: str,
) -> Any:
    """Evaluate every ``{% %}`` string in ``value``, at any depth, as AWS does for
    ``Arguments``, ``Output``, ``Assign`` and the other JSONata fields.

    Args:
        value: the field's JSON value from the definition.
        bindings: the variables, as for :meth:`Expression.evaluate`.
        now: the execution clock's time in seconds since the epoch.
        ids: the execution's source of UUIDs and random numbers.
        field: the field's name for messages (``Output``); members add their key
            (``Output/FunctionResult``) and array items their index (``Output/items/0``).

    Returns:
        A copy of ``value`` with each expression replaced by its result.

    Raises:
        StateError: ``States.QueryEvaluationError`` with AWS's detail text.
    """
    engine_bindings = _to_engine_bindings(bindings)
    return _walk(value, engine_bindings, now, ids, field)


def _walk(value: Any, bindings: dict[str, Any], now: float, ids: IdSourceLike, field: str) -> Any:
    if isinstance(value, str):
        if not is_expression(value):
            return value
        text = expression_text(value)
        result = _evaluate_field(text, bindings, now, ids, field)
        if result is UNDEFINED:
            raise StateError(QUERY_EVALUATION_ERROR, _undefined_detail(text, field))
        return result
    if isinstance(value, dict):
        return {
            key: _walk(item, bindings, now, ids, f"{field}/{key}") for key, item in value.items()
        }
    if isinstance(value, list):
        return [_walk(item, bindings, now, ids, f"{field}/{i}") for i, item in enumerate(value)]
    return value


def _evaluate_field(
    text: str, bindings: dict[str, Any], now: float, ids: IdSourceLike, field: str
) -> Any:
    prefix = f"The JSONata expression '{text}' specified for the field '{field}'"
    try:
        return compile_expression(text)._evaluate(bindings, now, ids)
    except _UnsupportedResult:
        raise StateError(
            QUERY_EVALUATION_ERROR, f"{prefix} returned an unsupported result type."
        ) from None
    except (JsonataEvaluationError, JsonataSyntaxError) as error:
        raise StateError(
            QUERY_EVALUATION_ERROR, f"{prefix} threw an error during evaluation. {error}"
        ) from None


def _undefined_detail(text: str, field: str) -> str:
    return (
        f"The JSONata expression '{text}' specified for the field '{field}' "
        "returned nothing (undefined)."
    )


def json_type(value: Any) -> str:
    """The JSON type name AWS uses in messages: ``null``, ``boolean``, ``number``,
    ``string``, ``array`` or ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def evaluate_typed(
    value: Any,
    bindings: Mapping[str, Any],
    *,
    now: float,
    ids: IdSourceLike,
    field: str,
    expected: str,
) -> Any:
    """Like :func:`evaluate_template`, for a field whose expression must give one JSON type
    (``Items`` an ``array``, ``MaxConcurrency`` a ``number``).

    A literal ``value`` (no expression) is returned as evaluated, unchecked: the definition's
    validation has seen it. An expression's result of another type fails as AWS words it:
    ``... returned an unexpected result type. Expected 'array', but was 'null' for value:
    null``.
    """
    result = evaluate_template(value, bindings, now=now, ids=ids, field=field)
    if is_expression(value) and json_type(result) != expected:
        text = expression_text(value)
        shown = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        raise StateError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' returned an "
            f"unexpected result type. Expected '{expected}', but was '{json_type(result)}' "
            f"for value: {shown}",
        )
    return result
