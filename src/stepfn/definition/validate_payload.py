"""Checks of the expressions a definition holds: paths, payload templates, JSONata, Assign.

The syntax itself belongs to ``stepfn.lang``: ``jsonpath.compile_path`` and
``compile_reference_path``, ``parse_intrinsic``, and ``jsonata.compile_expression``. They
are imported when first needed, and a checker whose module is not there (yet) is simply
skipped, so validation never depends on how far the language modules have come.

Two languages, two kinds of template:

* JSONPath states: in ``Parameters``, ``ResultSelector``, ``ItemSelector``, ``Assign``
  and the like, a key ending in ``.$`` takes a path (``$.a``, ``$$.Execution.Id``,
  ``$var``) or an intrinsic call (``States.Format('{}', $.a)``); other keys are literal.
  Nested objects and arrays are templates too.
* JSONata states: any string that is exactly ``{% ... %}`` is an expression, wherever
  it sits inside ``Arguments``, ``Output``, ``Assign``...; everything else is literal.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from stepfn.definition.validate_context import (
    INVALID_JSONATA,
    INVALID_VARIABLE,
    RESERVED_VARIABLE,
    Context,
    at,
    expected_type,
    is_jsonata,
    join,
)

# AWS's warning codes (severity WARNING: the definition still deploys).
NO_DOLLAR = "NO_DOLLAR"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"

MAX_VARIABLE_NAME = 80
RESERVED_NAMES = frozenset({"states"})

# JSONata's error codes (S0202, T2001...) open its messages; AWS drops them.
_JSONATA_CODE = re.compile(r"^[A-Z]\d{4}:\s*")
_LOOKS_LIKE_PATH = re.compile(r"^\$\$?\.")

_MODULES: dict[str, ModuleType | None] = {}


def language_module(*names: str, needs: str) -> ModuleType | None:
    """The first of ``stepfn.lang.<name>`` that imports and has ``needs``, or None."""
    for name in names:
        if name not in _MODULES:
            try:
                _MODULES[name] = importlib.import_module(f"stepfn.lang.{name}")
            except ImportError:
                _MODULES[name] = None
        module = _MODULES[name]
        if module is not None and hasattr(module, needs):
            return module
    return None


_SYNTAX_ERRORS: dict[str, tuple[type[Exception], ...]] = {}


def _syntax_errors(module: ModuleType) -> tuple[type[Exception], ...]:
    """The exceptions that mean "bad syntax" in ``module``: its ``*SyntaxError`` classes.

    Only those are the definition's fault; anything else is a bug and must surface.
    """
    found = _SYNTAX_ERRORS.get(module.__name__)
    if found is None:
        found = (ValueError,)
        for name, obj in vars(module).items():
            is_class = isinstance(obj, type) and issubclass(obj, Exception)
            if name.endswith("SyntaxError") and is_class:
                found += (obj,)
        _SYNTAX_ERRORS[module.__name__] = found
    return found


def _syntax_error(module: ModuleType, function: str, text: str) -> str | None:
    """Run ``module.function(text)``; the message of the syntax error it raises, or None."""
    try:
        getattr(module, function)(text)
    except _syntax_errors(module) as exc:
        return str(exc) or type(exc).__name__
    return None


# --- JSONPath ----------------------------------------------------------------------------


def path_error(text: str, *, reference: bool = False) -> str | None:
    """Why ``text`` is not a valid path (a reference path when ``reference``), or None."""
    function = "compile_reference_path" if reference else "compile_path"
    module = language_module("jsonpath", needs=function)
    if module is None:
        return None if text.startswith("$") else "a path must start with '$'"
    return _syntax_error(module, function, text)


def intrinsic_error(text: str) -> str | None:
    """Why ``text`` is not a valid intrinsic call, or None (also when unchecked)."""
    module = language_module("intrinsics", "intrinsic_syntax", needs="parse_intrinsic")
    if module is None:
        return None
    return _syntax_error(module, "parse_intrinsic", text)


def looks_intrinsic(text: str) -> bool:
    """True when ``text`` has the shape ``States.Name(...)``."""
    module = language_module("intrinsics", "intrinsic_syntax", needs="is_intrinsic")
    if module is not None:
        return bool(module.is_intrinsic(text))
    return text.lstrip().startswith("States.")


def check_path(
    ctx: Context,
    value: Any,
    path: str,
    name: str,
    *,
    reference: bool = False,
    intrinsic: bool = False,
    nullable: bool = False,
) -> None:
    """A field whose value is a path (``InputPath``, ``ResultPath``, ``SecondsPath``...).

    Args:
        reference: it must be a reference path (names and single indexes: ResultPath).
        intrinsic: an intrinsic call is accepted too (``ErrorPath``, ``CausePath``).
        nullable: JSON null is accepted (``InputPath``, ``OutputPath``, ``ResultPath``).
    """
    if value is None and nullable:
        return
    if not isinstance(value, str):
        ctx.report(path, expected_type("String"))
        return
    if intrinsic and looks_intrinsic(value):
        error = intrinsic_error(value)
        if error:
            ctx.report(
                path,
                f"The value for the field '{name}' must be a valid intrinsic function call: "
                f"{error}",
            )
        return
    error = path_error(value, reference=reference)
    if error:
        kind = "Reference Path" if reference else "JSONPath"
        ctx.report(path, f"The value for the field '{name}' must be a valid {kind}: {error}")


def check_dollar_value(ctx: Context, key: str, value: Any, path: str) -> None:
    """The value of a ``.$`` key: a path or an intrinsic call."""
    message = (
        f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic "
        "function call"
    )
    if not isinstance(value, str):
        ctx.report(path, message)
        return
    if looks_intrinsic(value):
        error = intrinsic_error(value)
    elif value.startswith("$"):
        error = path_error(value)
    else:
        error = "it is neither a path ($...) nor an intrinsic function (States....)"
    if error:
        ctx.report(path, f"{message}: {error}")


def check_template(ctx: Context, value: Any, path: str) -> None:
    """A JSONPath payload template, nested objects and arrays included."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = join(path, key)
            if key.endswith(".$"):
                check_dollar_value(ctx, key, item, here)
            else:
                if isinstance(item, str) and (
                    _LOOKS_LIKE_PATH.match(item) or looks_intrinsic(item)
                ):
                    ctx.report(
                        here,
                        f"The value of the field '{key}' looks like a JSONPath or an intrinsic "
                        "function, but the field name does not end with '.$': it is taken "
                        "as a literal string",
                        NO_DOLLAR,
                    )
                check_template(ctx, item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_template(ctx, item, at(path, i))


def check_static_result(ctx: Context, value: Any, path: str) -> None:
    """A Pass state's Result is taken as it is: ``.$`` keys in it are not evaluated."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key.endswith(".$"):
                ctx.report(
                    join(path, key),
                    "A Pass state's Result is static: the field name ends with '.$' but its "
                    "value is not evaluated (use Parameters to evaluate a path)",
                    PASS_RESULT_IS_STATIC,
                )
            check_static_result(ctx, item, join(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_static_result(ctx, item, at(path, i))


# --- JSONata -----------------------------------------------------------------------------


def check_jsonata(ctx: Context, text: str, path: str) -> None:
    """One ``{% ... %}`` expression: it must parse."""
    module = language_module("jsonata", needs="compile_expression")
    if module is None:
        return
    error = _syntax_error(module, "compile_expression", text[2:-2])
    if error is not None:
        ctx.report(path, _JSONATA_CODE.sub("", error), INVALID_JSONATA)


def check_jsonata_value(ctx: Context, value: Any, path: str) -> None:
    """Every ``{% ... %}`` string inside ``value`` (objects and arrays walked)."""
    if isinstance(value, str):
        if is_jsonata(value):
            check_jsonata(ctx, value, path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_jsonata_value(ctx, item, join(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_jsonata_value(ctx, item, at(path, i))


def check_value(ctx: Context, value: Any, path: str, jsonata: bool) -> None:
    """A template in the state's language: JSONata expressions, or a JSONPath template."""
    if jsonata:
        check_jsonata_value(ctx, value, path)
    else:
        check_template(ctx, value, path)


# --- Assign ------------------------------------------------------------------------------


def check_assign(ctx: Context, value: Any, path: str, jsonata: bool) -> None:
    """``Assign``: an object from variable names to values (templates of the language)."""
    if not isinstance(value, Mapping):
        ctx.report(path, expected_type("Object"))
        return
    for key, item in value.items():
        here = join(path, key)
        name = key[:-2] if key.endswith(".$") and not jsonata else key
        if name in RESERVED_NAMES:
            ctx.report(here, f"Cannot assign to reserved variable '${name}'.", RESERVED_VARIABLE)
        elif not _valid_variable_name(name):
            ctx.report(
                here,
                f"Invalid variable name '{name}': a variable name starts with a letter or '_', "
                f"goes on with letters, digits or '_', and has at most {MAX_VARIABLE_NAME} "
                "characters",
                INVALID_VARIABLE,
            )
        if jsonata:
            check_jsonata_value(ctx, item, here)
        elif key.endswith(".$"):
            check_dollar_value(ctx, key, item, here)
        else:
            check_template(ctx, item, here)


def _valid_variable_name(name: str) -> bool:
    # AWS: Unicode identifiers (UAX #31), at most 80 characters. Python's own identifier
    # rule is that standard, with '_' allowed first as well.
    return name.isidentifier() and len(name) <= MAX_VARIABLE_NAME
