"""The rules of a Choice state in JSONPath mode.

A rule is either a comparison (``Variable`` plus one operator) or a combination of rules
(``And``, ``Or``, ``Not``). ``compile_rule`` turns the rule as written in ``Choices`` into a
``ChoiceRule`` whose ``matches(data, context, variables)`` the interpreter calls with the
state's effective input, the context object and the workflow variables.

What AWS does, and so what we do:

* A value of the wrong type never matches and is never an error: ``StringEquals`` on a
  number, ``NumericEquals`` on ``"1"``, ``BooleanEquals`` on ``0``, a ``Timestamp...``
  operator on a string that is not a timestamp.
* A ``Variable`` (or a ``...Path`` comparand) that selects nothing fails the state with
  ``States.Runtime`` and the usual ``Invalid path '$.x' : No results for path: $['x']``,
  except under ``IsPresent``, which is there to ask exactly that.
* Numbers compare by value (``1 == 1.0``); booleans are not numbers.
* Strings order as Java orders them (by UTF-16 code unit), which differs from Python's
  code-point order only for characters outside the Basic Multilingual Plane.
* Timestamps are RFC 3339 date-times with an uppercase ``T`` and a ``Z`` or numeric offset
  (``2016-08-18T17:33:00Z``, ``2016-08-18T18:33:00.5+01:00``); they compare as instants.
"""

from __future__ import annotations

import calendar
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from stepfn import errors
from stepfn.errors import DefinitionError, Problem, StateError
from stepfn.lang.jsonpath import JsonPath, JsonPathSyntaxError, PathNotFound, compile_path
from stepfn.lang.wildcard import Wildcard, compile_wildcard

__all__ = ["OPERATORS", "ChoiceRule", "compile_rule", "parse_timestamp"]

# (data, context, variables) -> bool; the context may be a zero-argument callable that
# builds it, so that rules which never read ``$$`` never pay for it.
Test = Callable[[Any, Any, Mapping[str, Any] | None], bool]


class ChoiceRule:
    """A compiled Choice rule; ``source`` is the rule as written."""

    __slots__ = ("_test", "source")

    def __init__(self, source: Mapping[str, Any], test: Test) -> None:
        self.source = source
        self._test = test

    def matches(self, data: Any, context: Any, variables: Mapping[str, Any] | None) -> bool:
        """Whether the rule holds for the state's effective input.

        Args:
            data: the effective input (what ``$`` selects from).
            context: the context object for ``$$``, or a callable returning it.
            variables: the workflow variables visible to the state, if any.

        Raises:
            StateError: ``States.Runtime`` when a path selects nothing (but for IsPresent).
        """
        return self._test(data, context, variables)

    def __repr__(self) -> str:
        return f"ChoiceRule({self.source!r})"


# --- reading values by type ------------------------------------------------------------------

_NOT = object()  # what a reader gives for a value that is not of its type


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else _NOT


def _number(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return _NOT


def _boolean(value: Any) -> Any:
    return value if isinstance(value, bool) else _NOT


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(?:Z|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)"
)


def parse_timestamp(value: Any) -> tuple[int, int] | None:
    """An RFC 3339 timestamp as ``(seconds since the epoch, nanoseconds)``, else None.

    Follows Java's ISO_OFFSET_DATE_TIME, which AWS uses: seconds and their fraction (up to
    nine digits) are optional, the offset is not, and every field must be in range
    (``2016-02-30`` and ``25:00`` are not timestamps).
    """
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 59):
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    nanos = int((match.group(7) or "").ljust(9, "0"))
    offset = 0
    if match.group(8):
        off_h, off_m, off_s = int(match.group(9)), int(match.group(10)), int(match.group(11) or 0)
        if off_h > 18 or off_m > 59 or off_s > 59:
            return None
        offset = off_h * 3600 + off_m * 60 + off_s
        if match.group(8) == "-":
            offset = -offset
    epoch = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    return epoch, nanos


def _timestamp(value: Any) -> Any:
    parsed = parse_timestamp(value)
    return _NOT if parsed is None else parsed


def _java_order(value: Any) -> Any:
    """A string, as a key that sorts the way Java's String.compareTo does."""
    if not isinstance(value, str):
        return _NOT
    # Python orders by code point, Java by UTF-16 code unit; they only disagree when a
    # character needs a surrogate pair, so only then pay for the encoding.
    if value.isascii() or max(value) <= "\uffff":
        return value
    return value.encode("utf-16-be")


def _java_compare(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def ordered(a: Any, b: Any) -> bool:
        if type(a) is not type(b):  # one side needed UTF-16: encode the other too
            a = a.encode("utf-16-be") if isinstance(a, str) else a
            b = b.encode("utf-16-be") if isinstance(b, str) else b
        return bool(compare(a, b))

    return ordered


def _wildcard(pattern: Any) -> Any:
    """StringMatches' pattern (see ``stepfn.lang.wildcard``): ``*`` is any run of characters,
    ``\\*`` and ``\\\\`` are a literal star and backslash."""
    return compile_wildcard(pattern) if isinstance(pattern, str) else _NOT


def _matches(value: str, pattern: Wildcard) -> bool:
    return pattern.matches(value)


# --- the operators ---------------------------------------------------------------------------


class Operator(NamedTuple):
    """How one operator reads the Variable's value and its comparand, and compares them.

    ``read_value`` and ``read_operand`` return ``_NOT`` for a value of the wrong type, which
    makes the rule false. ``may_be_missing`` marks the one operator (IsPresent) for which
    a Variable that selects nothing is an answer rather than an error.
    """

    read_value: Callable[[Any], Any]
    read_operand: Callable[[Any], Any]
    compare: Callable[[Any, Any], bool]
    may_be_missing: bool = False


# Every operator of a JSONPath Choice rule. Each also exists as "<name>Path" (except
# StringMatches and the Is... tests), whose comparand is read through a path at run time.
#
# Worked example: {"Variable": "$.price", "NumericLessThan": 10} against {"price": 4}:
#   the Variable selects 4; read_value(4) -> 4; read_operand(10) -> 10;
#   compare(4, 10) is 4 < 10 -> the rule matches. Against {"price": "4"}, read_value("4")
#   gives _NOT, so the rule is simply false; against {} the Variable selects nothing and
#   the state fails with States.Runtime.
# And {"Variable": "$.price", "IsNumeric": false} against {"price": "4"}: read_value("4")
#   -> False (not a number); read_operand(false) -> False; compare(False, False) -> True.
OPERATORS: dict[str, Operator] = {
    "StringEquals": Operator(_string, _string, operator.eq),
    "StringLessThan": Operator(_java_order, _java_order, _java_compare(operator.lt)),
    "StringGreaterThan": Operator(_java_order, _java_order, _java_compare(operator.gt)),
    "StringLessThanEquals": Operator(_java_order, _java_order, _java_compare(operator.le)),
    "StringGreaterThanEquals": Operator(_java_order, _java_order, _java_compare(operator.ge)),
    "StringMatches": Operator(_string, _wildcard, _matches),
    "NumericEquals": Operator(_number, _number, operator.eq),
    "NumericLessThan": Operator(_number, _number, operator.lt),
    "NumericGreaterThan": Operator(_number, _number, operator.gt),
    "NumericLessThanEquals": Operator(_number, _number, operator.le),
    "NumericGreaterThanEquals": Operator(_number, _number, operator.ge),
    "BooleanEquals": Operator(_boolean, _boolean, operator.eq),
    "TimestampEquals": Operator(_timestamp, _timestamp, operator.eq),
    "TimestampLessThan": Operator(_timestamp, _timestamp, operator.lt),
    "TimestampGreaterThan": Operator(_timestamp, _timestamp, operator.gt),
    "TimestampLessThanEquals": Operator(_timestamp, _timestamp, operator.le),
    "TimestampGreaterThanEquals": Operator(_timestamp, _timestamp, operator.ge),
    "IsNull": Operator(lambda v: v is None, _boolean, operator.eq),
    "IsPresent": Operator(lambda v: True, _boolean, operator.eq, may_be_missing=True),
    "IsNumeric": Operator(lambda v: _number(v) is not _NOT, _boolean, operator.eq),
    "IsString": Operator(lambda v: isinstance(v, str), _boolean, operator.eq),
    "IsBoolean": Operator(lambda v: isinstance(v, bool), _boolean, operator.eq),
    "IsTimestamp": Operator(lambda v: _timestamp(v) is not _NOT, _boolean, operator.eq),
}

# Operators with a "...Path" twin: the comparisons, not the type tests nor StringMatches.
_PATH_TWINS = {
    f"{name}Path": name
    for name in OPERATORS
    if not name.startswith("Is") and name != "StringMatches"
}
# Fields that do not take part in the test: a Comment may sit on any rule, nested or not;
# Next and Assign only on a top-level rule.
_TOP_LEVEL_ONLY = {"Next", "Assign"}


# --- compiling -------------------------------------------------------------------------------


def compile_rule(rule: Mapping[str, Any]) -> ChoiceRule:
    """Compile one rule of ``Choices`` (its ``Next``, ``Comment`` and ``Assign`` are ignored).

    Raises:
        DefinitionError: the rule is malformed; every problem is reported, each located
            relative to the rule (``/And/1/NumericEquals``).
    """
    problems: list[Problem] = []
    test = _compile(rule, "", problems, top=True)
    if problems:
        raise DefinitionError(problems)
    return ChoiceRule(rule, test)


def _compile(rule: Any, where: str, problems: list[Problem], top: bool = False) -> Test:
    if not isinstance(rule, Mapping):
        problems.append(Problem(where, "a Choice rule must be an object"))
        return _never
    keys = [k for k in rule if k != "Comment" and not (top and k in _TOP_LEVEL_ONLY)]
    combinators = [key for key in keys if key in ("And", "Or", "Not")]
    if combinators:
        if len(keys) != 1:
            problems.append(
                Problem(where, f"'{combinators[0]}' cannot be combined with other fields")
            )
            return _never
        return _compile_combination(combinators[0], rule[combinators[0]], where, problems)
    return _compile_comparison(rule, keys, where, problems)


def _compile_combination(kind: str, body: Any, where: str, problems: list[Problem]) -> Test:
    if kind == "Not":
        inner = _compile(body, f"{where}/Not", problems)
        return lambda data, context, variables: not inner(data, context, variables)
    if not isinstance(body, list) or not body:
        problems.append(Problem(f"{where}/{kind}", f"'{kind}' must be a non-empty array"))
        return _never
    parts = tuple(_compile(item, f"{where}/{kind}/{i}", problems) for i, item in enumerate(body))
    if kind == "And":
        return lambda data, context, variables: all(p(data, context, variables) for p in parts)
    return lambda data, context, variables: any(p(data, context, variables) for p in parts)


def _compile_comparison(
    rule: Mapping[str, Any], keys: list[str], where: str, problems: list[Problem]
) -> Test:
    unknown = [k for k in keys if k != "Variable" and k not in OPERATORS and k not in _PATH_TWINS]
    for key in unknown:
        problems.append(Problem(f"{where}/{key}", f"'{key}' is not a Choice rule field"))
    operators = [k for k in keys if k in OPERATORS or k in _PATH_TWINS]
    if len(operators) != 1:
        what = "no comparison operator" if not operators else f"several operators {operators}"
        problems.append(Problem(where, f"a Choice rule needs exactly one operator, found {what}"))
        return _never
    if "Variable" not in rule:
        problems.append(Problem(where, "a comparison needs a 'Variable'"))
        return _never
    variable = _path(rule["Variable"], f"{where}/Variable", problems)
    key = operators[0]
    comparand = rule[key]
    if key in _PATH_TWINS:
        spec = OPERATORS[_PATH_TWINS[key]]
        operand_path = _path(comparand, f"{where}/{key}", problems)
        if variable is None or operand_path is None:
            return _never
        return _path_comparison(variable, operand_path, spec)
    spec = OPERATORS[key]
    operand = (
        spec.read_operand(comparand) if isinstance(comparand, str | bool | int | float) else _NOT
    )
    if operand is _NOT:
        problems.append(Problem(f"{where}/{key}", f"'{key}' cannot compare with {comparand!r}"))
        return _never
    if variable is None:
        return _never
    return _literal_comparison(variable, operand, spec)


def _path(text: Any, where: str, problems: list[Problem]) -> JsonPath | None:
    if not isinstance(text, str):
        problems.append(Problem(where, "a path must be a string"))
        return None
    try:
        return compile_path(text)
    except JsonPathSyntaxError as error:
        problems.append(Problem(where, str(error)))
        return None


def _never(data: Any, context: Any, variables: Mapping[str, Any] | None) -> bool:
    return False


# --- evaluating ------------------------------------------------------------------------------


def _reader(path: JsonPath) -> Callable[[Any, Any, Mapping[str, Any] | None], Any]:
    """A function reading ``path`` from (data, context, variables); PathNotFound if absent."""
    if path.root == "$":
        find = path.find
        return lambda data, context, variables: find(data)
    if path.root == "$$":
        return lambda data, context, variables: path.find(
            context() if callable(context) else context
        )
    return lambda data, context, variables: path.resolve(data, None, variables)


def _missing(error: PathNotFound) -> StateError:
    return StateError(errors.RUNTIME, str(error))


def _literal_comparison(variable: JsonPath, operand: Any, spec: Operator) -> Test:
    read = _reader(variable)
    read_value, compare, may_be_missing = spec.read_value, spec.compare, spec.may_be_missing

    def test(data: Any, context: Any, variables: Mapping[str, Any] | None) -> bool:
        try:
            value = read(data, context, variables)
        except PathNotFound as error:
            if may_be_missing:
                return compare(False, operand)
            raise _missing(error) from None
        value = read_value(value)
        return value is not _NOT and compare(value, operand)

    return test


def _path_comparison(variable: JsonPath, operand_path: JsonPath, spec: Operator) -> Test:
    read, read_operand_at = _reader(variable), _reader(operand_path)
    read_value, read_operand, compare = spec.read_value, spec.read_operand, spec.compare

    def test(data: Any, context: Any, variables: Mapping[str, Any] | None) -> bool:
        try:
            value = read(data, context, variables)
            operand = read_operand_at(data, context, variables)
        except PathNotFound as error:
            raise _missing(error) from None
        value, operand = read_value(value), read_operand(operand)
        return value is not _NOT and operand is not _NOT and compare(value, operand)

    return test
