"""Lambda handlers that the plugin's tests hand to a ``stepfn server`` process."""

from __future__ import annotations

from typing import Any


def double(event: Any, context: Any) -> Any:
    """``{"n": 2}`` -> ``{"n": 4}``."""
    return {"n": event["n"] * 2}
