"""How deeply JSON may nest: one limit for definitions, inputs, outputs and request bodies.

Much of stepfn walks JSON values by recursion (parsing, validating a definition, payload
templates, JSONPath's ``..``, Choice rules in ``Not`` in ``Not``), and so does Python's own
``json``. A value nested a few thousand levels deep would end that recursion with a
``RecursionError``, which would surface as an internal failure. So every door through which
JSON comes in measures its depth first, without recursion, and refuses what is deeper than
``MAX_NESTING_DEPTH`` with the error that door answers for bad JSON.

AWS documents no nesting limit. Its JSON reader (Jackson) refuses documents nested deeper
than 1,000 levels; ours is lower, because it must leave room for the several Python frames
each level costs in the recursive walks above, and no real definition or input comes close.

Depth counts containers: ``1`` and ``[]`` are depth 0 and 1, ``{"a": [1]}`` is depth 2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_NESTING_DEPTH", "depth_problem", "text_too_deep", "value_too_deep"]

MAX_NESTING_DEPTH = 256

# A JSON string (skipped whole, so that brackets inside it do not count) or one bracket.
# The string's alternatives are disjoint, so the regex never backtracks.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)

_CONTAINERS = (Mapping, list, tuple)
_SCALARS = frozenset({str, int, float, bool, type(None)})  # JSON's leaves: never containers


def depth_problem(limit: int = MAX_NESTING_DEPTH) -> str:
    """The text every door gives for a value nested too deep."""
    return f"Document nesting depth exceeds the maximum allowed ({limit} levels)"


def text_too_deep(text: str, limit: int = MAX_NESTING_DEPTH) -> bool:
    """Whether JSON text nests containers deeper than ``limit`` (linear time, no recursion).

    Text that is not JSON is measured all the same (its parser reports it afterwards).
    """
    # Cheap and almost always enough: fewer opening brackets than the limit.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def value_too_deep(value: Any, limit: int = MAX_NESTING_DEPTH) -> bool:
    """Whether a value of mappings and lists (or tuples) nests deeper than ``limit``.

    Walks every container once, with a stack of its own rather than recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        # Plain dicts and lists first: JSON values are nearly always those, and the
        # Mapping check (an ABC's) costs several times a type comparison.
        kind = type(item)
        if kind is dict:
            children: Any = item.values()
        elif kind is list or kind is tuple:
            children = item
        elif isinstance(item, Mapping):
            children = item.values()
        else:
            continue
        depth += 1
        if depth > limit:
            return True
        for child in children:
            kind = type(child)
            plain = kind is dict or kind is list
            if plain or (kind not in _SCALARS and isinstance(child, _CONTAINERS)):
                stack.append((child, depth))
    return False
