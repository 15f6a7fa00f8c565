"""``variableReferences``: which variables each state reads, as DescribeStateMachine lists.

AWS answers, for a definition using variables, a map from state name to the sorted names
of the variables the state reads, states of Parallel branches and Map processors
included (by their own names). A state that reads none is left out; a definition
without any reference gets no ``variableReferences`` at all. Recorded example::

    {"CheckAnswer": ["answer", "guess"], "WrongAnswer": ["answer"]}

A variable is read where a JSONPath may start with ``$name`` (``InputPath``,
``SecondsPath``, a Choice rule's ``Variable`` or ``...Path`` operand, ...), in the
values of ``.$`` fields of payload templates (``Parameters``, ``ItemSelector``,
``Assign``, ...), intrinsic function arguments included, and in JSONata expressions
(``{% $name %}``). A plain string that looks like ``$name`` in a field not ending with
``.$`` is a literal, not a reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["nested_states", "variable_references"]

# JSONPath fields of a state that may read a variable.
_PATH_FIELDS = (
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
)
# Payload templates: their ``.$`` fields are paths or intrinsic functions.
_TEMPLATE_FIELDS = (
    "Parameters",
    "ItemSelector",
    "ResultSelector",
    "Assign",
    "Credentials",
    "Arguments",
    "Output",
)
# Fields that hold JSONata anywhere inside.
_JSONATA_FIELDS = (
    "Arguments",
    "Output",
    "Assign",
    "Items",
    "Seconds",
    "Timestamp",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "Error",
    "Cause",
    "ItemSelector",
)

# ``$name`` at the start of a path, not ``$.``, ``$[`` nor ``$$``.
_PATH_VARIABLE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)")
# ``$name`` anywhere in an intrinsic call or a JSONata expression.
_ANY_VARIABLE = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_QUOTED = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"")
_JSONATA = re.compile(r"^\{%(.*)%\}$", re.DOTALL)
_JSONATA_BOUND = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:=")
_JSONATA_PARAMS = re.compile(r"function\s*\(([^)]*)\)")
# Names JSONata gives meaning itself, never the machine's variables.
_RESERVED = frozenset({"states"})


def variable_references(definition: str | Mapping[str, Any]) -> dict[str, list[str]]:
    """The variables each state reads, by state name; empty when none reads any.

    A definition that does not parse has no references (it could not have been stored).
    """
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError:
            return {}
    if not isinstance(definition, Mapping):
        return {}
    found: dict[str, set[str]] = {}
    language = definition.get("QueryLanguage", "JSONPath")
    for name, state in nested_states(definition, language):
        names = _state_references(state[0], state[1])
        if names:
            found.setdefault(name, set()).update(names)
    return {name: sorted(names) for name, names in sorted(found.items())}


def nested_states(
    machine: Mapping[str, Any], language: str
) -> Iterator[tuple[str, tuple[Mapping[str, Any], str]]]:
    """Every state of a machine and of the machines nested in it (Map processors, Parallel
    branches), by name, with its query language (``language`` where it names none)."""
    states = machine.get("States")
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        own = state.get("QueryLanguage", language)
        yield name, (state, own)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from nested_states(state[key], own)
        for branch in state.get("Branches") or []:
            if isinstance(branch, Mapping):
                yield from nested_states(branch, own)


def _state_references(state: Mapping[str, Any], language: str) -> set[str]:
    names: set[str] = set()
    if language == "JSONata":
        for key in _JSONATA_FIELDS:
            if key in state:
                names |= _in_jsonata_value(state[key])
        for rule in state.get("Choices") or []:
            if isinstance(rule, Mapping):
                names |= _in_jsonata_value(rule.get("Condition"))
                names |= _in_jsonata_value(rule.get("Assign"))
                names |= _in_jsonata_value(rule.get("Output"))
        return names
    for key in _PATH_FIELDS:
        names |= _in_path(state.get(key))
    for key in _TEMPLATE_FIELDS:
        names |= _in_template(state.get(key))
    reader = state.get("ItemReader")
    if isinstance(reader, Mapping):
        names |= _in_template(reader.get("Parameters"))
        config = reader.get("ReaderConfig")
        if isinstance(config, Mapping):
            names |= _in_path(config.get("MaxItemsPath"))
    for rule in state.get("Choices") or []:
        names |= _in_rule(rule)
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, Mapping):
            names |= _in_template(catcher.get("Assign"))
    return names


def _in_rule(rule: Any) -> set[str]:
    """A Choice rule: its ``Variable``, ``...Path`` operands, nested rules, Assign."""
    if not isinstance(rule, Mapping):
        return set()
    names = _in_path(rule.get("Variable"))
    for key, value in rule.items():
        if key.endswith("Path"):
            names |= _in_path(value)
        elif key in ("And", "Or") and isinstance(value, list):
            for inner in value:
                names |= _in_rule(inner)
        elif key == "Not":
            names |= _in_rule(value)
    return names | _in_template(rule.get("Assign"))


def _in_path(value: Any) -> set[str]:
    if not isinstance(value, str):
        return set()
    match = _PATH_VARIABLE.match(value)
    return {match.group(1)} if match else set()


def _in_template(value: Any) -> set[str]:
    """The ``.$`` fields of a payload template, at any depth."""
    names: set[str] = set()
    for key, text in _strings(value):
        if isinstance(key, str) and key.endswith(".$"):
            names |= _in_expression(text)
    return names


def _strings(value: Any, key: Any = None) -> Iterator[tuple[Any, str]]:
    """Every string of a JSON value, at any depth, with the key it stands under (None
    in a list or at the top)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, Mapping):
        for inner_key, inner in value.items():
            yield from _strings(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _in_expression(text: str) -> set[str]:
    """A path (``$name.x``) or an intrinsic function call (``States.F($a, 'x')``)."""
    if text.startswith("States."):
        return _names(_QUOTED.sub("''", text))
    return _in_path(text)


def _in_jsonata_value(value: Any) -> set[str]:
    """The ``{% ... %}`` expressions of a JSONata field's value, at any depth."""
    names: set[str] = set()
    for _, text in _strings(value):
        match = _JSONATA.match(text.strip())
        if match:
            names |= _in_jsonata(match.group(1))
    return names


def _in_jsonata(expression: str) -> set[str]:
    """Variables a JSONata expression reads: not ``$states``, not the ones it binds
    itself (``$x := ...``, function parameters), not function calls."""
    text = _QUOTED.sub('""', expression)
    bound = set(_JSONATA_BOUND.findall(text))
    for params in _JSONATA_PARAMS.findall(text):
        bound |= set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", params))
    return _names(text) - bound - _RESERVED


def _names(text: str) -> set[str]:
    return set(_ANY_VARIABLE.findall(text))
