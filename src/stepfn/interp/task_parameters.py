"""Checks Step Functions makes of a Task's parameters before it schedules the task.

Some integrations have parameters of a fixed shape, which AWS checks when the state
runs, before any ``TaskScheduled``: a bad one fails the state with ``States.Runtime``
and the cause ``The Parameters '<parameters as JSON>' could not be used to start the
Task: [<what is wrong>]``. Each entry of ``CHECKS`` checks one resource's parameters
and returns what is wrong, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepfn import errors
from stepfn.errors import StateError
from stepfn.interp.events import to_json_text


def _api_gateway(parameters: Any) -> str | None:
    # apigateway:invoke: each header and query parameter is a list of values (recorded).
    if not isinstance(parameters, dict):
        return None
    for field in ("Headers", "QueryParameters"):
        values = parameters.get(field)
        if values is None:
            continue
        if not isinstance(values, dict) or any(not isinstance(v, list) for v in values.values()):
            return f"The value of the field '{field}' has an invalid format"
    return None


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "arn:aws:states:::apigateway:invoke": _api_gateway,
}


def check(resource: str, parameters: Any) -> None:
    """Raise AWS's ``States.Runtime`` when ``parameters`` cannot start ``resource``."""
    checker = CHECKS.get(resource.removesuffix(".waitForTaskToken"))
    if checker is None:
        return
    problem = checker(parameters)
    if problem is not None:
        raise StateError(
            errors.RUNTIME,
            f"The Parameters '{to_json_text(parameters)}' could not be used to start the "
            f"Task: [{problem}]",
        )
