"""Requests checked against the service model, with AWS's error codes and texts.

The one request validator: the HTTP API checks each request with it before calling the
Engine, and the Engine's own methods check their keyword arguments with it for Python
callers (``Engine.start_execution(...)``), so both get the same answers, in AWS's words.
What the model cannot say (the kind of resource an ARN names, rules across members, the
characters of a name) are the named rules of ``validation.rules``, checked by the
services after this.

AWS (its request framework) reads a request in two passes, and so does this module:

1. **Deserialisation.** A member of the wrong JSON type (a number where the model has a
   string, an object where it has a list...) cannot be read at all: the answer is a
   ``SerializationException`` for the first such member.
2. **Constraints.** Every violated constraint of every member is reported at once in
   one ``ValidationException``, in the order of the model's members::

       2 validation errors detected: Value null at 'name' failed to satisfy constraint:
       Member must not be null; Value '1001' at 'maxResults' failed to satisfy
       constraint: Member must have value less than or equal to 1000

   Members inside lists are located as ``tags.1.member.key`` (counting from 1), inside
   structures as ``loggingConfiguration.level``. A sensitive member's value is never
   echoed (``Value at 'definition' failed...``). A member breaking both its pattern and
   its length gets both messages, the pattern first, as AWS's services word it.

Members the model does not know are dropped (AWS ignores them too), and a JSON ``null``
is the same as an absent member. The result is a clean copy of the request that the
Engine can take as keyword arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar, cast

from stepfn.errors import ServiceError
from stepfn.validation.model import ServiceModel, Shape, load
from stepfn.validation.rules import validation_error

# Enum lists as AWS prints them where a recorded answer shows an order other than the
# model's (AWS prints a Java set); the others follow the model's order.
_ENUM_ORDER: dict[str, tuple[str, ...]] = {
    "ExecutionStatus": (
        "SUCCEEDED",
        "TIMED_OUT",
        "PENDING_REDRIVE",
        "ABORTED",
        "FAILED",
        "RUNNING",
    ),
}

# Where AWS answers otherwise than its model says (recorded): operation -> member -> the
# model constraints it does not apply. ValidateStateMachineDefinition of an empty
# definition answers a diagnostic ("Definition must be a valid JSON object"), not the
# Definition shape's minimum length.
_NOT_APPLIED: dict[str, dict[str, tuple[str, ...]]] = {
    "ValidateStateMachineDefinition": {"definition": ("min",)},
}

_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}
_EXPECTED = {
    "structure": "an object",
    "map": "an object",
    "list": "an array",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "timestamp": "a number (epoch seconds)",
    "blob": "a string (base64)",
}


# A structure's members as ``Validator._structure`` walks them (see ``_members``).
_Members = list[tuple[str, Shape, bool, "int | float", "int | float"]]


def serialization_error(where: str, shape: Shape, value: Any) -> ServiceError:
    """A member of the wrong JSON type (our wording: AWS's text is not recorded)."""
    found = _JSON_TYPES.get(type(value), type(value).__name__)
    if isinstance(value, int | float) and shape.type in _INT_RANGES and not isinstance(value, bool):
        found = "a number out of range" if isinstance(value, int) else "a fractional number"
    return ServiceError(
        "SerializationException",
        f"Cannot read '{where}': expected {_EXPECTED.get(shape.type, shape.type)}, found {found}",
    )


def java_length(text: str) -> int:
    """A string's length as AWS (Java) counts it: UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _check_unicode(text: str, where: str) -> None:
    """Refuse a lone surrogate (JSON lets ``\\ud800`` through; no store can keep it)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ServiceError(
            "SerializationException", f"Cannot read '{where}': invalid Unicode text"
        ) from None


def _number(value: int | float) -> str:
    # Java prints doubles with a fractional part ("100.0"), as Python does.
    return str(value)


class Validator:
    """Checks requests of one service model."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.shapes = dict(model.shapes)
        self._inputs = {name: op.input for name, op in model.operations.items()}
        self._plans: dict[str, tuple[Shape, _Members]] = {}  # see _members
        for operation, members in _NOT_APPLIED.items():
            self._relax(operation, members)

    def _relax(self, operation: str, members: dict[str, tuple[str, ...]]) -> None:
        """Give ``operation`` an input shape whose ``members`` lack the constraints named."""
        name = self._inputs.get(operation)
        if name is None:
            return
        shape = self.shapes[name]
        refs = dict(shape.members)
        for member, dropped in members.items():
            cleared: dict[str, Any] = dict.fromkeys(dropped)
            relaxed = replace(self.shapes[refs[member]], **cleared)
            refs[member] = f"{operation}.{member}"
            self.shapes[refs[member]] = relaxed
        self._inputs[operation] = f"{operation}Input"
        self.shapes[f"{operation}Input"] = replace(shape, members=refs)

    def request(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The request of ``operation`` cleaned of unknown members and nulls.

        Raises:
            ServiceError: ``SerializationException`` for a member of the wrong JSON type,
                ``ValidationException`` listing every violated constraint.
        """
        name = self._inputs[operation]
        if name is None:
            return {}
        messages: list[str] = []
        cleaned = self._structure(params, self.shapes[name], "", messages)
        if messages:
            raise validation_error(messages)
        return cleaned

    def members(self, operation: str) -> frozenset[str]:
        """The members the model knows in ``operation``'s request."""
        name = self._inputs[operation]
        return frozenset(self.shapes[name].members) if name is not None else frozenset()

    # --- by type ---------------------------------------------------------------------------

    def _value(self, value: Any, shape: Shape, where: str, messages: list[str]) -> Any:
        kind = shape.type
        if kind == "structure":
            if not isinstance(value, dict):
                raise serialization_error(where, shape, value)
            return self._structure(value, shape, where + ".", messages)
        if kind == "list":
            if isinstance(value, tuple):  # a Python caller's sequence; JSON has no tuples
                value = list(value)
            if not isinstance(value, list):
                raise serialization_error(where, shape, value)
            return self._list(value, shape, where, messages)
        if kind == "map":
            if not isinstance(value, dict):
                raise serialization_error(where, shape, value)
            return self._map(value, shape, where, messages)
        if kind == "string":
            if not isinstance(value, str):
                raise serialization_error(where, shape, value)
            if value.isascii() and shape.plain and shape.fits(len(value)):
                return value  # most names and ARNs: no surrogate, no enum, no pattern to see
            _check_unicode(value, where)
            self._string(value, shape, where, messages)
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise serialization_error(where, shape, value)
        elif kind in _INT_RANGES:
            low, high = _INT_RANGES[kind]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise serialization_error(where, shape, value)
            self._range(value, shape, where, messages)
        elif kind in ("float", "double", "timestamp"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise serialization_error(where, shape, value)
            self._range(value, shape, where, messages)
        elif kind == "blob" and not isinstance(value, str):
            raise serialization_error(where, shape, value)
        return value

    def _structure(
        self, value: dict[str, Any], shape: Shape, prefix: str, messages: list[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for member, member_shape, required, low, high in self._members(shape):
            item = value.get(member)
            if item is None:
                if required:
                    where = prefix + member
                    self._fail(None, member_shape, where, "Member must not be null", messages)
                continue
            if type(item) is str and low <= len(item) <= high and item.isascii():
                out[member] = item  # most names, ARNs and inputs: see _members
                continue
            out[member] = self._value(item, member_shape, prefix + member, messages)
        return out

    def _members(self, shape: Shape) -> _Members:
        """A structure's members as ``_structure`` walks them: name, shape, required,
        and for a string bound by its length alone, that length's bounds (an ASCII
        value within them passes with no more looked at; other members have bounds no
        length fits). Worked out once per shape:
        every StartExecution of a Python caller walks the same three."""
        found = self._plans.get(shape.name)
        if found is None or found[0] is not shape:
            members: _Members = []
            for member, ref in shape.members.items():
                member_shape = self.shapes[ref]
                low: int | float = 0
                high: int | float = -1
                if member_shape.type == "string" and member_shape.plain:
                    low = member_shape.min if member_shape.min is not None else 0
                    high = member_shape.max if member_shape.max is not None else float("inf")
                members.append((member, member_shape, member in shape.required, low, high))
            found = self._plans[shape.name] = (shape, members)
        return found[1]

    def _list(self, value: list[Any], shape: Shape, where: str, messages: list[str]) -> list[Any]:
        assert shape.member is not None
        item_shape = self.shapes[shape.member]
        out = []
        for index, item in enumerate(value, start=1):
            here = f"{where}.{index}.member"
            if item is None:
                self._fail(None, item_shape, here, "Member must not be null", messages)
                continue
            out.append(self._value(item, item_shape, here, messages))
        self._length(value, len(value), shape, where, messages)
        return out

    def _map(
        self, value: dict[str, Any], shape: Shape, where: str, messages: list[str]
    ) -> dict[str, Any]:
        assert shape.key is not None and shape.value is not None
        key_shape, value_shape = self.shapes[shape.key], self.shapes[shape.value]
        out = {}
        for key, item in value.items():
            _check_unicode(key, where)
            self._string(key, key_shape, f"{where}.{key}.key", messages)
            if item is None:
                self._fail(
                    None, value_shape, f"{where}.{key}.value", "Member must not be null", messages
                )
                continue
            out[key] = self._value(item, value_shape, f"{where}.{key}.value", messages)
        self._length(value, len(value), shape, where, messages)
        return out

    # --- constraints -----------------------------------------------------------------------

    def _string(self, value: str, shape: Shape, where: str, messages: list[str]) -> None:
        if shape.enum and value not in shape.enum:
            allowed = ", ".join(_ENUM_ORDER.get(shape.name, shape.enum))
            self._fail(
                value, shape, where, f"Member must satisfy enum value set: [{allowed}]", messages
            )
        if shape.regex is not None and shape.regex.fullmatch(value) is None:
            self._fail(
                value,
                shape,
                where,
                f"Member must satisfy regular expression pattern: {shape.pattern}",
                messages,
            )
        if shape.min is not None or shape.max is not None:
            self._length(value, java_length(value), shape, where, messages)

    def _length(self, value: Any, size: int, shape: Shape, where: str, messages: list[str]) -> None:
        self._bounds(value, size, "length", shape, where, messages)

    def _range(self, value: int | float, shape: Shape, where: str, messages: list[str]) -> None:
        self._bounds(value, value, "value", shape, where, messages)

    def _bounds(
        self,
        value: Any,
        size: int | float,
        what: str,
        shape: Shape,
        where: str,
        messages: list[str],
    ) -> None:
        """The shape's ``min``/``max`` of a value's length or of the value itself."""
        if shape.min is not None and size < shape.min:
            text = f"Member must have {what} greater than or equal to {_number(shape.min)}"
            self._fail(value, shape, where, text, messages)
        elif shape.max is not None and size > shape.max:
            text = f"Member must have {what} less than or equal to {_number(shape.max)}"
            self._fail(value, shape, where, text, messages)

    def _fail(
        self, value: Any, shape: Shape, where: str, constraint: str, messages: list[str]
    ) -> None:
        if shape.sensitive:
            shown = ""  # AWS never echoes a sensitive member, not even a null one
        elif value is None:
            shown = " null"
        else:
            shown = f" '{self.shown(value, shape)}'"
        messages.append(f"Value{shown} at '{where}' failed to satisfy constraint: {constraint}")

    def shown(self, value: Any, shape: Shape) -> str:
        """A value as AWS prints it: Java's ``toString`` of the deserialised member."""
        if value is None:
            return "null"
        if shape.sensitive:
            return "***"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list) and shape.member is not None:
            item_shape = self.shapes[shape.member]
            return "[" + ", ".join(self.shown(item, item_shape) for item in value) + "]"
        if isinstance(value, dict) and shape.type == "structure":
            fields = ", ".join(
                f"{member}={self.shown(value.get(member), self.shapes[ref])}"
                for member, ref in shape.members.items()
            )
            return f"{shape.name}({fields})"
        if isinstance(value, dict) and shape.value is not None:
            value_shape = self.shapes[shape.value]
            items = ", ".join(f"{k}={self.shown(v, value_shape)}" for k, v in value.items())
            return "{" + items + "}"
        return str(value)


F = TypeVar("F", bound=Callable[..., Any])


def checking(validator: Validator, operation: str, method: F) -> F:
    """``method`` (which answers ``operation``) with its arguments checked first.

    The Engine's methods for Python callers: the members pass through
    ``Validator.request`` (so a wrong one is refused as the HTTP API refuses it), and a
    keyword the model does not know is handed on unchanged, for Python to refuse as any
    unexpected argument."""
    known = validator.members(operation)
    signature = inspect.signature(method)

    @functools.wraps(method)
    def checked(*args: Any, **params: Any) -> Any:
        if args:  # positional arguments: named as the method names them
            params = dict(signature.bind_partial(*args, **params).arguments)
        if params.keys() <= known:
            return method(**validator.request(operation, params))
        extra = {k: v for k, v in params.items() if k not in known}
        return method(**validator.request(operation, params), **extra)

    return cast(F, checked)


@functools.cache
def default_validator() -> Validator:
    """The validator of the service model ``model.load()`` reads (one per process)."""
    return Validator(load())
