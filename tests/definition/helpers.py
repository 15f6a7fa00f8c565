"""Small builders shared by the validation tests."""

from __future__ import annotations

from typing import Any

from stepfn.definition.validate import is_error, validate

SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    """A definition starting at the first state given."""
    return {"StartAt": start or next(iter(states)), "States": states, **top}


def found(definition: Any, machine_type: str = "STANDARD") -> list[tuple[str, str, str]]:
    """The errors of ``definition`` as (location, message, code)."""
    return [
        (p.path, p.message, p.code)
        for p in validate(definition, machine_type=machine_type)
        if is_error(p)
    ]


def single(definition: Any, machine_type: str = "STANDARD") -> tuple[str, str, str]:
    errors = found(definition, machine_type)
    assert len(errors) == 1, errors
    return errors[0]


def one_state(state: Any, **top: Any) -> dict[str, Any]:
    return machine({"S": state}, **top)


def pass_end() -> dict[str, Any]:
    return {"Type": "Pass", "End": True}


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True, **fields}


def map_state(**fields: Any) -> dict[str, Any]:
    processor = {"StartAt": "I", "States": {"I": pass_end()}}
    return {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}
