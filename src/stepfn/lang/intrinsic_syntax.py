"""The syntax of intrinsic functions: ``States.Format('{} items', $.count)`` -> a call tree.

A call is ``States.<Name>(<arg>, ...)``; an argument is one of

* a string literal in single quotes, where ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` are the
  only escapes (any other backslash is an error, as AWS rejects it when the state machine
  is created);
* a JSON number (``-1``, ``2.5``, ``1e3``), or ``true``, ``false``, ``null``;
* a path: ``$.a``, ``$``, ``$$.Execution.Id`` (context object), ``$name.x`` (a variable);
* another call (AWS allows nesting).

Parsing checks only the shape and the function's name. AWS checks argument counts and
types when the function runs (a wrong count is a ``States.Runtime`` failure of the
execution, not a definition error), so ``intrinsics.evaluate`` does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Every function the language defines, by its name after ``States.``.
FUNCTION_NAMES = frozenset(
    {
        "Format",
        "StringToJson",
        "JsonToString",
        "Array",
        "ArrayPartition",
        "ArrayContains",
        "ArrayRange",
        "ArrayGetItem",
        "ArrayLength",
        "ArrayUnique",
        "Base64Encode",
        "Base64Decode",
        "Hash",
        "JsonMerge",
        "MathRandom",
        "MathAdd",
        "StringSplit",
        "UUID",
    }
)

_CALL_START = re.compile(r"States\.([A-Za-z0-9]+)\(")
_LOOKS_LIKE_CALL = re.compile(r"\s*States\.[A-Za-z0-9]+\(")
# JSON's number grammar: "1." and ".5" are not numbers.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_ESCAPABLE = "'{}\\"
_BAD_ESCAPE = "invalid escape in string literal (only \\', \\{, \\} and \\\\ are allowed)"


class IntrinsicSyntaxError(ValueError):
    """An intrinsic function call that cannot be parsed; the message says what and where."""


@dataclass(frozen=True)
class PathArg:
    """A path argument (``$.a``, ``$$.Map.Item.Value``, ``$var.x``), resolved when run."""

    text: str


@dataclass(frozen=True)
class IntrinsicCall:
    """``States.<name>(*args)``; args are literal values, ``PathArg`` or nested calls."""

    name: str
    args: tuple[Any, ...]

    @property
    def function(self) -> str:
        """The full name, as AWS spells it in messages: ``States.Format``."""
        return f"States.{self.name}"


class FormatTemplate(str):
    """The string literal that is the first argument of ``States.Format``.

    It is the unescaped text (so it can stand wherever a plain literal does) and also
    remembers how the text splits at its ``{}`` placeholders. The split must happen at
    parse time because an escaped ``\\{`` is literal text while a bare ``{`` is not, a
    difference the unescaped string no longer shows. ``pieces`` is None when a bare brace
    does not form ``{}``: AWS accepts such a definition and fails when the state runs.
    """

    pieces: tuple[str, ...] | None

    def __new__(cls, text: str, pieces: tuple[str, ...] | None) -> FormatTemplate:
        obj = super().__new__(cls, text)
        obj.pieces = pieces
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        # copy.deepcopy and pickle would otherwise rebuild it from the text alone.
        return (FormatTemplate, (str(self), self.pieces))


def is_intrinsic(text: str) -> bool:
    """True when ``text`` has the form of an intrinsic call, ``States.Name(...)``.

    A text of that form is parsed as a call, so a malformed one reports its syntax error
    instead of being taken for something else.
    """
    return isinstance(text, str) and _LOOKS_LIKE_CALL.match(text) is not None


@lru_cache(maxsize=4096)
def parse_intrinsic(text: str) -> IntrinsicCall:
    """Parse one intrinsic call; raise ``IntrinsicSyntaxError`` naming the problem.

    Example: ``parse_intrinsic("States.Array(1, 'a', $.b)")`` ->
    ``IntrinsicCall("Array", (1, "a", PathArg("$.b")))``.
    """
    parser = _Parser(text)
    parser.skip_space()
    call = parser.call()
    parser.skip_space()
    if parser.pos != len(text):
        parser.fail("unexpected text after the closing parenthesis")
    return call


def split_template(chars: list[tuple[str, bool]]) -> tuple[str, ...] | None:
    """Split a Format template, given as (character, was-escaped) pairs, at its ``{}``.

    Returns the literal pieces around the placeholders (one more piece than there are
    placeholders), or None when a bare ``{`` or ``}`` is not part of a ``{}`` pair.
    """
    pieces: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(chars):
        char, escaped = chars[i]
        if escaped or char not in "{}":
            current.append(char)
            i += 1
            continue
        if char == "{" and i + 1 < len(chars) and chars[i + 1] == ("}", False):
            pieces.append("".join(current))
            current = []
            i += 2
            continue
        return None
    pieces.append("".join(current))
    return tuple(pieces)


class _Parser:
    """A recursive-descent parser over one call's text; ``pos`` is the next character."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str, at: int | None = None) -> None:
        where = self.pos if at is None else at
        raise IntrinsicSyntaxError(
            f"Invalid intrinsic function call {self.text!r}: {what} at position {where}"
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def call(self) -> IntrinsicCall:
        start = self.pos
        match = _CALL_START.match(self.text, self.pos)
        if match is None:
            self.fail("expected a call of the form States.Name(...)")
            raise AssertionError  # unreachable: fail() raises
        name = match.group(1)
        if name not in FUNCTION_NAMES:
            self.fail(f"unknown intrinsic function 'States.{name}'", at=start)
        self.pos = match.end()
        args: list[Any] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
            return IntrinsicCall(name, ())
        while True:
            self.skip_space()
            template = name == "Format" and not args
            args.append(self.argument(template))
            self.skip_space()
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char == ")":
                self.pos += 1
                return IntrinsicCall(name, tuple(args))
            elif not char:
                self.fail(f"missing ')' to close 'States.{name}('")
            else:
                self.fail(f"expected ',' or ')' but found {char!r}")

    def argument(self, template: bool) -> Any:
        char = self.peek()
        if char == "'":
            return self.string(template)
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        if char == "-" or char.isdigit():
            return self.number()
        for word, value in _KEYWORDS.items():
            if self.text.startswith(word, self.pos) and self._ends_token(self.pos + len(word)):
                self.pos += len(word)
                return value
        if char in (",", ")"):
            self.fail("missing argument")
        if not char:
            self.fail("unexpected end of text, expected an argument")
        self.fail(f"unexpected character {char!r}, expected an argument")

    def _ends_token(self, index: int) -> bool:
        return index >= len(self.text) or self.text[index] in ",)" or self.text[index].isspace()

    def number(self) -> int | float:
        match = _NUMBER.match(self.text, self.pos)
        if match is None or not self._ends_token(match.end()):
            end = self.pos
            while not self._ends_token(end):
                end += 1
            self.fail(f"invalid number {self.text[self.pos : end]!r}")
            raise AssertionError  # unreachable
        token = match.group(0)
        self.pos = match.end()
        if any(c in token for c in ".eE"):
            return float(token)
        return int(token)

    def string(self, template: bool) -> str:
        opening = self.pos
        self.pos += 1
        chars: list[tuple[str, bool]] = []
        while True:
            char = self.peek()
            if not char:
                self.fail("unterminated string literal", at=opening)
            self.pos += 1
            if char == "'":
                break
            if char == "\\":
                escaped = self.peek()
                if escaped not in _ESCAPABLE or not escaped:
                    self.fail(_BAD_ESCAPE, at=self.pos - 1)
                self.pos += 1
                chars.append((escaped, True))
            else:
                chars.append((char, False))
        text = "".join(c for c, _ in chars)
        if template:
            return FormatTemplate(text, split_template(chars))
        return text

    def path(self) -> PathArg:
        # A path ends at the ',' or ')' that closes the argument; brackets, parentheses
        # (filters) and quoted names inside it may hold those characters themselves.
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"" and depth > 0:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        if quote or depth:
            self.fail("unterminated path argument", at=start)
        return PathArg(self.text[start : self.pos].rstrip())
