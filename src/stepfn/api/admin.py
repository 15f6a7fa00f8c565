"""The server's admin call for tests that move time themselves.

``stepfn server --clock virtual`` runs on a ``ManualClock``: time stands still until a
test advances it, and the timers that came due then fire (Waits, Retry intervals,
timeouts, heartbeats)::

    POST /_stepfn/clock  {"advanceSeconds": 3600}   ->  {"now": "2024-...Z", "epoch": ...}
    GET  /_stepfn/clock                              ->  the same, without moving

With any other clock the POST answers 400 ``ClockNotAdjustable``.
"""

from __future__ import annotations

import json
from typing import Any

from stepfn.clock import ManualClock, iso8601


def clock_call(engine: Any, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Answer ``GET`` or ``POST /_stepfn/clock``: (HTTP status, JSON document)."""
    clock = engine.clock
    if method == "POST":
        if not isinstance(clock, ManualClock):
            return 400, _error(
                "ClockNotAdjustable", "time moves only on a server started with --clock virtual"
            )
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, _error("ValidationException", "the body must be JSON")
        seconds = request.get("advanceSeconds") if isinstance(request, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            return 400, _error(
                "ValidationException", "advanceSeconds must be a number of seconds, 0 or more"
            )
        clock.advance(float(seconds))
        wake = getattr(engine, "wake_loop", None)
        if callable(wake):
            wake()
    now = clock.now()
    return 200, {"now": iso8601(now), "epoch": now}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"__type": code, "message": message}
