"""Mocked task results checked against the AWS API they stand for (``fieldValidationMode``).

A TestState mock of a service integration must look like what the service's API would
answer: AWS checks it against the API's output shape. ``STRICT`` (the default) wants every
required field and every present field of the right type; ``PRESENT`` checks only the
fields present; ``NONE`` checks nothing. Fields the API does not define pass in every
mode, and the names are those Step Functions shows (``ExecutionArn``, not the API's own
``executionArn``: the first letter is upper case).

The output shapes are the AWS SDK's service models, read from botocore when it is
installed (it is an optional dependency of stepfn). Without it, or for a resource whose
API it does not know (a Lambda function ARN, an activity, ``http:invoke``), the mock is
taken as it is, as ``NONE`` would. Results of the ``.sync`` and ``.waitForTaskToken``
patterns are not the API's output either, so they are not checked.

Examples of AWS's answers (recorded)::

    Mock result schema validation error: Required field 'ExecutionArn' is missing
    Mock result schema validation error: Field 'Entries' must be an array
    Mock result schema validation error: Field 'StorageClass' is not an expected value
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

from stepfn.errors import ServiceError

PREFIX = "Mock result schema validation error: "

# Optimized integrations whose name in a Resource is not the SDK's name for the service.
_SERVICE_NAMES = {"states": "stepfunctions", "sfn": "stepfunctions"}
_OPTIMIZED_ONLY = {"bedrock": "bedrock-runtime"}
_NUMBERS = ("integer", "long", "float", "double")


def check_mock_result(resource: str, result: Any, mode: str) -> None:
    """Refuse a mocked ``result`` of a Task on ``resource`` that its API could not answer.

    Raises:
        ServiceError: ``ValidationException`` with AWS's text, naming the first field
            found wrong.
    """
    if mode == "NONE":
        return
    found = _output_shape(resource)
    if found is None:
        return
    shapes, name = found
    if not isinstance(result, dict):
        # ours: the text for a mock that is not an object is not recorded.
        raise ServiceError("ValidationException", PREFIX + "The mocked result must be an object")
    problem = _check(shapes, name, result, "", mode == "STRICT")
    if problem is not None:
        raise ServiceError("ValidationException", PREFIX + problem)


def operation_of(resource: str) -> tuple[str, str] | None:
    """The SDK's service and operation names for a service integration's Resource:
    ``arn:aws:states:::aws-sdk:s3:getObject`` -> ("s3", "GetObject"); None for other
    resources and for the ``.sync`` / ``.waitForTaskToken`` patterns."""
    parts = resource.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states" or parts[3] or parts[4]:
        return None
    if parts[5] == "aws-sdk" and len(parts) == 8:
        service, action = _SERVICE_NAMES.get(parts[6], parts[6]), parts[7]
    elif parts[5] != "aws-sdk" and len(parts) == 7:
        name = parts[5]
        service, action = _OPTIMIZED_ONLY.get(name, _SERVICE_NAMES.get(name, name)), parts[6]
    else:
        return None
    if not action or "." in action:
        return None
    return service, action[0].upper() + action[1:]


def _output_shape(resource: str) -> tuple[Mapping[str, Any], str] | None:
    operation = operation_of(resource)
    if operation is None:
        return None
    model = _service_model(operation[0])
    if model is None:
        return None
    spec = model.get("operations", {}).get(operation[1])
    output = (spec or {}).get("output")
    if not output:
        return None
    return model["shapes"], output["shape"]


@functools.lru_cache(maxsize=64)
def _service_model(service: str) -> dict[str, Any] | None:
    """botocore's model of ``service``, or None (botocore missing, or no such service)."""
    loader = _loader()
    if loader is None:
        return None
    try:
        model: dict[str, Any] = loader.load_service_model(service, "service-2")
    except Exception:  # botocore's DataNotFoundError and friends: an API it does not know
        return None
    return model


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    try:
        loaders = importlib.import_module("botocore.loaders")
    except ImportError:
        return None
    return loaders.create_loader()


def _shown(name: str) -> str:
    """A member's name as Step Functions shows it."""
    return name[:1].upper() + name[1:]


def _check(
    shapes: Mapping[str, Any], name: str, value: Any, label: str, strict: bool
) -> str | None:
    """The first problem of ``value`` against shape ``name``, or None; ``label`` is the
    field holding it (a list's items are named after the list)."""
    shape = shapes[name]
    kind = shape.get("type")
    if kind == "structure":
        return _check_structure(shapes, shape, value, label, strict)
    if kind == "list":
        if not isinstance(value, list):
            return f"Field '{label}' must be an array"
        item_shape = shape["member"]["shape"]
        for item in value:
            problem = _check(shapes, item_shape, item, label, strict)
            if problem is not None:
                return problem
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return f"Field '{label}' must be an object"  # ours
        value_shape = shape["value"]["shape"]
        for item in value.values():
            problem = _check(shapes, value_shape, item, label, strict)
            if problem is not None:
                return problem
        return None
    if kind in ("string", "blob", "timestamp"):
        if not isinstance(value, str):
            return f"Field '{label}' must be a string"
        if "enum" in shape and value not in shape["enum"]:
            return f"Field '{label}' is not an expected value"
        if kind != "timestamp":
            return _length(shape, value, label)
        return None
    if kind in _NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"Field '{label}' must be a number"
        if "min" in shape and value < shape["min"]:
            return f"Field '{label}' is less than the minimum value"
        if "max" in shape and value > shape["max"]:
            return f"Field '{label}' exceeds the maximum value"
        return None
    if kind == "boolean" and not isinstance(value, bool):
        return f"Field '{label}' must be a boolean"  # ours
    return None


def _check_structure(
    shapes: Mapping[str, Any], shape: Mapping[str, Any], value: Any, label: str, strict: bool
) -> str | None:
    if shape.get("document"):
        return None  # any JSON value
    if not isinstance(value, dict):
        return f"Field '{label}' must be an object"  # ours
    members = {_shown(k): v for k, v in shape.get("members", {}).items()}
    if strict:
        for required in shape.get("required", ()):
            if _shown(required) not in value:
                return f"Required field '{_shown(required)}' is missing"
    for key, item in value.items():
        member = members.get(key)
        if member is not None:
            problem = _check(shapes, member["shape"], item, key, strict)
            if problem is not None:
                return problem
    return None


def _length(shape: Mapping[str, Any], value: str, label: str) -> str | None:
    if "min" in shape and len(value) < shape["min"]:
        return f"Field '{label}' is smaller than the minimum length"
    if "max" in shape and len(value) > shape["max"]:
        return f"Field '{label}' is larger than the maximum length"  # ours
    return None
