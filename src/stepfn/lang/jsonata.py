"""JSONata, the query language of JSONata states: ``"{% $states.input.order.amount * 2 %}"``.

The language itself comes from the ``jsonata-python`` package (see docs/jsonata-engine.md
for why that one). This module is the seam between it and stepfn: it compiles the text
inside ``{% %}``, binds ``$states`` and the workflow's variables, adds the functions Step
Functions provides, and turns the engine's failures into the texts AWS shows.

Plain expressions (paths, literals, constructors, arithmetic, comparisons, a few
functions) also get a compiled fast path, :mod:`stepfn.lang.jsonata_fast`, which works on
stepfn's values directly and hands anything it is not sure of back to the engine: results
and errors are the engine's either way. The engine's copy of the variables (null turned
into its sentinel, all through ``$states.input``) is made only when the engine is used.

What AWS does that plain JSONata does not, as recorded against AWS:

* A value is an expression only when the whole string is ``{% ... %}``: ``" {% x %} "``
  (spaces outside the delimiters) is a literal string. Spaces inside are trimmed, and the
  trimmed text is what error messages quote.
* An expression that returns nothing fails the state: ``The JSONata expression
  '$doesNotExist' specified for the field 'Output' returned nothing (undefined).`` Inside
  an object template the field is the path to it (``Output/FunctionResult``,
  ``Assign/result``): AWS does not drop the key. (Array items are named by index,
  ``Output/items/0``: no recording shows how AWS names them.)
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

import functools
import json
import math
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

# The package ships no type information; mypy is told so once, on its first import.
from jsonata import jexception as _engine_errors  # type: ignore[import-untyped]
from jsonata import jsonata as _engine
from jsonata import signature as _engine_signature

from stepfn.errors import QUERY_EVALUATION_ERROR, StateError
from stepfn.lang.jsonata_fast import NOTHING, Evaluator, Fallback, NameKind, compile_fast
from stepfn.lang.jsonata_functions import (
    CURRENT,
    EXTRAS,
    JSON_NULL,
    MAX_STEPS,
    Evaluation,
    FunctionFailure,
    IdSourceLike,
    StepBudgetExceeded,
    engine_value,
)

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

# JSONata's numbers are doubles; below this AWS writes a whole one with all its digits.
_WHOLE_NUMBER_LIMIT = 1e21

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
        compiled = self._compile()
        self._fast = compile_fast(compiled.ast, functools.partial(_engine_binding, compiled))
        # jsonata-python keeps evaluation state on the compiled object (its environment),
        # so each thread evaluates a copy of its own: evaluations run concurrently, none
        # waits behind another's (a long one is bounded by MAX_STEPS).
        self._local = threading.local()
        self._local.compiled = compiled

    def _compile(self) -> Any:
        text = self.text
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
        for name, function in EXTRAS.items():
            compiled.register_function(name, function)
        return compiled

    def _compiled_here(self) -> Any:
        """This thread's copy of the compiled expression."""
        compiled = getattr(self._local, "compiled", None)
        if compiled is None:
            compiled = self._local.compiled = self._compile()
        return compiled

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    @property
    def fast_path(self) -> Evaluator | None:
        """The compiled fast path (see :mod:`stepfn.lang.jsonata_fast`), or ``None`` when
        the expression is outside its subset and always runs in the engine."""
        return self._fast

    def evaluate(self, bindings: Mapping[str, Any], *, now: float, ids: IdSourceLike) -> Any:
        """Run the expression with ``bindings`` as its ``$`` variables.

        The fast path answers when it can vouch for the result; otherwise the engine does,
        so results and errors are the engine's either way.

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
        return self._run(_Scope(bindings, now, ids))

    def evaluate_engine(self, bindings: Mapping[str, Any], *, now: float, ids: IdSourceLike) -> Any:
        """Like :meth:`evaluate`, in the engine alone: the reference the fast path is
        checked against."""
        return self._evaluate(_to_engine_bindings(bindings), now, ids)

    def _run(self, scope: _Scope) -> Any:
        fast = self._fast
        if fast is not None:
            try:
                result = fast(scope.bindings)
            except Fallback:
                pass
            else:
                return UNDEFINED if result is NOTHING else result
        return self._evaluate(scope.engine_bindings(), scope.now, scope.ids)

    def _evaluate(self, engine_bindings: dict[str, Any], now: float, ids: IdSourceLike) -> Any:
        run = Evaluation(now, ids)
        frame = dict(engine_bindings)
        # The engine calls this on entering every node; it is how the step budget is kept.
        frame["__evaluate_entry"] = run.step
        token = CURRENT.set(run)
        try:
            result = self._compiled_here().evaluate(None, frame)
        except JsonataEvaluationError:
            raise
        except FunctionFailure as failure:
            # D3137 is the code of JSONata's $error(): AWS's functions fail with it.
            raise JsonataEvaluationError("D3137", str(failure)) from None
        except StepBudgetExceeded:
            raise JsonataEvaluationError(None, _TOO_MANY_STEPS) from None
        except _JException as error:
            raise JsonataEvaluationError(*_describe_engine_error(error)) from None
        except RecursionError:
            raise JsonataEvaluationError(None, _STACK_OVERFLOW) from None
        except ZeroDivisionError:
            raise JsonataEvaluationError("D1001", "Number out of range: Infinity") from None
        except Exception as error:  # the engine lets a few plain Python errors out
            raise JsonataEvaluationError(None, str(error)) from None
        finally:
            CURRENT.reset(token)
        if result is None:
            return UNDEFINED
        return _from_engine(result)


_STACK_OVERFLOW = (
    "Stack overflow error: Check for non-terminating recursive function.  "
    "Consider rewriting as tail-recursive."
)
_TOO_MANY_STEPS = "Expression evaluation timeout: Check for infinite loop"


# --- Values in and out of the engine ----------------------------------------------------


def _to_engine_bindings(bindings: Mapping[str, Any]) -> dict[str, Any]:
    return {name: engine_value(value) for name, value in bindings.items()}


def _engine_binding(compiled: Any, name: str) -> NameKind:
    """What the engine finds for ``$name`` when the caller does not bind it, for the fast
    path: a name bound to nothing is undefined there too, and only the library's own
    functions are ones the fast path may stand in for."""
    bound = compiled.environment.lookup(name)
    if bound is None:
        return "unbound"
    if isinstance(bound, _Jsonata.JNativeFunction) and bound.function_name == name:
        return "builtin"
    return "other"


def _from_engine(value: Any) -> Any:
    if value is JSON_NULL:
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
# {{{name}}} takes the value as it is, {{name}} as JSON.
_PLACEHOLDER = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")
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
        # Raised with (context value, argument index) and without the function's name.
        arguments = [error.expected]
    if code == "T0412" and isinstance(error.extra, str):
        arguments[2] = _ARRAY_ITEM_TYPES.get(error.extra[:1], error.extra)
    supply = iter(arguments)

    def fill(match: re.Match[str]) -> str:
        value = next(supply, None)
        if match.group(1) is not None:
            return "" if value is None else str(value)
        return _json_text(value)

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


# --- Corrections to the engine ------------------------------------------------------------

# Two places where jsonata-python departs from the JSONata reference, and so from AWS, in
# what a wrong argument gives. Each is a small wrapper around the engine's own method.


def _correct_signature_checks() -> None:
    checker = _engine_signature.Signature
    symbol_of = checker.get_symbol

    def get_symbol(self: Any, value: Any) -> str:
        # The engine takes JSON null for a missing argument, so $uppercase(null) gave
        # undefined where JSONata (and AWS) report T0410.
        return "l" if value is JSON_NULL else str(symbol_of(self, value))

    def throw_validation_error(
        self: Any, bad_args: Any, bad_sig: str, function_name: str | None
    ) -> None:
        # The engine compares each parameter's pattern with the whole argument list, so it
        # always blamed argument 1; JSONata names the first argument that does not fit.
        pattern, matched = "^", 0
        for param in self._params:
            pattern += param.regex
            found = re.match(pattern, bad_sig)
            if found is None:
                break
            matched = found.end()
        raise _JException("T0410", -1, matched + 1, function_name)

    checker.get_symbol = get_symbol
    checker.throw_validation_error = throw_validation_error


_correct_signature_checks()


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
        ``value`` with each expression replaced by its result. Parts without expressions
        are the definition's own values, shared, not copied (values are never mutated).

    Raises:
        StateError: ``States.QueryEvaluationError`` with AWS's detail text.
    """
    return _plan(value, field)(_Scope(bindings, now, ids))


class _Scope:
    """What one evaluation (of an expression, or of all those in a template) hands to its
    expressions."""

    __slots__ = ("_engine_bindings", "bindings", "ids", "now")

    def __init__(self, bindings: Mapping[str, Any], now: float, ids: IdSourceLike) -> None:
        self.bindings = bindings
        self.now = now
        self.ids = ids
        self._engine_bindings: dict[str, Any] | None = None

    def engine_bindings(self) -> dict[str, Any]:
        """The variables as the engine wants them, converted on first use: the fast path
        needs no conversion, and walking a large ``$states.input`` is most of the cost of
        a small expression."""
        if self._engine_bindings is None:
            self._engine_bindings = _to_engine_bindings(self.bindings)
        return self._engine_bindings


_Plan = Callable[[_Scope], Any]

# A template's plan depends only on the definition's value and the field's name, so it is
# made once: the walk over the value, the test for "{% %}", the look-up of the compiled
# expression and the field names of its members are not redone on every evaluation.
# Strings are keyed by value; containers by identity, with the value kept in the entry so
# that its id cannot be reused while the entry lives (as the interpreter's caches do):
# definition values are never changed in place.
_PLANS: dict[tuple[Any, str], tuple[Any, _Plan]] = {}
_MAX_PLANS = 4096


def _plan(value: Any, field: str) -> _Plan:
    key = (value if isinstance(value, str) else id(value), field)
    entry = _PLANS.get(key)
    if entry is not None:
        return entry[1]
    plan = _make_plan(value, field)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()  # definitions read afresh (a worker's) must not pile up
    _PLANS[key] = (value, plan)
    return plan


def _make_plan(value: Any, field: str) -> _Plan:
    if isinstance(value, str):
        if is_expression(value):
            return _expression_plan(expression_text(value), field)
        return _Constant(value)
    if isinstance(value, dict):
        members = [(key, _make_plan(item, f"{field}/{key}")) for key, item in value.items()]
        if all(isinstance(plan, _Constant) for _, plan in members):
            return _Constant(value)
        return lambda scope: {key: plan(scope) for key, plan in members}
    if isinstance(value, list):
        items = [_make_plan(item, f"{field}/{i}") for i, item in enumerate(value)]
        if all(isinstance(plan, _Constant) for plan in items):
            return _Constant(value)
        return lambda scope: [plan(scope) for plan in items]
    return _Constant(value)


class _Constant:
    """The plan of a part without expressions: the value itself."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, scope: _Scope) -> Any:
        return self.value


def _expression_plan(text: str, field: str) -> _Plan:
    try:
        expression = compile_expression(text)
    except JsonataSyntaxError as error:
        # Validation refuses these; should one get here, it fails the state when reached.
        failure = error

        def refuse(scope: _Scope) -> Any:
            raise _field_error(text, field, failure)

        return refuse

    def run(scope: _Scope) -> Any:
        try:
            result = expression._run(scope)
        except JsonataEvaluationError as error:
            raise _field_error(text, field, error) from None
        if result is UNDEFINED:
            raise StateError(QUERY_EVALUATION_ERROR, _undefined_detail(text, field))
        return result

    return run


def _field_error(text: str, field: str, error: Exception) -> StateError:
    prefix = f"The JSONata expression '{text}' specified for the field '{field}'"
    if isinstance(error, _UnsupportedResult):
        return StateError(QUERY_EVALUATION_ERROR, f"{prefix} returned an unsupported result type.")
    return StateError(QUERY_EVALUATION_ERROR, f"{prefix} threw an error during evaluation. {error}")


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
