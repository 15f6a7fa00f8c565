"""JSONPath-mode data flow: InputPath, Parameters, ResultSelector, ResultPath, OutputPath.

Each function takes JSON values and returns new ones; none mutates its arguments (paths
copy only along what they change), so a value may be shared between the history, the
context object and later states without defensive copies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stepfn import errors
from stepfn.definition.model import (
    ArrayTemplate,
    Const,
    Intrinsic,
    ObjectTemplate,
    PathRef,
    TemplateNode,
)
from stepfn.errors import ExecutionError, StateError
from stepfn.interp.events import to_json_text
from stepfn.lang.jsonpath import (
    JsonPath,
    PathNotFound,
    ReferencePath,
    ReferencePathMismatch,
    compile_path,
)


class Scope:
    """What a JSONPath expression may read besides ``$``: the context object (built on
    demand), the workflow variables, and the id source for ``States.UUID`` and friends."""

    __slots__ = ("_context", "_context_fn", "ids", "variables")

    def __init__(
        self,
        context_fn: Callable[[], dict[str, Any]],
        variables: Mapping[str, Any] | None,
        ids: Any,
    ) -> None:
        self._context_fn = context_fn
        self._context: dict[str, Any] | None = None
        self.variables = variables
        self.ids = ids

    def get_context(self) -> dict[str, Any]:
        """The context object (a bound method, for readers that take a builder)."""
        return self.context

    @property
    def context(self) -> dict[str, Any]:
        """The context object, built the first time it is asked for."""
        if self._context is None:
            self._context = self._context_fn()
        return self._context


def root_value(path: JsonPath, data: Any, scope: Scope) -> Any:
    """The value a path starts from: the input, the context object or a variable."""
    root = path.root
    if root == "$":
        return data
    if root == "$$":
        return scope.context
    variables = scope.variables
    if variables is None or root not in variables:
        raise PathNotFound(path.text, f"Variable '{root}' is not defined")
    return variables[root]


def read(path: JsonPath, data: Any, scope: Scope) -> Any:
    """The value at ``path``; raises PathNotFound."""
    return path.find(root_value(path, data, scope))


def read_field(path: JsonPath, data: Any, scope: Scope) -> Any:
    """A path field such as InputPath or ItemsPath: AWS's "Invalid path" on a miss."""
    try:
        return read(path, data, scope)
    except PathNotFound as exc:
        raise StateError(errors.RUNTIME, f"Invalid path '{path.text}' : {exc.message}") from None


def not_found_in_input(path_text: str, field: str, data: Any) -> StateError:
    """AWS's error for a payload-template path that selects nothing."""
    return StateError(
        errors.RUNTIME,
        f"The JSONPath '{path_text}' specified for the field '{field}' "
        f"could not be found in the input '{to_json_text(data)}'",
    )


def evaluate_template(node: TemplateNode, data: Any, scope: Scope) -> Any:
    """Evaluate a compiled payload template against ``data``."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, ObjectTemplate):
        return {key: evaluate_template(child, data, scope) for key, child in node.entries}
    if isinstance(node, PathRef):
        try:
            return read(node.path, data, scope)
        except PathNotFound:
            raise not_found_in_input(node.path.text, node.field, data) from None
    if isinstance(node, ArrayTemplate):
        return [evaluate_template(child, data, scope) for child in node.items]
    if isinstance(node, Intrinsic):
        return evaluate_intrinsic(node.call, data, scope, node.field)
    raise TypeError(f"not a template node: {node!r}")


def evaluate_intrinsic(call: Any, data: Any, scope: Scope, field: str) -> Any:
    """Evaluate an intrinsic function call; its path arguments read ``data``/scope."""
    from stepfn.lang.intrinsics import evaluate

    def resolve_path(text: str) -> Any:
        try:
            return read(compile_path(text), data, scope)
        except PathNotFound:
            raise not_found_in_input(text, field, data) from None

    return evaluate(call, resolve_path, scope.ids)


def apply_result_path(
    path: ReferencePath | None, discard: bool, state_input: Any, result: Any
) -> Any:
    """Place ``result`` into the state input as ResultPath says.

    Absent ResultPath means ``$`` (the result replaces the input); ``null`` keeps the input
    and discards the result.
    """
    if discard:
        return state_input
    if path is None:
        return result
    try:
        return path.assign(state_input, result)
    except ReferencePathMismatch as exc:
        raise ExecutionError(errors.RESULT_PATH_MATCH_FAILURE, exc.message) from None
