"""JSONPath as AWS Step Functions reads it.

AWS evaluates paths with the Jayway JsonPath library, so its corners are Jayway's, not those
of Goessner's original article. What we copy, because state machines in the wild rely on it:

* A *definite* path (names and single indexes only) selects one value or fails with
  ``PathNotFound``, whose message is Jayway's: ``No results for path: $['a']['b']`` when the
  last step finds nothing, ``Missing property in path $['a']`` when an earlier name is missing.
* An *indefinite* path (wildcard, slice, union of indexes, filter, deep scan) never fails:
  it gives the list of what it matched, ``[]`` when nothing matched, even when the
  array it would have walked is missing altogether (AWS returns ``[]`` for
  ``$.missing[*]``).
* ``['a','b']`` as the last step builds an object of the named members that exist (Jayway's
  "merge"), and is definite.
* Quoted names are taken as written: a backslash only stops the next character from closing
  the quote (``$['it\\'s']`` names the member ``it\\'s``), as AWS does.
* A dotted name runs up to the next ``.`` or ``[``, so ``$.list.length()`` is a member
  named ``length()``: AWS does not support JSONPath functions and fails such paths at run time.
* In a filter, ``@`` only ever stands for an object: array elements that are not objects
  never match (AWS documents this).

Compiled paths are cached and immutable; evaluation never mutates the data it reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from stepfn.lang.jsonpath_filter import FilterParser, Operand, Predicate

__all__ = [
    "JsonPath",
    "JsonPathSyntaxError",
    "PathNotFound",
    "ReferencePath",
    "ReferencePathMismatch",
    "compile_path",
    "compile_reference_path",
    "normalized",
]


class JsonPathSyntaxError(ValueError):
    """A path that cannot be parsed; the message says what is wrong and where."""


class PathNotFound(Exception):
    """A definite path that selects nothing in the data it was applied to.

    ``message`` is the text AWS prints after ``Invalid path '<path>' : ``.
    """

    def __init__(self, path_text: str, message: str) -> None:
        self.path_text = path_text
        self.message = message
        super().__init__(f"Invalid path '{path_text}' : {message}")


class ReferencePathMismatch(Exception):
    """A ResultPath that cannot be applied to its input (AWS: States.ResultPathMatchFailure).

    ``message`` is AWS's text: ``Unable to apply ReferencePath $.x to input "..."``.
    """

    def __init__(self, path_text: str, data: Any) -> None:
        self.path_text = path_text
        self.message = f"Unable to apply ReferencePath {path_text} to input {_dump(data)}"
        super().__init__(self.message)


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- steps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    """``.name`` or ``['name']``."""

    name: str


@dataclass(frozen=True)
class Children:
    """``['a','b']``: several members at once."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    """``[2]`` or ``[-1]``."""

    index: int


@dataclass(frozen=True)
class Indexes:
    """``[0,2]``."""

    indexes: tuple[int, ...]


@dataclass(frozen=True)
class Slice:
    """``[1:3]``, ``[:2]``, ``[-1:]``."""

    start: int | None
    stop: int | None


@dataclass(frozen=True)
class Wildcard:
    """``.*`` or ``[*]``: every member value or element."""


@dataclass(frozen=True)
class Scan:
    """``..``: the current value and everything below it, in document order."""


@dataclass(frozen=True)
class Filter:
    """``[?(...)]``: the elements (objects) for which the predicate holds."""

    predicate: Predicate = field(compare=False)
    source: str = ""


Step = Child | Children | Index | Indexes | Slice | Wildcard | Scan | Filter


def _fragment(step: Step) -> str:
    """A step as Jayway prints it in a normalized path."""
    if isinstance(step, Child):
        return f"['{step.name}']"
    if isinstance(step, Children):
        return "[" + ",".join(f"'{n}'" for n in step.names) + "]"
    if isinstance(step, Index):
        return f"[{step.index}]"
    if isinstance(step, Indexes):
        return "[" + ",".join(str(i) for i in step.indexes) + "]"
    if isinstance(step, Slice):
        start = "" if step.start is None else str(step.start)
        stop = "" if step.stop is None else str(step.stop)
        return f"[{start}:{stop}]"
    if isinstance(step, Wildcard):
        return "[*]"
    if isinstance(step, Scan):
        return ".."
    return "[?]"


# --- compiled paths --------------------------------------------------------------------------

_MISSING: Any = object()


@dataclass(frozen=True)
class JsonPath:
    """A compiled JSONPath.

    Attributes:
        text: the path as written.
        root: ``"$"`` (state input), ``"$$"`` (context object) or a variable's name.
        definite: True when the path selects at most one value.
        steps: the compiled steps below the root.
    """

    text: str
    root: str
    definite: bool
    steps: tuple[Step, ...] = field(default=(), repr=False, compare=False)
    # For paths made only of names and indexes: the keys to follow, for a tight loop.
    simple_keys: tuple[str | int, ...] | None = field(default=None, repr=False, compare=False)

    def find(self, data: Any) -> Any:
        """Apply the path below its root to ``data``.

        Returns:
            For a definite path, the selected value; otherwise the list of matches
            (``[]`` when nothing matched).

        Raises:
            PathNotFound: a definite path selects nothing.
        """
        keys = self.simple_keys
        if keys is not None:
            current = data
            for key in keys:
                # Exact type checks keep this loop short; anything unusual (a miss, a dict
                # subclass) goes the careful way, which also words the error.
                if isinstance(key, str):
                    if type(current) is not dict or key not in current:
                        return _find_definite(self, data)
                    current = current[key]
                elif type(current) is list and -len(current) <= key < len(current):
                    current = current[key]
                else:
                    return _find_definite(self, data)
            return current
        if self.definite:
            return _find_definite(self, data)
        return list(_select(self.steps, 0, data, data))

    def exists(self, data: Any) -> bool:
        """True when the path selects something in ``data`` (a value, or any match)."""
        if self.definite:
            try:
                self.find(data)
            except PathNotFound:
                return False
            return True
        return bool(self.find(data))

    def resolve(self, data: Any, context: Any, variables: Mapping[str, Any] | None) -> Any:
        """Pick the root value (input, context object or variable), then ``find`` below it.

        Raises:
            PathNotFound: the path selects nothing, or names an unknown variable.
        """
        if self.root == "$":
            return self.find(data)
        if self.root == "$$":
            return self.find(context)
        if variables is None or self.root not in variables:
            raise PathNotFound(self.text, f"Variable '{self.root}' is not defined")
        return self.find(variables[self.root])


def normalized(path: JsonPath) -> str:
    """The path in bracket form as AWS prints it in messages: ``$['a']['b'][0]``."""
    return "$" + "".join(_fragment(step) for step in path.steps)


def _find_definite(path: JsonPath, data: Any) -> Any:
    """Follow a definite path, failing with Jayway's message for the first step that fails."""
    current = data
    walked = "$"
    last = len(path.steps) - 1
    for position, step in enumerate(path.steps):
        if isinstance(step, Child):
            if not isinstance(current, dict):
                raise PathNotFound(
                    path.text, f"Property {_fragment(step)} not found in path {walked}"
                )
            if step.name not in current:
                if position == last:
                    raise PathNotFound(path.text, f"No results for path: {normalized(path)}")
                raise PathNotFound(path.text, f"Missing property in path {walked}{_fragment(step)}")
            current = current[step.name]
        elif isinstance(step, Index):
            if current is None:
                raise PathNotFound(path.text, f"The path {walked} is null")
            if not isinstance(current, list):
                raise PathNotFound(
                    path.text,
                    f"Filter: {_fragment(step)} can only be applied to arrays. "
                    f"Current context is: {_dump(current)}",
                )
            index = step.index + len(current) if step.index < 0 else step.index
            if not 0 <= index < len(current):
                raise PathNotFound(path.text, f"No results for path: {normalized(path)}")
            current = current[index]
        elif isinstance(step, Children):
            # Only ever the last step of a definite path: merge the members that exist.
            if not isinstance(current, dict):
                raise PathNotFound(
                    path.text, f"Property {_fragment(step)} not found in path {walked}"
                )
            current = {name: current[name] for name in step.names if name in current}
        else:  # pragma: no cover - the compiler only makes definite paths of the steps above
            raise AssertionError(f"step {step!r} in a definite path")
        walked += _fragment(step)
    return current


def _select(steps: tuple[Step, ...], position: int, value: Any, root: Any) -> Iterator[Any]:
    """Yield every match of ``steps[position:]`` under ``value``; what is missing is skipped."""
    if position == len(steps):
        yield value
        return
    step = steps[position]
    following = position + 1
    if isinstance(step, Child):
        if isinstance(value, dict) and step.name in value:
            yield from _select(steps, following, value[step.name], root)
    elif isinstance(step, Children):
        if not isinstance(value, dict):
            return
        if following == len(steps):
            yield {name: value[name] for name in step.names if name in value}
        else:
            for name in step.names:
                if name in value:
                    yield from _select(steps, following, value[name], root)
    elif isinstance(step, Index | Indexes):
        if isinstance(value, list):
            size = len(value)
            for index in (step.index,) if isinstance(step, Index) else step.indexes:
                real = index + size if index < 0 else index
                if 0 <= real < size:
                    yield from _select(steps, following, value[real], root)
    elif isinstance(step, Slice):
        if isinstance(value, list):
            for item in value[step.start : step.stop]:
                yield from _select(steps, following, item, root)
    elif isinstance(step, Wildcard):
        if isinstance(value, dict):
            for item in list(value.values()):
                yield from _select(steps, following, item, root)
        elif isinstance(value, list):
            for item in value:
                yield from _select(steps, following, item, root)
    elif isinstance(step, Filter):
        if isinstance(value, dict):
            # Jayway tests an object itself, not its members, when a filter meets one.
            if step.predicate(value, root):
                yield from _select(steps, following, value, root)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and step.predicate(item, root):
                    yield from _select(steps, following, item, root)
    else:  # Scan: apply what follows to this value and to every value below it
        for node in _descend(value):
            if following < len(steps) and isinstance(steps[following], Filter):
                # After "..", Jayway tests each object against the filter directly.
                flt = steps[following]
                assert isinstance(flt, Filter)
                if isinstance(node, dict) and flt.predicate(node, root):
                    yield from _select(steps, following + 1, node, root)
            else:
                yield from _select(steps, following, node, root)


def _descend(value: Any) -> Iterator[Any]:
    """The containers at and below ``value``, parents before children."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _descend(item)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from _descend(item)


# --- reference paths (ResultPath) ------------------------------------------------------------


@dataclass(frozen=True)
class ReferencePath:
    """A definite path below ``$`` that says where to put a value (ResultPath)."""

    text: str
    steps: tuple[Child | Index, ...] = field(default=(), repr=False, compare=False)

    def assign(self, data: Any, value: Any) -> Any:
        """Return a copy of ``data`` with ``value`` placed at this path.

        Only the objects and arrays along the path are copied; missing objects on the way
        are created (``$.a.b`` on ``{}`` gives ``{"a": {"b": value}}``). ``$`` returns
        ``value`` itself.

        Raises:
            ReferencePathMismatch: the path runs into a value that is not an object (for a
                name) or an array holding that index (for an index).
        """
        return self._assign_at(data, 0, value, data)

    def _assign_at(self, node: Any, position: int, value: Any, whole: Any) -> Any:
        if position == len(self.steps):
            return value
        step = self.steps[position]
        if isinstance(step, Child):
            if node is _MISSING:
                node = {}
            if not isinstance(node, dict):
                raise ReferencePathMismatch(self.text, whole)
            copy = dict(node)
            copy[step.name] = self._assign_at(
                node.get(step.name, _MISSING), position + 1, value, whole
            )
            return copy
        if not isinstance(node, list):
            raise ReferencePathMismatch(self.text, whole)
        index = step.index + len(node) if step.index < 0 else step.index
        if not 0 <= index < len(node):
            raise ReferencePathMismatch(self.text, whole)
        items = list(node)
        items[index] = self._assign_at(node[index], position + 1, value, whole)
        return items


@lru_cache(maxsize=4096)
def compile_reference_path(text: str) -> ReferencePath:
    """Compile a ResultPath: ``$`` followed by names and indexes only.

    Raises:
        JsonPathSyntaxError: the text is not a path, or not a reference path.
    """
    path = compile_path(text)
    if path.root != "$":
        raise JsonPathSyntaxError(f"Invalid reference path '{text}': it must start with '$'")
    steps: list[Child | Index] = []
    for step in path.steps:
        if not isinstance(step, Child | Index):
            raise JsonPathSyntaxError(
                f"Invalid reference path '{text}': {_fragment(step)} may select more than "
                "one value; only names and single indexes are allowed"
            )
        steps.append(step)
    return ReferencePath(text, tuple(steps))


# --- parsing ---------------------------------------------------------------------------------

_INT = re.compile(r"-?\d+")


@lru_cache(maxsize=4096)
def compile_path(text: str) -> JsonPath:
    """Compile a JSONPath (``$...``, ``$$...`` or ``$variable...``).

    Raises:
        JsonPathSyntaxError: the text is not a valid path.
    """
    if not isinstance(text, str) or not text.startswith("$"):
        raise JsonPathSyntaxError(f"Invalid JSONPath '{text}': a path must start with '$'")
    if text.startswith("$$"):
        root, start = "$$", 2
    else:
        end = 1
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        root, start = ("$", 1) if end == 1 else (text[1:end], end)
    parser = _Parser(text, start)
    steps = parser.steps(terminators="")
    if parser.pos != len(text):
        parser.fail(f"unexpected '{text[parser.pos]}'")
    definite = all(
        isinstance(step, Child | Index) or (isinstance(step, Children) and i == len(steps) - 1)
        for i, step in enumerate(steps)
    )
    simple: tuple[str | int, ...] | None = None
    if all(isinstance(step, Child | Index) for step in steps):
        simple = tuple(step.name if isinstance(step, Child) else step.index for step in steps)  # type: ignore[union-attr]
    return JsonPath(text, root, definite, tuple(steps), simple)


class _Parser:
    """A hand-written recursive-descent parser over one path text."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def fail(self, what: str) -> None:
        raise JsonPathSyntaxError(f"Invalid JSONPath '{self.text}': {what} at position {self.pos}")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
            self.pos += 1

    def steps(self, terminators: str) -> list[Step]:
        """Parse steps until the text ends or a character of ``terminators`` begins."""
        steps: list[Step] = []
        while self.pos < len(self.text) and self.peek() not in terminators:
            char = self.peek()
            if char == "." and self.peek(1) == ".":
                self.pos += 2
                steps.append(Scan())
                if self.peek() == "[":
                    continue
                steps.append(self.dotted(terminators))
            elif char == ".":
                self.pos += 1
                steps.append(self.dotted(terminators))
            elif char == "[":
                steps.append(self.bracket())
            else:
                break
        if steps and isinstance(steps[-1], Scan):
            self.fail("'..' must be followed by a name, '*' or a bracket")
        return steps

    def dotted(self, terminators: str) -> Step:
        if self.peek() == "*":
            self.pos += 1
            return Wildcard()
        start = self.pos
        stops = ".[" + terminators
        while self.pos < len(self.text) and self.text[self.pos] not in stops:
            self.pos += 1
        if self.pos == start:
            self.fail("a name is missing after '.'")
        return Child(self.text[start : self.pos])

    def bracket(self) -> Step:
        self.pos += 1  # "["
        self.skip_spaces()
        char = self.peek()
        if char in ("'", '"'):
            names = [self.quoted()]
            self.skip_spaces()
            while self.peek() == ",":
                self.pos += 1
                self.skip_spaces()
                if self.peek() not in ("'", '"'):
                    self.fail("a quoted name is expected after ','")
                names.append(self.quoted())
                self.skip_spaces()
            self.close_bracket()
            return Child(names[0]) if len(names) == 1 else Children(tuple(names))
        if char == "*":
            self.pos += 1
            self.skip_spaces()
            self.close_bracket()
            return Wildcard()
        if char == "?":
            self.pos += 1
            self.skip_spaces()
            if self.peek() != "(":
                self.fail("'(' is expected after '?'")
            self.pos += 1
            start = self.pos
            predicate = FilterParser(self).expression()
            self.skip_spaces()
            if self.peek() != ")":
                self.fail("')' is expected to close the filter")
            source = self.text[start : self.pos]
            self.pos += 1
            self.skip_spaces()
            self.close_bracket()
            return Filter(predicate, source)
        return self.indexes()

    def indexes(self) -> Step:
        first = self.integer(optional=True)
        self.skip_spaces()
        if self.peek() == ":":
            self.pos += 1
            self.skip_spaces()
            stop = self.integer(optional=True)
            self.skip_spaces()
            self.close_bracket()
            return Slice(first, stop)
        if first is None:
            self.fail("an index, a slice, '*', a quoted name or a filter is expected in '[]'")
            raise AssertionError  # unreachable: fail() raises
        numbers = [first]
        while self.peek() == ",":
            self.pos += 1
            self.skip_spaces()
            number = self.integer(optional=False)
            assert number is not None
            numbers.append(number)
            self.skip_spaces()
        self.close_bracket()
        return Index(numbers[0]) if len(numbers) == 1 else Indexes(tuple(numbers))

    def integer(self, optional: bool) -> int | None:
        match = _INT.match(self.text, self.pos)
        if match is None:
            if not optional:
                self.fail("an integer is expected")
            return None
        self.pos = match.end()
        return int(match.group())

    def close_bracket(self) -> None:
        if self.peek() != "]":
            self.fail("']' is expected")
        self.pos += 1

    def quoted(self) -> str:
        """A quoted name, taken as written: a backslash only keeps the quote open."""
        quote = self.peek()
        self.pos += 1
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            if char == quote:
                name = self.text[start : self.pos]
                self.pos += 1
                return name
            self.pos += 1
        self.fail("unterminated quoted name")
        raise AssertionError  # unreachable: fail() raises

    def path_operand(self) -> Operand:
        """A ``@`` or ``$`` path inside a filter, read as an operand."""
        relative = self.peek() == "@"
        self.pos += 1
        steps = tuple(self.steps(terminators=" \t\r\n)=!<>&|,~"))
        definite = all(isinstance(s, Child | Index) for s in steps)

        def read(item: Any, root: Any) -> tuple[bool, Any]:
            found = list(_select(steps, 0, item if relative else root, root))
            if definite:
                return (True, found[0]) if found else (False, None)
            return True, found

        return read
