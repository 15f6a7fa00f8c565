"""A compiled fast path for the JSONata that workflows mostly write.

The engine (jsonata-python) is faithful but interprets every node through a generic
evaluator that works on its own value model (its own null, sequences, frames). Most
expressions in a workflow are much plainer than the language allows:
``$states.input.order.amount * 2``, ``$merge([$states.input, {'ok': true}])``,
``$states.input.valid = true``. This module turns the engine's parsed tree of such an
expression into nested Python closures that work directly on JSON values as stepfn holds
them (``None`` is null), with no conversion in or out.

It is a fast path, never a second implementation: the engine stays the reference.

* At **compile time**, anything outside the subset below means no fast path at all
  (:func:`compile_fast` returns ``None``) and the wrapper uses the engine, as before.
* At **run time**, whenever a closure meets a value whose meaning it does not reproduce
  exactly, it raises :class:`Fallback` and the wrapper evaluates the same expression with
  the engine, so the result, or the error and its message, is the engine's. Examples: a
  list along a path (JSONata maps over it), JSON null in arithmetic (an error, whose text
  is the engine's to write), a float ``$string`` would have to format, a division by
  zero, a variable that shadows a function.

The subset, exactly:

=====================  =======================================================================
literals               strings, numbers, ``true``, ``false``, ``null``
variables              ``$name`` bound by the caller; an unbound name the engine does not know
                       either is undefined
paths                  ``$name.member.member``: a variable, then plain member names, through
                       objects only (no predicates, ``[]``, wildcards, ``%``, ``@``, ``#``)
constructors           ``{'key': expr, ...}`` with distinct literal string keys (an undefined
                       value leaves its key out, as the engine does); ``[expr, ...]``
operators              ``= !=`` on any values; ``< <= > >=`` on two numbers or two strings;
                       ``+ - * / %`` and unary ``-`` on numbers; ``&`` on strings and small
                       integers; ``and``, ``or``; ``cond ? a : b``; ``( ... ; ... )``
functions              ``$merge`` (array of objects), ``$exists``, ``$string`` (string or
                       integer below 10^15), ``$count`` (array), ``$sum`` (array of numbers),
                       ``$uppercase``, ``$lowercase`` (string), ``$not``, ``$boolean``
                       (boolean), each with exactly one argument
=====================  =======================================================================

Results are settled as the wrapper settles the engine's: a whole-number float comes out
as an ``int``; a non-finite number falls back (the engine reports it as an error).
Undefined is :data:`NOTHING`, which the wrapper turns into its ``UNDEFINED``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

__all__ = ["NOTHING", "Evaluator", "Fallback", "NameKind", "compile_fast"]


class Fallback(Exception):
    """The fast path cannot vouch for this evaluation: ask the engine."""


class _Nothing:
    """The type of :data:`NOTHING`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()
"""JSONata's *undefined* inside the fast path (``None`` is JSON null)."""

Evaluator = Callable[[Mapping[str, Any]], Any]
"""A compiled expression: the variables (name without ``$`` to JSON value) to its result,
a settled JSON value or :data:`NOTHING`. Raises :class:`Fallback`."""

NameKind = Literal["unbound", "builtin", "other"]
"""What the engine binds a ``$name`` to when the caller's variables do not: nothing, the
JSONata library function of that name, or something else (an extra function, say)."""

_Node = Any  # the engine's parser symbol; the engine ships no type information
_Closure = Callable[[Mapping[str, Any]], Any]

# Nesting deeper than this gets no fast path. The engine spends several Python frames per
# level where a closure spends one; keeping expressions shallow keeps "the engine would
# overflow the stack here" out of the fast path's business.
_MAX_DEPTH = 32
# The engine counts every node it enters against the step budget; the fast path visits
# each node at most once, so an expression smaller than this cannot exhaust the budget.
_MAX_NODES = 10_000
# What JSONata formats as plain digits: $string(1e15) is "1e+15".
_PLAIN_INTEGER_LIMIT = 10**15
# Below this a whole double is written with all its digits (as the wrapper does).
_WHOLE_NUMBER_LIMIT = 1e21

_SCALARS = frozenset({str, int, float, bool, type(None)})
# Values the wrapper hands back unchanged.
_SETTLED = frozenset({str, int, bool, type(None)})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
# Node decorations that give a node meanings beyond the plain one (filters, sorting,
# grouping, keeping singleton arrays, focus and index variables, parent references).
_DECORATIONS = (
    "predicate",
    "stages",
    "group",
    "tuple",
    "focus",
    "index",
    "ancestor",
    "seeking_parent",
    "keep_array",
    "keep_singleton_array",
    "consarray",
)


class _Unsupported(Exception):
    """Compile-time: this expression is not in the subset."""


def compile_fast(ast: _Node, resolve: Callable[[str], NameKind]) -> Evaluator | None:
    """The fast path for a parsed expression, or ``None`` when it is not in the subset.

    Args:
        ast: the engine's parsed tree (``Jsonata(text).ast``).
        resolve: what the engine binds a name to outside the caller's variables.
    """
    compiler = _Compiler(resolve)
    try:
        body = compiler.compile(ast, 0)
    except (_Unsupported, RecursionError):
        return None

    def evaluate(bindings: Mapping[str, Any]) -> Any:
        try:
            value = body(bindings)
            return value if value is NOTHING else _settle(value)
        except (OverflowError, RecursionError):
            # float() of a huge integer, or a very deep value: the engine has its own way
            # of failing there, and its words are the ones to show.
            raise Fallback from None

    return evaluate


# --- Values ---------------------------------------------------------------------------------


def _settle(value: Any) -> Any:
    """``value`` as the wrapper returns the engine's results: whole floats as ints.

    Returns ``value`` itself when nothing changes (values are never mutated in place, so
    sharing is safe), else a copy along the changed parts.
    """
    kind = type(value)
    if kind is dict or kind is list:
        # Most containers hold no float and no container: one pass over their types, at C
        # speed, settles them.
        if _SETTLED.issuperset(map(type, value.values() if kind is dict else value)):
            return value
        # Else each member in turn, in this frame (a call per container costs more than
        # the loop on the inputs of a typical state).
        changed: Any = None
        for key, item in value.items() if kind is dict else enumerate(value):
            item_kind = type(item)
            if item_kind in _SETTLED or (
                item_kind is float and not item.is_integer() and math.isfinite(item)
            ):
                continue
            settled = _settle(item)
            if settled is not item:
                if changed is None:
                    changed = kind(value)
                changed[key] = settled
        return value if changed is None else changed
    if kind is float:
        if not math.isfinite(value):
            raise Fallback  # the engine reports D1001
        if value.is_integer() and abs(value) < _WHOLE_NUMBER_LIMIT:
            return int(value)
        return value
    if kind in _SETTLED:
        return value
    raise Fallback  # not a JSON value: let the engine say what it makes of it


def _is_number(value: Any) -> bool:
    """A number the engine computes with: not a boolean, not NaN or infinite (the engine
    raises on those, in its own words)."""
    kind = type(value)
    return kind is int or (kind is float and math.isfinite(value))


def _number(value: float) -> Any:
    """An arithmetic result as the engine leaves it: whole values as ints."""
    if not math.isfinite(value):
        raise Fallback  # overflow: the engine reports D1001
    return int(value) if value.is_integer() else value


def _truthy(value: Any) -> bool:
    """JSONata's effective boolean value of a JSON value (undefined is false)."""
    kind = type(value)
    if kind is bool:
        return bool(value)
    if kind is str or kind is dict:
        return len(value) > 0
    if kind is int or kind is float:
        # As a double, like the engine: an integer too large for one fails there.
        return float(value) != 0
    if kind is list:
        if len(value) == 1:
            return _truthy(value[0])
        return any(_truthy(item) for item in value)
    if value is None or value is NOTHING:
        return False
    raise Fallback


def _equal(left: Any, right: Any) -> bool:
    """JSONata's deep equality of two JSON values: a boolean never equals a number, and
    items are compared one by one (so a NaN never equals itself, even in one list)."""
    left_kind, right_kind = type(left), type(right)
    if left_kind is list:
        if right_kind is not list:
            _check_json(right)
            return False
        if len(left) != len(right):
            return False
        return all(_equal(a, b) for a, b in zip(left, right, strict=True))
    if left_kind is dict:
        if right_kind is not dict:
            _check_json(right)
            return False
        if left.keys() != right.keys():
            return False
        return all(_equal(item, right[key]) for key, item in left.items())
    if left_kind not in _SCALARS or right_kind not in _SCALARS:
        _check_json(right)
        _check_json(left)
        return False
    return bool(left == right) and (left_kind is bool) == (right_kind is bool)


def _check_json(value: Any) -> None:
    if type(value) not in _SCALARS and type(value) is not list and type(value) is not dict:
        raise Fallback


def _as_double(value: Any) -> Any:
    """A number as the engine compares it at the top of ``=`` (as a double)."""
    kind = type(value)
    if kind is int:
        return float(value)
    return value


def _text(value: Any) -> str:
    """An operand of ``&`` as the engine writes it, where that is plain."""
    if value is NOTHING:
        return ""
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is int and -_PLAIN_INTEGER_LIMIT < value < _PLAIN_INTEGER_LIMIT:
        return str(value)
    raise Fallback  # floats, booleans, objects: JSONata's own formatting


# --- Functions --------------------------------------------------------------------------------


def _merge(argument: Any) -> Any:
    if type(argument) is not list:
        raise Fallback
    merged: dict[str, Any] = {}
    for item in argument:
        if type(item) is not dict:
            raise Fallback  # T0412, or a lone object the signature would wrap
        merged.update(item)
    return merged


def _exists(argument: Any) -> Any:
    return argument is not NOTHING


def _string(argument: Any) -> Any:
    if argument is NOTHING:
        raise Fallback
    return _text(argument)


def _count(argument: Any) -> Any:
    if type(argument) is not list:
        raise Fallback  # the signature would wrap a non-array in one
    return len(argument)


def _sum(argument: Any) -> Any:
    if type(argument) is not list or not all(_is_number(item) for item in argument):
        raise Fallback
    total = sum(argument)
    if type(total) is float:
        return _number(total)
    # The engine hands an integer total back as a double when a double cannot hold it.
    as_double = float(total)
    return total if as_double == total else as_double


def _uppercase(argument: Any) -> Any:
    if type(argument) is not str:
        raise Fallback
    return argument.upper()


def _lowercase(argument: Any) -> Any:
    if type(argument) is not str:
        raise Fallback
    # The engine lowercases with casefold ('ß' becomes 'ss'); what it does is the rule.
    return argument.casefold()


def _not(argument: Any) -> Any:
    if type(argument) is not bool:
        raise Fallback
    return not argument


def _boolean(argument: Any) -> Any:
    if type(argument) is not bool:
        raise Fallback
    return argument


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "merge": _merge,
    "exists": _exists,
    "string": _string,
    "count": _count,
    "sum": _sum,
    "uppercase": _uppercase,
    "lowercase": _lowercase,
    "not": _not,
    "boolean": _boolean,
}


# --- Compiling --------------------------------------------------------------------------------


class _Compiler:
    """Turns one parsed expression into closures, refusing anything outside the subset."""

    def __init__(self, resolve: Callable[[str], NameKind]) -> None:
        self.resolve = resolve
        self.nodes = 0

    def compile(self, node: _Node, depth: int) -> _Closure:
        self.nodes += 1
        if depth > _MAX_DEPTH or self.nodes > _MAX_NODES:
            raise _Unsupported
        _require_plain(node)
        kind = node.type
        if kind in ("string", "number", "value"):
            return _constant(node.value)
        if kind == "variable":
            return self.variable(node)
        if kind == "path":
            return self.path(node)
        if kind == "binary":
            return self.binary(node, depth)
        if kind == "unary":
            return self.unary(node, depth)
        if kind == "condition":
            return self.condition(node, depth)
        if kind == "block":
            return self.block(node, depth)
        if kind == "function":
            return self.function(node, depth)
        raise _Unsupported

    def variable(self, node: _Node) -> _Closure:
        name = node.value
        # "" is the context value ($) and "$" the root ($$): the engine's own business.
        if not isinstance(name, str) or name in ("", "$") or name.startswith("__"):
            raise _Unsupported
        # A name the caller does not bind is undefined only if the engine binds nothing to
        # it either ($string alone is a function, which JSON cannot hold).
        unbound = self.resolve(name) == "unbound"

        def read(bindings: Mapping[str, Any]) -> Any:
            value = bindings.get(name, NOTHING)
            if value is NOTHING and not unbound:
                raise Fallback
            return value

        return read

    def path(self, node: _Node) -> _Closure:
        steps = node.steps or ()
        if not steps or steps[0].type != "variable":
            raise _Unsupported  # a path from the context value, or from a constructor
        for step in steps:
            self.nodes += 1
            _require_plain(step)
        start = self.variable(steps[0])
        keys = tuple(_member_name(step) for step in steps[1:])

        def walk(bindings: Mapping[str, Any]) -> Any:
            value = start(bindings)
            for key in keys:
                if type(value) is dict:
                    value = value.get(key, NOTHING)
                elif value is NOTHING or type(value) in _SCALARS:
                    return NOTHING  # a member of a string, number or null is nothing
                else:
                    raise Fallback  # an array: JSONata maps the rest of the path over it
            return value

        return walk

    def binary(self, node: _Node, depth: int) -> _Closure:
        operator = node.value
        left = self.compile(node.lhs, depth + 1)
        right = self.compile(node.rhs, depth + 1)
        if operator in _ARITHMETIC:
            return _arithmetic(operator, left, right)
        if operator in ("=", "!="):
            return _equality(operator == "=", left, right)
        if operator in _ORDERING:
            return _ordering(operator, left, right)
        if operator == "&":
            return lambda bindings: _text(left(bindings)) + _text(right(bindings))
        if operator == "and":
            return lambda bindings: _truthy(left(bindings)) and _truthy(right(bindings))
        if operator == "or":
            return lambda bindings: _truthy(left(bindings)) or _truthy(right(bindings))
        raise _Unsupported  # "in", "..", and anything newer

    def unary(self, node: _Node, depth: int) -> _Closure:
        operator = node.value
        if operator == "-":
            return _negation(self.compile(node.expression, depth + 1))
        if operator == "[":
            items = node.expressions or []
            parts = tuple(
                # An item that is itself an array constructor is kept whole; any other
                # array value is spliced in, as the engine does ([$a, [1]] is flat, then
                # nested). The test is the engine's own: the item node's value.
                (self.compile(item, depth + 1), str(item.value) == "[")
                for item in items
            )
            return _array(parts)
        if operator == "{":
            pairs = node.lhs_object or []
            entries: list[tuple[str, _Closure]] = []
            seen: set[str] = set()
            for pair in pairs:
                key_node, value_node = pair
                self.nodes += 1
                _require_plain(key_node)
                if key_node.type != "string" or not isinstance(key_node.value, str):
                    raise _Unsupported  # computed keys group by value
                if key_node.value in seen:
                    raise _Unsupported  # the engine raises D1009
                seen.add(key_node.value)
                entries.append((key_node.value, self.compile(value_node, depth + 1)))
            return _object(tuple(entries))
        raise _Unsupported

    def condition(self, node: _Node, depth: int) -> _Closure:
        test = self.compile(node.condition, depth + 1)
        then = self.compile(node.then, depth + 1)
        otherwise = (
            self.compile(node._else, depth + 1) if node._else is not None else _constant(NOTHING)
        )
        return lambda bindings: then(bindings) if _truthy(test(bindings)) else otherwise(bindings)

    def block(self, node: _Node, depth: int) -> _Closure:
        parts = tuple(self.compile(item, depth + 1) for item in node.expressions or ())
        if not parts:
            return _constant(NOTHING)
        if len(parts) == 1:
            return parts[0]

        def sequence(bindings: Mapping[str, Any]) -> Any:
            value = NOTHING
            for part in parts:
                value = part(bindings)
            return value

        return sequence

    def function(self, node: _Node, depth: int) -> _Closure:
        procedure = node.procedure
        if procedure is None or procedure.type != "variable":
            raise _Unsupported
        self.nodes += 1
        _require_plain(procedure)
        name = procedure.value
        body = _FUNCTIONS.get(name) if isinstance(name, str) else None
        arguments = node.arguments or []
        # One argument exactly: with none, these functions read the context value.
        if body is None or len(arguments) != 1 or self.resolve(name) != "builtin":
            raise _Unsupported
        argument = self.compile(arguments[0], depth + 1)

        def call(bindings: Mapping[str, Any]) -> Any:
            if name in bindings:
                raise Fallback  # a workflow variable shadows the function
            return body(argument(bindings))

        return call


def _require_plain(node: _Node) -> None:
    for attribute in _DECORATIONS:
        if getattr(node, attribute, None):
            raise _Unsupported


def _member_name(step: _Node) -> str:
    if step.type != "name" or not isinstance(step.value, str):
        raise _Unsupported  # wildcards, descendants, literals, calls as steps
    return str(step.value)


def _constant(value: Any) -> _Closure:
    return lambda bindings: value


def _arithmetic(operator: str, left: _Closure, right: _Closure) -> _Closure:
    def apply(bindings: Mapping[str, Any]) -> Any:
        a = left(bindings)
        b = right(bindings)
        # Anything but a number or undefined is T2001/T2002, in the engine's words.
        if not (a is NOTHING or _is_number(a)) or not (b is NOTHING or _is_number(b)):
            raise Fallback
        if a is NOTHING or b is NOTHING:
            return NOTHING
        # The engine computes in doubles.
        x, y = float(a), float(b)
        if operator == "+":
            return _number(x + y)
        if operator == "-":
            return _number(x - y)
        if operator == "*":
            return _number(x * y)
        if y == 0:
            raise Fallback  # the engine's own division-by-zero failure
        if operator == "/":
            return _number(x / y)
        # JSONata's % truncates towards zero, as the engine does.
        return int(math.fmod(x, y))

    return apply


def _negation(operand: _Closure) -> _Closure:
    def negate(bindings: Mapping[str, Any]) -> Any:
        value = operand(bindings)
        if value is NOTHING:
            return NOTHING
        if not _is_number(value):
            raise Fallback  # D1002
        return _number(-float(value))

    return negate


def _equality(equal: bool, left: _Closure, right: _Closure) -> _Closure:
    def compare(bindings: Mapping[str, Any]) -> Any:
        a = left(bindings)
        b = right(bindings)
        if a is NOTHING or b is NOTHING:
            return False  # both = and != are false next to undefined
        same = _equal(_as_double(a), _as_double(b))
        return same if equal else not same

    return compare


def _ordering(operator: str, left: _Closure, right: _Closure) -> _Closure:
    def compare(bindings: Mapping[str, Any]) -> Any:
        a = left(bindings)
        b = right(bindings)
        a_kind, b_kind = type(a), type(b)
        if a_kind is not b_kind:
            if a is NOTHING or b is NOTHING:
                other = b if a is NOTHING else a
                if other is NOTHING or type(other) is str or _is_number(other):
                    return NOTHING
                raise Fallback  # T2010
            if not (_is_number(a) and _is_number(b)):
                raise Fallback  # T2009 or T2010
            a, b = float(a), float(b)
        elif a_kind is not str and not _is_number(a):
            if a is NOTHING:
                return NOTHING
            raise Fallback
        if operator == "<":
            return a < b
        if operator == "<=":
            return a <= b
        if operator == ">":
            return a > b
        return a >= b

    return compare


def _array(parts: tuple[tuple[_Closure, bool], ...]) -> _Closure:
    def build(bindings: Mapping[str, Any]) -> Any:
        result: list[Any] = []
        for part, whole in parts:
            value = part(bindings)
            if value is NOTHING:
                continue
            if type(value) is list and not whole:
                result.extend(value)
            else:
                result.append(value)
        return result

    return build


def _object(entries: tuple[tuple[str, _Closure], ...]) -> _Closure:
    def build(bindings: Mapping[str, Any]) -> Any:
        result: dict[str, Any] = {}
        for key, part in entries:
            value = part(bindings)
            if value is not NOTHING:
                result[key] = value
        return result

    return build
