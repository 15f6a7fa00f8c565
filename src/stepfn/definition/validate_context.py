"""What the validation modules share: where problems go, AWS's wording, small type checks.

Locations are written the way AWS writes them in ValidateStateMachineDefinition's
``location``: ``/`` for the top level, ``/States/<name>/<Field>`` below it, and an
array element as ``Field[i]`` (``/States/C/Choices[0]/Next``,
``/States/P/Branches[1]/States/X``). A problem about a field AWS locates sometimes at
the field (a bad value: ``/States/W/Seconds``) and sometimes at the object holding it (a
missing or unsupported field: ``/States/W``); each check follows what AWS does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

from stepfn.errors import Problem

# AWS's diagnostic codes (ValidateStateMachineDefinitionDiagnostic).
SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END = "MISSING_END_STATE"
DUPLICATE_STATE = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME = "INVALID_STATE_NAME"
DUPLICATE_LABEL = "DUPLICATE_LABEL_NAME"
INVALID_LABEL = "INVALID_LABEL_NAME"
INVALID_RESOURCE = "INVALID_RESOURCE"
INVALID_JSONATA = "INVALID_JSONATA_EXPRESSION"
INVALID_VARIABLE = "INVALID_VARIABLE_NAME"
RESERVED_VARIABLE = "RESERVED_VARIABLE_NAME"

JSONPATH = "JSONPath"
JSONATA = "JSONata"
STANDARD = "STANDARD"
EXPRESS = "EXPRESS"

STATE_TYPES = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map")

# AWS's limits on numbers it stores as seconds or counts.
MAX_SECONDS = 99999999
MAX_RETRY_DELAY = 31622400  # one leap year, AWS's cap on MaxDelaySeconds
MAX_STATE_NAME = 80


# --- AWS's sentences ---------------------------------------------------------------------
# Texts seen in AWS's answers (recordings, and diagnostics quoted in public bug reports).


def not_supported(name: str) -> str:
    """A field this object does not take."""
    return f"Field '{name}' is not supported"


def required(names: Iterable[str]) -> str:
    """Fields this object must have."""
    return f"These fields are required: [{', '.join(names)}]"


def only_one(names: Iterable[str]) -> str:
    """More than one of fields that exclude each other."""
    return f"There should only be one of the following fields: [{', '.join(names)}]"


def exactly_one(names: Iterable[str]) -> str:
    """None of fields of which exactly one is needed."""
    return f"This object should have only one of the following fields: [{', '.join(names)}]"


def one_of(values: Iterable[str]) -> str:
    """A value outside an enumeration."""
    return f"Value should be one of the following: [{', '.join(values)}]"


def expected_type(kind: str) -> str:
    """A value of the wrong JSON type (String, Integer, Number, Boolean, Object, Array)."""
    return f"Expected value of type {kind}"


def language_only(current: str, name: str) -> str:
    """A field that exists only in the other query language."""
    other = JSONATA if current == JSONPATH else JSONPATH
    return (
        f"The QueryLanguage is set to '{current}', but field '{name}' is only supported "
        f"for the '{other}' QueryLanguage"
    )


EMPTY = "Value cannot be empty"
TYPE_VALUES = f"The field 'Type' should have one of these values: [{', '.join(STATE_TYPES)}]"
DOWNGRADE = "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
NO_TERMINAL = "Workflow has no terminal state"
BAD_TIMESTAMP = "String does not match RFC3339 timestamp"


def missing_target(name: str) -> str:
    """A transition (Next, Default, StartAt, a Catch's Next) to a state that is not there."""
    return f"Missing 'Next' target: {name}"


def unreachable(name: str) -> str:
    """A state that no transition leads to."""
    return f'State "{name}" is not reachable.'


# --- where we are ------------------------------------------------------------------------


def join(path: str, key: str) -> str:
    """The location of ``key`` inside the object at ``path``."""
    return f"/{key}" if path in ("", "/") else f"{path}/{key}"


def at(path: str, index: int) -> str:
    """The location of element ``index`` of the array at ``path``, AWS style."""
    return f"{path}[{index}]"


@dataclass
class Context:
    """The state of one validation run, shared by every check it makes.

    ``machine_type`` is the type of the workflow the current states run in: a
    Distributed Map's item processor runs as its own ``ExecutionType``.
    ``top_language`` is the machine's QueryLanguage, which states inside Parallel
    branches and Map processors inherit (not the Map's or Parallel's own).
    ``check_machine`` validates a nested machine (a branch, an item processor); it is
    handed in so that the state checks need not import the machine checks.
    """

    machine_type: str
    top_language: str
    check_machine: Callable[[Context, Any, str, frozenset[str]], None]
    problems: list[Problem] = field(default_factory=list)
    state_paths: dict[str, str] = field(default_factory=dict)
    label_paths: dict[str, str] = field(default_factory=dict)

    def report(self, path: str, message: str, code: str = SCHEMA) -> None:
        """Record one problem."""
        self.problems.append(Problem(path or "", message, code))


@dataclass(frozen=True)
class StateInfo:
    """A state being checked: its name, location, type and effective query language."""

    name: str
    path: str
    type: str
    language: str
    body: Mapping[str, Any]

    @property
    def jsonata(self) -> bool:
        """True when the state's expressions are JSONata."""
        return self.language == JSONATA


# --- value kinds -------------------------------------------------------------------------


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (booleans are not numbers in JSON)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A JSON number."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_jsonata(value: Any) -> bool:
    """A JSONata expression: a string that starts with ``{%`` and ends with ``%}``.

    Spaces outside the delimiters make it a plain string (AWS takes ``" {% x %} "``
    literally), so no stripping here.
    """
    return isinstance(value, str) and len(value) >= 4 and value[:2] == "{%" and value[-2:] == "%}"


# RFC 3339 as the States language profiles it: uppercase T, and Z unless an offset is given.
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def is_timestamp(value: Any) -> bool:
    """A string that is an RFC 3339 timestamp, with a date and time that exist."""
    if not isinstance(value, str):
        return False
    match = _TIMESTAMP.match(value)
    if match is None:
        return False
    try:
        datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    offset = match.group(3)
    return offset == "Z" or (int(offset[1:3]) < 24 and int(offset[4:6]) < 60)


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Integer": is_int,
    "Number": is_number,
    "Boolean": lambda v: isinstance(v, bool),
    "Object": lambda v: isinstance(v, Mapping),
    "Array": lambda v: isinstance(v, list),
}


def expect(ctx: Context, value: Any, kind: str, path: str) -> bool:
    """Report ``value`` at ``path`` unless it is of ``kind``; True when it is."""
    if _KIND_CHECKS[kind](value):
        return True
    ctx.report(path, expected_type(kind))
    return False
