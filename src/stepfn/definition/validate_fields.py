"""Field-level checks shared by the state checks: which fields an object may have in its
query language, required and mutually exclusive fields, and numbers, strings and
enumerations that a JSONata state may also give as ``{% ... %}`` expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from stepfn.definition.validate_context import (
    EMPTY,
    JSONATA,
    JSONPATH,
    Context,
    at,
    expect,
    expected_type,
    is_int,
    is_jsonata,
    is_number,
    language_only,
    not_supported,
    one_of,
    only_one,
    required,
)
from stepfn.definition.validate_payload import check_jsonata

# Fields of one query language only, wherever they appear (states, catchers, ItemReader...).
JSONPATH_ONLY = frozenset(
    {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Result"}
    | {"ItemsPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath", "TimestampPath"}
    | {"ErrorPath", "CausePath", "MaxConcurrencyPath", "ToleratedFailurePercentagePath"}
    | {"ToleratedFailureCountPath", "MaxItemsPath", "MaxItemsPerBatchPath"}
    | {"MaxInputBytesPerBatchPath"}
)
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items"})


def usable_fields(
    ctx: Context, obj: Mapping[str, Any], path: str, allowed: Iterable[str], language: str
) -> set[str]:
    """The fields of ``obj`` that it may have in ``language``; report the others."""
    allowed = frozenset(allowed)
    usable: set[str] = set()
    for name in obj:
        if name not in allowed:
            ctx.report(path, not_supported(name))
        elif language == JSONATA and name in JSONPATH_ONLY:
            ctx.report(path, language_only(JSONATA, name))
        elif language == JSONPATH and name in JSONATA_ONLY:
            ctx.report(path, language_only(JSONPATH, name))
        else:
            usable.add(name)
    return usable


def require_fields(ctx: Context, obj: Mapping[str, Any], path: str, names: Iterable[str]) -> bool:
    """Report the ``names`` that ``obj`` lacks, all in one problem; True when none."""
    missing = [name for name in names if name not in obj]
    if missing:
        ctx.report(path, required(missing))
    return not missing


def exclusive(ctx: Context, fields: set[str], path: str, names: tuple[str, ...]) -> None:
    """Report when more than one of ``names`` (which exclude each other) is given."""
    if sum(name in fields for name in names) > 1:
        ctx.report(path, only_one(names))


def integer(
    ctx: Context, value: Any, path: str, jsonata: bool, minimum: int, maximum: int | None = None
) -> None:
    """An integer field; in JSONata states a ``{% %}`` expression may stand for it."""
    _bounded(ctx, value, path, jsonata, ("Integer", is_int, str), minimum, maximum)


def number(
    ctx: Context, value: Any, path: str, jsonata: bool, minimum: float, maximum: float
) -> None:
    """A number field within [minimum, maximum]; a JSONata state may give an expression."""
    _bounded(ctx, value, path, jsonata, ("Number", is_number, "{:g}".format), minimum, maximum)


# A kind of number: its name in messages, its test, and how a limit of it is written.
_Kind = tuple[str, Callable[[Any], bool], Callable[[Any], str]]


def _bounded(
    ctx: Context,
    value: Any,
    path: str,
    jsonata: bool,
    kind: _Kind,
    minimum: float,
    maximum: float | None,
) -> None:
    name, fits, shown = kind
    if jsonata and is_jsonata(value):
        check_jsonata(ctx, value, path)
    elif not fits(value):
        ctx.report(path, expected_type(name))
    elif value < minimum:
        ctx.report(path, f"Minimum value is {shown(minimum)}")
    elif maximum is not None and value > maximum:
        ctx.report(path, f"Maximum value is {shown(maximum)}")


def array(ctx: Context, value: Any, path: str, *, empty: bool = True) -> bool:
    """Whether ``value`` is an array (else it is reported); one that may not be ``empty``
    and is, is reported too, and still checked on."""
    if not expect(ctx, value, "Array", path):
        return False
    if not empty and not value:
        ctx.report(path, EMPTY)
    return True


def objects(ctx: Context, value: Any, path: str) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """The members of an array of objects (Retry, Catch), each with its index and path;
    a value that is not an array, or a member that is not an object, is reported."""
    if not expect(ctx, value, "Array", path):
        return
    for i, item in enumerate(value):
        here = at(path, i)
        if isinstance(item, Mapping):
            yield i, here, item
        else:
            ctx.report(here, expected_type("Object"))


def text(ctx: Context, value: Any, path: str, jsonata: bool) -> None:
    """A string field; in JSONata states it may be an expression."""
    if jsonata and is_jsonata(value):
        check_jsonata(ctx, value, path)
    else:
        expect(ctx, value, "String", path)


def enum(ctx: Context, value: Any, path: str, values: tuple[str, ...]) -> bool:
    """A string among ``values``; True when it is."""
    if not expect(ctx, value, "String", path):
        return False
    if value not in values:
        ctx.report(path, one_of(values))
        return False
    return True
