"""Validation of a parsed definition: every problem at once, located as AWS locates them.

``validate(definition)`` returns the problems the way AWS's ValidateStateMachineDefinition
reports diagnostics: a code (``SCHEMA_VALIDATION_FAILED``, ``MISSING_TRANSITION_TARGET``,
``MISSING_END_STATE``, ...), a message in AWS's words where we know them, and a location
(``/States/Charge/Retry[0]/ErrorEquals``). ``check(definition)`` raises
``DefinitionError`` when any of them is an error; warnings (``NO_DOLLAR``,
``PASS_RESULT_IS_STATIC``) never stop a definition, as on AWS.

This module checks a machine as a whole (top-level fields, ``StartAt``, ``States``) and
its graph: transitions to states that do not exist, states nothing transitions to,
machines with no terminal state. Branches of a Parallel and processors of a Map are
machines of their own, checked the same way at their location
(``/States/P/Branches[0]/StartAt``); a transition never leaves the machine it is in.
``validate_states`` checks each state; ``validate_choice`` the Choice rules;
``validate_payload`` the expressions (paths, intrinsics, JSONata, Assign).

Example:
    >>> definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    >>> [(p.path, p.message, p.code) for p in validate(definition)]
    [('/States/A/Next', "Missing 'Next' target: B", 'MISSING_TRANSITION_TARGET'), \
('', 'Workflow has no terminal state', 'MISSING_END_STATE')]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stepfn.definition.validate_context import (
    EMPTY,
    EXPRESS,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    MISSING_END,
    MISSING_TARGET,
    NO_TERMINAL,
    STANDARD,
    STATE_TYPES,
    Context,
    at,
    expect,
    join,
    missing_target,
    not_supported,
    one_of,
    required,
    unreachable,
)
from stepfn.definition.validate_payload import NO_DOLLAR, PASS_RESULT_IS_STATIC
from stepfn.definition.validate_states import check_state
from stepfn.errors import DefinitionError, Problem

__all__ = ["WARNING_CODES", "check", "is_error", "validate"]

# Diagnostics AWS reports with severity WARNING: the definition is still accepted.
WARNING_CODES = frozenset({NO_DOLLAR, "NO_PATH", PASS_RESULT_IS_STATIC})

_TOP_FIELDS = frozenset(
    {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
)


def validate(definition: Any, *, machine_type: str = STANDARD) -> list[Problem]:
    """Every problem of ``definition`` (a parsed definition), errors and warnings.

    Args:
        definition: the definition as ``parse_definition`` returns it.
        machine_type: ``STANDARD`` or ``EXPRESS``; Express machines refuse some
            integrations (``.sync``, ``.waitForTaskToken``, activities) and Distributed Maps.

    Returns:
        The problems in the order found; empty when the definition is valid.
    """
    if machine_type not in (STANDARD, EXPRESS):
        raise ValueError(f"machine_type must be STANDARD or EXPRESS, not {machine_type!r}")
    if not isinstance(definition, Mapping):
        return [Problem("", "Definition must be a valid JSON object")]
    language = definition.get("QueryLanguage", JSONPATH)
    ctx = Context(
        machine_type=machine_type,
        # Anything but the exact word JSONPath is read as JSONata (and reported if invalid).
        top_language=JSONPATH if language == JSONPATH else JSONATA,
        check_machine=_check_machine,
    )
    _check_top_fields(ctx, definition)
    _check_machine(ctx, definition, "/", _TOP_FIELDS)
    return ctx.problems


def is_error(problem: Problem) -> bool:
    """True unless ``problem`` is one of AWS's warnings."""
    return problem.code not in WARNING_CODES


def check(definition: Any, *, machine_type: str = STANDARD) -> None:
    """Raise ``DefinitionError`` listing every error of ``definition``; warnings pass.

    Raises:
        DefinitionError: the definition has at least one error.
    """
    errors = [
        problem for problem in validate(definition, machine_type=machine_type) if is_error(problem)
    ]
    if errors:
        raise DefinitionError(errors)


def _check_top_fields(ctx: Context, definition: Mapping[str, Any]) -> None:
    """The fields only the top level has: Version, TimeoutSeconds, QueryLanguage."""
    if "Version" in definition:
        here = join("/", "Version")
        if expect(ctx, definition["Version"], "String", here) and definition["Version"] != "1.0":
            ctx.report(here, one_of(["1.0"]))
    if "TimeoutSeconds" in definition:
        here, value = join("/", "TimeoutSeconds"), definition["TimeoutSeconds"]
        if expect(ctx, value, "Integer", here):
            if value < 0:
                ctx.report(here, "Minimum value is 0")
            elif value > MAX_SECONDS:
                ctx.report(here, f"Maximum value is {MAX_SECONDS}")
    if "QueryLanguage" in definition:
        here, value = join("/", "QueryLanguage"), definition["QueryLanguage"]
        if expect(ctx, value, "String", here) and value not in (JSONPATH, JSONATA):
            ctx.report(here, one_of([JSONPATH, JSONATA]))


def _check_machine(ctx: Context, machine: Any, path: str, allowed: frozenset[str]) -> None:
    """A machine: the top level, a Parallel branch, or a Map's item processor.

    ``allowed`` names the fields this kind of machine may have besides its states.
    """
    if not isinstance(machine, Mapping):
        expect(ctx, machine, "Object", path)
        return
    for name in machine:
        if name not in allowed:
            ctx.report(path, not_supported(name))
    # AWS lists States before StartAt when both are missing.
    missing = [name for name in ("States", "StartAt") if name not in machine]
    if missing:
        ctx.report(path, required(missing))
    if "Comment" in machine:
        expect(ctx, machine["Comment"], "String", join(path, "Comment"))
    start = machine.get("StartAt")
    if "StartAt" in machine:
        expect(ctx, start, "String", join(path, "StartAt"))
    states = machine.get("States")
    states_path = join(path, "States")
    if "States" not in machine or not expect(ctx, states, "Object", states_path):
        return
    if not states:
        ctx.report(states_path, EMPTY)
        return
    for name, state in states.items():
        check_state(ctx, name, state, join(states_path, name))
    # Without a StartAt there is no graph to walk (AWS then reports the field only).
    if isinstance(start, str):
        _check_graph(ctx, start, states, path)


def _check_graph(ctx: Context, start: str, states: Mapping[str, Any], path: str) -> None:
    """Transitions land on states of this machine; it can end; every state is reached."""
    states_path = join(path, "States")
    if start not in states:
        ctx.report(join(path, "StartAt"), missing_target(start), MISSING_TARGET)
    referenced = {start}
    for name, state in states.items():
        for field_path, target in _transitions(state, join(states_path, name)):
            if target not in states:
                ctx.report(field_path, missing_target(target), MISSING_TARGET)
            elif target != name:
                referenced.add(target)
    # A state of unknown type might have been the end: then the question stays open.
    known = all(isinstance(s, Mapping) and s.get("Type") in STATE_TYPES for s in states.values())
    if known and not any(_is_terminal(state) for state in states.values()):
        # AWS gives no location here for the top level; a nested machine gets its own.
        ctx.report("" if path == "/" else path, NO_TERMINAL, MISSING_END)
        # ...and then does not look for unreachable states.
        return
    # A state is reachable when another state (or StartAt) names it, as AWS judges it:
    # a cycle that nothing enters is not reported.
    for name in states:
        if name not in referenced:
            ctx.report(join(states_path, name), unreachable(name), MISSING_TARGET)


def _transitions(state: Any, path: str) -> Iterator[tuple[str, str]]:
    """Each (location, target) a state may transition to: Next, Default, rules, catchers."""
    if not isinstance(state, Mapping):
        return
    for name in ("Next", "Default"):
        if isinstance(state.get(name), str) and (name == "Next" or state.get("Type") == "Choice"):
            yield join(path, name), state[name]
    for name in ("Choices", "Catch"):
        entries = state.get(name)
        if name == "Choices" and state.get("Type") != "Choice":
            continue
        if isinstance(entries, list):
            for i, entry in enumerate(entries):
                if isinstance(entry, Mapping) and isinstance(entry.get("Next"), str):
                    yield join(at(join(path, name), i), "Next"), entry["Next"]


def _is_terminal(state: Any) -> bool:
    return isinstance(state, Mapping) and (
        state.get("End") is True or state.get("Type") in ("Succeed", "Fail")
    )
