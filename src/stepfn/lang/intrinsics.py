"""The 18 intrinsic functions of JSONPath states: ``States.Format``, ``States.Hash``, ...

``parse_intrinsic`` (from ``intrinsic_syntax``) turns the text into a call tree once;
``evaluate`` runs it against one state's data. Paths are resolved by a callback the
interpreter supplies, so this module knows nothing of inputs, context objects or
variables.

AWS runs these functions on the JVM and its results show it; we copy what it does:

* An argument of the wrong type or count fails the state with ``States.Runtime`` and the
  detail ``Invalid arguments in States.<Name>`` (not ``States.IntrinsicFailure``).
* ``States.Format`` writes values as Java's ``toString`` would: ``null``, ``1.1``,
  ``{Arg1=1, Arg2=[]}`` for an object, strings unquoted, and doubles in Java's form
  (``1.0E20``). ``States.ArrayContains`` compares elements by that same text, so the
  string ``"true"`` matches ``true`` but ``{"a":1,"b":2}`` does not match
  ``{"b":2,"a":1}``.
* ``States.JsonToString`` writes compact JSON as Jackson does: no spaces, keys in their
  stored order, non-ASCII text as is.
* ``States.MathAdd`` rounds each operand half up (``-1.5`` -> ``-1``) and works on 32-bit
  integers; the functions that take counts or indexes (``ArrayRange``,
  ``ArrayPartition``, ``ArrayGetItem``, ``MathRandom``) truncate fractions instead.
* ``States.ArrayUnique`` returns the distinct values in the order a ``java.util.HashSet``
  holds them, which is not the input order (``[true, false]`` -> ``[false, true]``).
* ``States.StringSplit`` splits at every character of the delimiter string and drops
  empty pieces (Java's ``StringTokenizer``).
* ``States.Base64Decode`` skips characters outside the alphabet and stops at padding
  rather than failing on malformed text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from stepfn.errors import RUNTIME, StateError
from stepfn.lang.intrinsic_syntax import (
    FUNCTION_NAMES,
    FormatTemplate,
    IntrinsicCall,
    IntrinsicSyntaxError,
    PathArg,
    is_intrinsic,
    parse_intrinsic,
    split_template,
)
from stepfn.lang.nesting import text_too_deep

__all__ = [
    "FUNCTION_NAMES",
    "IdSourceLike",
    "IntrinsicCall",
    "IntrinsicSyntaxError",
    "PathArg",
    "evaluate",
    "is_intrinsic",
    "java_text",
    "json_text",
    "parse_intrinsic",
]

# AWS documents these limits for the functions that take them.
MAX_TEXT_LENGTH = 10_000  # Base64Encode, Base64Decode, Hash input
MAX_RANGE_ITEMS = 1_000  # ArrayRange result
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # MathAdd works on Java ints

# The digests States.Hash and JSONata's $hash accept, by the names AWS documents.
HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


class IdSourceLike(Protocol):
    """What ``evaluate`` draws on for ``States.UUID`` and unseeded ``States.MathRandom``."""

    def uuid(self) -> str: ...

    def random(self) -> float: ...

    def randint(self, low: int, high: int) -> int: ...


class _BadArguments(Exception):
    """Raised inside a function body; ``evaluate`` turns it into AWS's failure."""


def evaluate(call: IntrinsicCall, resolve_path: Callable[[str], Any], ids: IdSourceLike) -> Any:
    """Run ``call`` and return its JSON value.

    Args:
        call: a parsed call (``parse_intrinsic``).
        resolve_path: gives the value of a path argument (``$.a``, ``$$.Execution.Id``,
            ``$var``); it raises the interpreter's error when the path matches nothing.
        ids: the execution's source of UUIDs and random numbers.

    Raises:
        StateError: ``States.Runtime`` with ``Invalid arguments in States.<Name>`` when an
            argument has the wrong type, count or range.
    """
    values = [_argument_value(arg, resolve_path, ids) for arg in call.args]
    spec = _FUNCTIONS[call.name]
    try:
        if not spec.min_args <= len(values) <= spec.max_args:
            raise _BadArguments
        return spec.run(values, ids)
    except _BadArguments:
        raise StateError(RUNTIME, f"Invalid arguments in {call.function}") from None


def _argument_value(arg: Any, resolve_path: Callable[[str], Any], ids: IdSourceLike) -> Any:
    if isinstance(arg, PathArg):
        return resolve_path(arg.text)
    if isinstance(arg, IntrinsicCall):
        return evaluate(arg, resolve_path, ids)
    return arg


# --- Text forms -------------------------------------------------------------------------


def java_double_text(number: float) -> str:
    """A float as Java's ``Double.toString`` writes it: ``1.0``, ``0.001``, ``1.0E-4``."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "-0.0" if math.copysign(1.0, number) < 0 else "0.0"
    sign = "-" if number < 0 else ""
    magnitude = abs(number)
    # repr gives the shortest digits that read back to the same double, as Java does.
    _, digit_tuple, exponent = Decimal(repr(magnitude)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    scientific_exponent = exponent + len("".join(map(str, digit_tuple))) - 1
    if 1e-3 <= magnitude < 1e7:
        if scientific_exponent >= 0:
            whole = digits[: scientific_exponent + 1].ljust(scientific_exponent + 1, "0")
            fraction = digits[scientific_exponent + 1 :] or "0"
        else:
            whole, fraction = "0", "0" * (-scientific_exponent - 1) + digits
        return f"{sign}{whole}.{fraction}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{scientific_exponent}"


def _scalar_text(value: Any) -> str | None:
    """null, a boolean or a number as both Java's ``toString`` and Jackson write it;
    ``None`` for strings and containers, which the two write differently."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double_text(value)
    return None


def java_text(value: Any) -> str:
    """``value`` as AWS's ``States.Format`` writes it (Java's ``toString`` of the value).

    ``java_text({"a": [1, "x"], "b": None})`` -> ``'{a=[1, x], b=null}'``.
    """
    scalar = _scalar_text(value)
    if scalar is not None:
        return scalar
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(java_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={java_text(item)}" for key, item in value.items()) + "}"
    return str(value)


# Jackson writes these control characters with their short escapes, others as \u00XX.
_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _json_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char < " ":
            out.append(_SHORT_ESCAPES.get(char) or f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def json_text(value: Any) -> str:
    """Compact JSON text as AWS writes it: ``{"a":1,"b":[true,null]}``, keys in order."""
    scalar = _scalar_text(value)
    if scalar is not None:
        return scalar
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        members = (f"{_json_string(str(key))}:{json_text(item)}" for key, item in value.items())
        return "{" + ",".join(members) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


# --- Argument checks --------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> int | float:
    if not _is_number(value):
        raise _BadArguments
    return value


def _truncated(value: Any) -> int:
    """A count or index as AWS takes it: any number, its fraction cut off (2.6 -> 2)."""
    number = _number(value)
    if isinstance(number, float) and not math.isfinite(number):
        raise _BadArguments
    return int(number)


def _rounded(value: Any) -> int:
    """An operand of MathAdd: rounded half up as Java's ``Math.round`` (-1.5 -> -1)."""
    number = _number(value)
    if isinstance(number, int):
        return number
    if not math.isfinite(number):
        raise _BadArguments
    floor = math.floor(number)
    return floor + 1 if number - floor >= 0.5 else floor


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _BadArguments
    return value


def _array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _BadArguments
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _BadArguments
    return value


def _java_length(text: str) -> int:
    """The length Java sees: UTF-16 code units, so an emoji counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _limited_text(value: Any) -> str:
    text = _string(value)
    if _java_length(text) > MAX_TEXT_LENGTH:
        raise _BadArguments
    return text


# --- The functions ----------------------------------------------------------------------


def _format(args: list[Any], ids: IdSourceLike) -> str:
    template, values = args[0], args[1:]
    if isinstance(template, FormatTemplate):
        pieces = template.pieces
    else:
        # A template from a path has no escapes: every brace is syntax.
        pieces = split_template([(char, False) for char in _string(template)])
    if pieces is None or len(pieces) - 1 != len(values):
        raise _BadArguments
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out.append(java_text(value))
        out.append(piece)
    return "".join(out)


def _string_to_json(args: list[Any], ids: IdSourceLike) -> Any:
    text = _string(args[0])
    if not text.strip():
        # AWS gives null for blank text rather than a parse error.
        return None
    # Python's reader recurses once per level: refuse what would end in a RecursionError.
    if text_too_deep(text):
        raise _BadArguments
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise _BadArguments from None


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser would accept them.
    raise ValueError(name)


def _json_to_string(args: list[Any], ids: IdSourceLike) -> str:
    return json_text(args[0])


def _array_of(args: list[Any], ids: IdSourceLike) -> list[Any]:
    return list(args)


def _array_partition(args: list[Any], ids: IdSourceLike) -> list[list[Any]]:
    items = _array(args[0])
    size = _truncated(args[1])
    if size <= 0:
        raise _BadArguments
    return [items[start : start + size] for start in range(0, len(items), size)]


def _array_contains(args: list[Any], ids: IdSourceLike) -> bool:
    items = _array(args[0])
    wanted = java_text(args[1])
    return any(java_text(item) == wanted for item in items)


def _array_range(args: list[Any], ids: IdSourceLike) -> list[int]:
    start, end, step = (_truncated(arg) for arg in args)
    if step == 0:
        raise _BadArguments
    numbers = range(start, end + (1 if step > 0 else -1), step)
    if len(numbers) > MAX_RANGE_ITEMS:
        raise _BadArguments
    return list(numbers)


def _array_get_item(args: list[Any], ids: IdSourceLike) -> Any:
    items = _array(args[0])
    index = _truncated(args[1])
    if not items:
        # AWS answers null for any index into an empty array.
        return None
    if not 0 <= index < len(items):
        raise _BadArguments
    return items[index]


def _array_length(args: list[Any], ids: IdSourceLike) -> int:
    return len(_array(args[0]))


def _array_unique(args: list[Any], ids: IdSourceLike) -> list[Any]:
    return _java_hash_set_order(_array(args[0]))


def _base64_encode(args: list[Any], ids: IdSourceLike) -> str:
    data = _limited_text(args[0]).encode("utf-8", "replace")
    return base64.b64encode(data).decode("ascii")


_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


def _base64_decode(args: list[Any], ids: IdSourceLike) -> str:
    text = _limited_text(args[0])
    # Lenient like AWS: skip what is not Base64 (either alphabet), stop at padding, and
    # drop a dangling sixth-bit group instead of failing.
    kept: list[str] = []
    for char in text:
        if char == "=":
            break
        if char in _BASE64_ALPHABET:
            kept.append(char)
    usable = len(kept) - (len(kept) % 4 == 1)
    body = "".join(kept[:usable]).replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        raise _BadArguments from None
    return data.decode("utf-8", "replace")


def _hash(args: list[Any], ids: IdSourceLike) -> str:
    data, algorithm = args
    # AWS hashes the text of a non-string value rather than refusing it.
    text = data if isinstance(data, str) else java_text(data)
    if _java_length(text) > MAX_TEXT_LENGTH:
        raise _BadArguments
    digest = HASHES.get(_string(algorithm))
    if digest is None:
        raise _BadArguments
    return str(digest(text.encode("utf-8", "replace")).hexdigest())


def _json_merge(args: list[Any], ids: IdSourceLike) -> dict[str, Any]:
    first, second = _object(args[0]), _object(args[1])
    if args[2] is True:
        # Only the shallow merge exists; AWS asks for false as the third argument.
        raise _BadArguments
    merged = dict(first)
    merged.update(second)
    return merged


def _math_random(args: list[Any], ids: IdSourceLike) -> int:
    start, end = _truncated(args[0]), _truncated(args[1])
    if start >= end or start < INT_MIN or end > INT_MAX:
        raise _BadArguments
    if len(args) == 3:
        # A seed makes the number a function of the seed alone, as AWS promises.
        return random.Random(_truncated(args[2])).randint(start, end - 1)
    return ids.randint(start, end - 1)


def _math_add(args: list[Any], ids: IdSourceLike) -> int:
    first, second = _rounded(args[0]), _rounded(args[1])
    total = first + second
    if not all(INT_MIN <= number <= INT_MAX for number in (first, second, total)):
        raise _BadArguments
    return total


def _string_split(args: list[Any], ids: IdSourceLike) -> list[str]:
    text, delimiters = _string(args[0]), _string(args[1])
    pieces: list[str] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            if current:
                pieces.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


def _uuid(args: list[Any], ids: IdSourceLike) -> str:
    return ids.uuid()


@dataclass(frozen=True)
class _Function:
    run: Callable[[list[Any], IdSourceLike], Any]
    min_args: int
    max_args: int


_UNLIMITED = 1 << 30

_FUNCTIONS: dict[str, _Function] = {
    "Format": _Function(_format, 1, _UNLIMITED),
    "StringToJson": _Function(_string_to_json, 1, 1),
    "JsonToString": _Function(_json_to_string, 1, 1),
    "Array": _Function(_array_of, 0, _UNLIMITED),
    "ArrayPartition": _Function(_array_partition, 2, 2),
    "ArrayContains": _Function(_array_contains, 2, 2),
    "ArrayRange": _Function(_array_range, 3, 3),
    "ArrayGetItem": _Function(_array_get_item, 2, 2),
    "ArrayLength": _Function(_array_length, 1, 1),
    "ArrayUnique": _Function(_array_unique, 1, 1),
    "Base64Encode": _Function(_base64_encode, 1, 1),
    "Base64Decode": _Function(_base64_decode, 1, 1),
    "Hash": _Function(_hash, 2, 2),
    "JsonMerge": _Function(_json_merge, 3, 3),
    "MathRandom": _Function(_math_random, 2, 3),
    "MathAdd": _Function(_math_add, 2, 2),
    "StringSplit": _Function(_string_split, 2, 2),
    "UUID": _Function(_uuid, 0, 0),
}
assert set(_FUNCTIONS) == FUNCTION_NAMES


# --- ArrayUnique's order ----------------------------------------------------------------
#
# AWS collects the values into a java.util.HashSet, whose iteration order is by hash
# bucket, and within a bucket by first insertion. Reproducing it takes Java's hashCode of
# each value (as the JSON value maps to Java: null, Boolean, Integer/Long/BigInteger,
# Double, String, List, Map) and the table size HashSet(Collection) picks. Example: in a
# 16-slot table null (hash 0) comes first and false (1237 -> slot 5) before true (1231 ->
# slot 15), so [true, null, false] becomes [null, false, true].

_MASK32 = 0xFFFFFFFF


def _java_hash(value: Any) -> int:
    """Java's ``hashCode`` of the value, as an unsigned 32-bit number."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1231 if value else 1237
    if isinstance(value, int):
        return _java_integer_hash(value)
    if isinstance(value, float):
        (bits,) = struct.unpack(">Q", struct.pack(">d", value))
        return (bits ^ (bits >> 32)) & _MASK32
    if isinstance(value, str):
        code = 0
        data = value.encode("utf-16-be", "surrogatepass")
        for i in range(0, len(data), 2):
            code = (31 * code + (data[i] << 8 | data[i + 1])) & _MASK32
        return code
    if isinstance(value, list):
        code = 1
        for item in value:
            code = (31 * code + _java_hash(item)) & _MASK32
        return code
    if isinstance(value, dict):
        return sum(_java_hash(str(k)) ^ _java_hash(v) for k, v in value.items()) & _MASK32
    return 0


def _java_integer_hash(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:  # Integer
        return value & _MASK32
    if -(2**63) <= value < 2**63:  # Long
        bits = value & 0xFFFFFFFFFFFFFFFF
        return (bits ^ (bits >> 32)) & _MASK32
    # BigInteger: 31-polynomial over the magnitude's 32-bit words, times the sign.
    magnitude = abs(value)
    words = []
    while magnitude:
        words.append(magnitude & _MASK32)
        magnitude >>= 32
    code = 0
    for word in reversed(words):
        code = (31 * code + word) & _MASK32
    return (code * (1 if value > 0 else -1)) & _MASK32


def _java_identity(value: Any) -> Any:
    """A hashable key that is equal exactly when Java's ``equals`` says the values are."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    if isinstance(value, list):
        return ("list", tuple(_java_identity(item) for item in value))
    if isinstance(value, dict):
        return ("map", frozenset((str(k), _java_identity(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def _java_hash_set_order(items: list[Any]) -> list[Any]:
    distinct: list[Any] = []
    seen: set[Any] = set()
    for item in items:
        key = _java_identity(item)
        if key not in seen:
            seen.add(key)
            distinct.append(item)
    # HashSet(Collection) sizes its table for the whole collection, duplicates included.
    wanted = max(int(len(items) / 0.75) + 1, 16)
    slots = 1
    while slots < wanted:
        slots <<= 1

    def bucket(position: int) -> tuple[int, int]:
        code = _java_hash(distinct[position])
        return ((code ^ (code >> 16)) & (slots - 1), position)

    return [distinct[i] for i in sorted(range(len(distinct)), key=bucket)]
