"""Lambda's errors, as its API answers them: a code, ``Type: User``, a status."""

from __future__ import annotations

from stepfn.errors import ServiceError


def lambda_error(code: str, message: str, status: int) -> ServiceError:
    """A Lambda error: ``code`` with ``Type: User``, at ``status``."""
    error = ServiceError(code, message, status)
    error.fields = {"Type": "User"}  # type: ignore[attr-defined]
    return error


def not_found(what: str) -> ServiceError:
    """Lambda's 404."""
    return lambda_error("ResourceNotFoundException", what, 404)


def invalid(message: str) -> ServiceError:
    """Lambda's 400 for a parameter it refuses."""
    return lambda_error("InvalidParameterValueException", message, 400)
