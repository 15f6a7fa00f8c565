"""Definition text -> a plain JSON object (``dict``), or a ``DefinitionError``.

A definition arrives as JSON text (the AWS API's only form), as YAML text (handy for
hand-written machines; the API layer turns it off), or as an already-parsed mapping (a
Terraform file's decoded ``definition``, a test's literal). Whatever the form, the result
is made of ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None`` only,
and belongs to the caller: nothing of the input is shared with it.

Bad JSON is reported the way AWS's parser (Jackson) reports it, because clients show
that text to people: ``Unrecognized token 'not': was expecting (...)`` with a location
``[Source: (String)"not a definition"; line: 1, column: 4]``, code
``INVALID_JSON_DESCRIPTION``. A top level that is not an object gets AWS's
``Definition must be a valid JSON object``.

A state name given twice in one ``States`` object would silently keep the last one in
Python's JSON reader; AWS refuses it (``DUPLICATE_STATE_NAME``), and so do we.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from stepfn.errors import DefinitionError, Problem
from stepfn.lang.nesting import depth_problem, text_too_deep, value_too_deep

__all__ = ["INVALID_JSON", "INVALID_YAML", "NOT_AN_OBJECT", "parse_definition"]

INVALID_JSON = "INVALID_JSON_DESCRIPTION"
# Not an AWS code: AWS never reads YAML. Kept apart so the API can never produce it.
INVALID_YAML = "INVALID_YAML_DESCRIPTION"
NOT_AN_OBJECT = "Definition must be a valid JSON object"

# Jackson cuts the source it quotes in messages at this many characters.
_SOURCE_EXCERPT = 500
# Jackson's list of what may start a JSON value, quoted in several of its messages.
_VALUE_KINDS = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


def parse_definition(source: str | bytes | Mapping[str, Any], *, allow_yaml: bool = True) -> dict:
    """Parse a state machine definition into a plain ``dict``.

    Args:
        source: JSON text, YAML text (when ``allow_yaml``), UTF-8 bytes of either, or a
            mapping that is already parsed.
        allow_yaml: accept YAML text. The AWS-compatible API passes False, since AWS
            only reads JSON.

    Raises:
        DefinitionError: the text does not parse, its top level is not an object, or a
            ``States`` object names a state twice. Each problem carries AWS's code.

    Example:
        >>> parse_definition('{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}')
        {'StartAt': 'A', 'States': {'A': {'Type': 'Succeed'}}}
    """
    if isinstance(source, Mapping):
        if value_too_deep(source):
            raise DefinitionError(Problem("", depth_problem(), INVALID_JSON))
        return _as_object(_plain(source, "/"))
    if isinstance(source, bytes | bytearray):
        try:
            text = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DefinitionError(
                Problem("", f"Invalid UTF-8 in the definition at byte {exc.start}", INVALID_JSON)
            ) from None
    elif isinstance(source, str):
        text = source.removeprefix("\ufeff")
    else:
        raise DefinitionError(Problem("", NOT_AN_OBJECT))
    return _parse_text(text, allow_yaml)


def _parse_text(text: str, allow_yaml: bool) -> dict:
    if not text.strip():
        raise DefinitionError(Problem("", NOT_AN_OBJECT))
    # Measured before reading: Python's reader, and every walk of the definition after it,
    # recurse once per level (see stepfn.lang.nesting).
    if text_too_deep(text):
        raise DefinitionError(Problem("", depth_problem(), INVALID_JSON))
    try:
        value = json.loads(text, object_pairs_hook=_JsonObject, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        json_problem = _jackson_problem(text, exc)
        first = text.lstrip()[:1]
        if not allow_yaml or first in "{[":
            raise DefinitionError(json_problem) from None
        value = _parse_yaml(text, json_problem)
    except _NonFiniteNumber as exc:
        raise DefinitionError(Problem("", str(exc), INVALID_JSON)) from None
    if value_too_deep(value):  # YAML's block style nests without brackets
        raise DefinitionError(Problem("", depth_problem(), INVALID_JSON))
    duplicates = _duplicate_state_names(value, "")
    if duplicates:
        raise DefinitionError(duplicates)
    return _as_object(_plain(value, "/"))


def _as_object(value: Any) -> dict:
    if not isinstance(value, dict):
        raise DefinitionError(Problem("", NOT_AN_OBJECT))
    return value


# --- JSON --------------------------------------------------------------------------------


class _JsonObject(dict):
    """A JSON object that remembers the keys its text gave more than once."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        self.repeated: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in self.repeated:
                self.repeated.append(key)
            seen.add(key)


class _NonFiniteNumber(ValueError):
    pass


def _no_constant(name: str) -> Any:
    # Python's reader takes NaN and Infinity; JSON (and AWS) do not.
    raise _NonFiniteNumber(f"Unrecognized token '{name}': was expecting {_VALUE_KINDS}")


def _duplicate_state_names(value: Any, path: str) -> list[Problem]:
    """DUPLICATE_STATE_NAME for each name a ``States`` object repeats, nested ones too."""
    if not isinstance(value, dict):
        return []
    problems: list[Problem] = []
    states = value.get("States")
    if isinstance(states, dict):
        for name in getattr(states, "repeated", []):
            problems.append(
                Problem(
                    f"{path}/States/{name}", f"Duplicate State name: {name}", "DUPLICATE_STATE_NAME"
                )
            )
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            here = f"{path}/States/{name}"
            for key in ("ItemProcessor", "Iterator"):
                problems.extend(_duplicate_state_names(state.get(key), f"{here}/{key}"))
            branches = state.get("Branches")
            if isinstance(branches, list):
                for i, branch in enumerate(branches):
                    problems.extend(_duplicate_state_names(branch, f"{here}/Branches[{i}]"))
    return problems


def _jackson_problem(text: str, exc: json.JSONDecodeError) -> Problem:
    """Re-word Python's JSON error the way Jackson words it, with Jackson's location."""
    pos = exc.pos
    char = text[pos] if pos < len(text) else ""
    end = pos + 1
    if exc.msg.startswith("Expecting value") and (char.isalpha() or char == "_"):
        while end < len(text) and (text[end].isalnum() or text[end] in "_-.$"):
            end += 1
        message = f"Unrecognized token '{text[pos:end]}': was expecting {_VALUE_KINDS}"
    elif not char:
        message = "Unexpected end-of-input: expected close marker for a JSON value"
        end = pos
    elif exc.msg.startswith("Unterminated string"):
        message = "Unexpected end-of-input: was expecting closing quote for a string value"
        end = len(text)
    elif exc.msg.startswith("Invalid control character"):
        message = (
            f"Illegal unquoted character ((CTRL-CHAR, code {ord(char)})): has to be escaped "
            "using backslash to be included in string value"
        )
    else:
        expected = {
            "Expecting property name enclosed in double quotes": (
                "was expecting double-quote to start field name"
            ),
            "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
            "Expecting ',' delimiter": "was expecting comma to separate entries",
            "Extra data": "expected end of the definition after its closing bracket",
        }.get(exc.msg, f"expected a valid value {_VALUE_KINDS}")
        message = f"Unexpected character ('{char}' (code {ord(char)})): {expected}"
    line = text.count("\n", 0, end) + 1
    column = end - (text.rfind("\n", 0, end) + 1) + 1
    location = f"[Source: {_source_excerpt(text)}; line: {line}, column: {column}]"
    return Problem(location, f"{message}\n at {location}", INVALID_JSON)


def _source_excerpt(text: str) -> str:
    if len(text) <= _SOURCE_EXCERPT:
        return f'(String)"{text}"'
    return f'(String)"{text[:_SOURCE_EXCERPT]}"[truncated {len(text) - _SOURCE_EXCERPT} chars]'


# --- YAML --------------------------------------------------------------------------------


def _parse_yaml(text: str, json_problem: Problem) -> Any:
    """YAML text -> value; a text that is not YAML either keeps its JSON diagnosis."""
    try:
        import yaml
    except ImportError:  # PyYAML is optional at run time: then only JSON is read.
        raise DefinitionError(json_problem) from None
    try:
        value = yaml.load(text, Loader=_loader_class(yaml))  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(Problem(where, f"Invalid YAML: {problem}", INVALID_YAML)) from None
    except RecursionError:  # PyYAML composes nodes by recursion; block style has no brackets
        raise DefinitionError(Problem("", depth_problem(), INVALID_YAML)) from None
    if not isinstance(value, dict):
        # A lone word parses as a YAML string; AWS would call it bad JSON, and so do we.
        raise DefinitionError(json_problem)
    return value


_LOADERS: dict[int, type] = {}


def _loader_class(yaml: Any) -> type:
    """A SafeLoader that leaves dates as text: ASL timestamps are strings, not datetimes."""
    loader = _LOADERS.get(id(yaml))
    if loader is None:

        class _AslLoader(yaml.SafeLoader):
            pass

        _AslLoader.yaml_implicit_resolvers = {
            first: [
                (tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"
            ]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        loader = _LOADERS[id(yaml)] = _AslLoader
    return loader


# --- plain values ------------------------------------------------------------------------


def _plain(value: Any, path: str) -> Any:
    """A deep copy made of JSON's own types; anything else is a definition error."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DefinitionError(
                    Problem(path, f"Field names must be strings, got {key!r}", INVALID_JSON)
                )
            out[key] = _plain(item, _join(path, key))
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise DefinitionError(Problem(path, f"Not a JSON number: {value}", INVALID_JSON))
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise DefinitionError(
        Problem(path, f"Not a JSON value: {type(value).__name__} {value!r}", INVALID_JSON)
    )


def _join(path: str, key: str) -> str:
    return f"/{key}" if path == "/" else f"{path}/{key}"
