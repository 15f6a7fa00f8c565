"""The filter expressions of JSONPath: what goes inside ``[?( ... )]``.

Jayway's filter language as far as AWS state machines use it: comparisons (``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=``), regular expressions (``=~ /re/i``, matching the whole string),
``in``/``nin``/``subsetof``/``anyof``/``noneof``/``size``/``empty``, existence (``@.x``),
``!``, ``&&``, ``||`` and parentheses. Operands are ``@``-relative paths, ``$`` paths, and
JSON literals (strings may use single quotes).

Values compare as JSON does: numbers by value, booleans apart from numbers, and an ordering
test between values that cannot be ordered (a string and a number) is simply false.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol

# An operand of a filter gives (found, value) for the current item and the document root;
# a predicate says whether the item passes.
Operand = Callable[[Any, Any], tuple[bool, Any]]
Predicate = Callable[[Any, Any], bool]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_COMPARATORS = ("==", "!=", "<=", ">=", "=~", "<", ">")
_WORD_OPERATORS = ("nin", "in", "subsetof", "anyof", "noneof", "size", "empty")


class Cursor(Protocol):
    """What the filter parser needs of the path parser it is nested in."""

    text: str
    pos: int

    def fail(self, what: str) -> None: ...
    def peek(self, ahead: int = 0) -> str: ...
    def skip_spaces(self) -> None: ...
    def quoted(self) -> str: ...
    def path_operand(self) -> Operand: ...


class FilterParser:
    """Parses the inside of ``[?( ... )]`` into a predicate ``(item, root) -> bool``."""

    def __init__(self, parser: Cursor) -> None:
        self.p = parser

    def expression(self) -> Predicate:
        return self._joined("||", self.conjunction, _either)

    def conjunction(self) -> Predicate:
        return self._joined("&&", self.unary, _both)

    def _joined(
        self,
        operator: str,
        operand: Callable[[], Predicate],
        join: Callable[[Predicate, Predicate], Predicate],
    ) -> Predicate:
        """Operands with ``operator`` between them, joined from the left."""
        left = operand()
        while self.consume(operator):
            left = join(left, operand())
        return left

    def unary(self) -> Predicate:
        self.p.skip_spaces()
        if self.p.peek() == "!" and self.p.peek(1) != "=":
            self.p.pos += 1
            inner = self.unary()
            return lambda item, root: not inner(item, root)
        if self.p.peek() == "(":
            self.p.pos += 1
            inner = self.expression()
            if not self.consume(")"):
                self.p.fail("')' is expected")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        left = self.operand()
        self.p.skip_spaces()
        for symbol in _COMPARATORS:
            if self.p.text.startswith(symbol, self.p.pos):
                self.p.pos += len(symbol)
                right = self.regex() if symbol == "=~" else self.operand()
                return _compare(symbol, left, right)
        for word in _WORD_OPERATORS:
            end = self.p.pos + len(word)
            if (
                self.p.text.startswith(word, self.p.pos)
                and not self.p.text[end : end + 1].isalnum()
            ):
                self.p.pos = end
                return _compare(word, left, self.operand())
        # A lone operand tests that the path exists.
        return lambda item, root: _present(*left(item, root))

    def consume(self, token: str) -> bool:
        self.p.skip_spaces()
        if self.p.text.startswith(token, self.p.pos):
            self.p.pos += len(token)
            return True
        return False

    def operand(self) -> Operand:
        p = self.p
        p.skip_spaces()
        char = p.peek()
        if char in ("@", "$"):
            return p.path_operand()
        if char in ("'", '"'):
            text = p.quoted()
            literal: Any = re.sub(r"\\(.)", r"\1", text)
        elif char in ("[", "{"):
            literal = self.json_literal()
        else:
            match = _NUMBER.match(p.text, p.pos)
            if match:
                p.pos = match.end()
                number = match.group()
                literal = float(number) if any(c in number for c in ".eE") else int(number)
            else:
                for word, value in (("true", True), ("false", False), ("null", None)):
                    if p.text.startswith(word, p.pos):
                        p.pos += len(word)
                        literal = value
                        break
                else:
                    p.fail("a path or a literal is expected in the filter")
        return lambda item, root: (True, literal)

    def json_literal(self) -> Any:
        decoder = json.JSONDecoder()
        try:
            value, end = decoder.raw_decode(self.p.text.replace("'", '"'), self.p.pos)
        except json.JSONDecodeError:
            self.p.fail("malformed JSON literal")
        self.p.pos = end
        return value

    def regex(self) -> Operand:
        p = self.p
        p.skip_spaces()
        if p.peek() != "/":
            p.fail("a /regex/ is expected after '=~'")
        p.pos += 1
        start = p.pos
        while p.pos < len(p.text) and p.text[p.pos] != "/":
            p.pos += 2 if p.text[p.pos] == "\\" else 1
        if p.pos >= len(p.text):
            p.fail("unterminated /regex/")
        source = p.text[start : p.pos]
        p.pos += 1
        flags = 0
        while p.peek() in ("i", "m", "s"):
            flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}[p.peek()]
            p.pos += 1
        try:
            pattern = re.compile(source, flags)
        except re.error as error:
            p.fail(f"bad regular expression ({error})")
        return lambda item, root: (True, pattern)


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda item, root: left(item, root) or right(item, root)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda item, root: left(item, root) and right(item, root)


def _present(found: bool, value: Any) -> bool:
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans apart from numbers."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _ordered(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` can be ordered: two numbers or two strings."""
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _compare(operator: str, left: Operand, right: Operand) -> Predicate:
    """A predicate applying ``operator``; a missing left side fails every test but ``!=``."""

    def test(item: Any, root: Any) -> bool:
        found, a = left(item, root)
        _, b = right(item, root)
        if not found:
            return operator in ("!=", "nin")
        if operator == "==":
            return _same(a, b)
        if operator == "!=":
            return not _same(a, b)
        if operator in ("<", "<=", ">", ">="):
            if not _ordered(a, b):
                return False
            if operator == "<":
                return bool(a < b)
            if operator == "<=":
                return bool(a <= b)
            if operator == ">":
                return bool(a > b)
            return bool(a >= b)
        if operator == "=~":
            return isinstance(a, str) and b.fullmatch(a) is not None
        if operator in ("in", "nin"):
            inside = isinstance(b, list) and any(_same(a, x) for x in b)
            return inside if operator == "in" else not inside
        if operator in ("subsetof", "anyof", "noneof"):
            if not isinstance(a, list) or not isinstance(b, list):
                return False
            hits = [any(_same(x, y) for y in b) for x in a]
            if operator == "subsetof":
                return all(hits)
            return any(hits) if operator == "anyof" else not any(hits)
        if operator == "size":
            return isinstance(a, str | list | dict) and _is_number(b) and len(a) == b
        # "empty": compares emptiness with a boolean literal
        return isinstance(a, str | list | dict) and (len(a) == 0) is b

    return test
