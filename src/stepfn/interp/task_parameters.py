"""Checks Step Functions makes of a Task's parameters before it schedules the task.

Some integrations have parameters of a fixed shape, which AWS checks when the state
runs, before any ``TaskScheduled``: a bad one fails the state with ``States.Runtime``
and the cause ``The Parameters '<parameters as JSON>' could not be used to start the
Task: [<what is wrong>]``. Each entry of ``CHECKS`` checks one resource's parameters
and returns what is wrong, or None. ``role_arn`` reads the role of a Task's evaluated
``Credentials``.
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


def role_arn(credentials: Any) -> str | None:
    """The role a Task's evaluated ``Credentials`` name (``{"RoleArn": ...}``), or None
    without them. A ``RoleArn`` that is not a non-empty string fails the state with
    ``States.Runtime``, before the task is scheduled."""
    if credentials is None:
        return None
    value = credentials.get("RoleArn") if isinstance(credentials, dict) else None
    if not isinstance(value, str) or not value:
        raise StateError(
            errors.RUNTIME,
            f"The value of the field 'Credentials' could not be used to start the Task: "
            f"'RoleArn' must be a non-empty string: {to_json_text(credentials)}",
        )
    return value
