"""Pages of Lambda's listings (ListFunctions, ListVersionsByFunction, ListAliases).

``MaxItems`` (1 to 10,000; default 50) items a page; while more remain the answer has a
``NextMarker``, opaque to clients as Lambda's is (here: the position of the next item),
which the next call gives back as ``Marker``.
"""

from __future__ import annotations

import base64
from typing import Any

from stepfn.functions.model import LATEST
from stepfn.store.sql_functions import FunctionRow

DEFAULT_MAX_ITEMS = 50


class MarkerError(ValueError):
    """A ``Marker`` or ``MaxItems`` Lambda would refuse; the message says which."""


def in_order(rows: list[FunctionRow]) -> list[FunctionRow]:
    """Versions as Lambda lists them: ``$LATEST``, then the numbers in order."""
    return sorted(
        rows, key=lambda r: (r.version != LATEST, 0 if r.version == LATEST else int(r.version))
    )


def page(
    items: list[Any], marker: str | None, max_items: int | None
) -> tuple[list[Any], str | None]:
    """One page of a listing and the marker of the next (None on the last page).

    The marker is opaque to clients, as Lambda's is: the position of the next item."""
    size = DEFAULT_MAX_ITEMS if max_items is None else max_items
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10000:
        raise MarkerError(f"MaxItems {max_items!r} must be an integer from 1 to 10000")
    start = 0
    if marker:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode().removeprefix("next:"))
        except (ValueError, UnicodeDecodeError):
            raise MarkerError(f"Marker {marker!r} is not one this service gave") from None
        if start < 0:
            raise MarkerError(f"Marker {marker!r} is not one this service gave")
    page = items[start : start + size]
    end = start + len(page)
    if end >= len(items):
        return page, None
    return page, base64.urlsafe_b64encode(f"next:{end}".encode()).decode()
