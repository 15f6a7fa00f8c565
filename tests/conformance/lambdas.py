"""Local stand-ins for the Lambda functions the conformance cases call.

A case's ``lambda_sources`` maps a function name (the one in its ARN or ``FunctionName``)
to the path of the handler AWS ran. Only the behaviour of those handlers is known; these
are our own handlers with that behaviour, called as ``handler(event, context)``.

The one that sleeps 60 s must not hold up a test run: it moves the execution's *virtual*
clock forward instead, so the interpreter sees a call that took 60 s (and a
``TimeoutSeconds`` of 5 expires) while the test takes no time at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stepfn.clock import Clock

Handler = Callable[[Any, Any], Any]

# The size the "large output" handler returns: just over the 256 KiB payload limit.
LARGE_OUTPUT_BYTES = 257 * 1024


def id_function(event: Any, context: Any) -> Any:
    """Return the event unchanged."""
    return event


def echo_function(event: Any, context: Any) -> Any:
    """Return a fixed greeting whatever the event."""
    return {"Return": "HelloWorld"}


def return_bytes_str(event: Any, context: Any) -> bytes:
    """Return raw bytes that are a JSON string literal (quotes included)."""
    return b'"HelloWorld!"'


def raise_exception(event: Any, context: Any) -> Any:
    """Fail with a plain exception."""
    raise Exception("Some exception was raised.")


class CustomException(Exception):
    """An exception whose message lives in an attribute, not in ``str()``.

    AWS reports ``str(exception)`` as ``errorMessage``, so this one's is empty.
    """

    message = "CustomException message"

    def __str__(self) -> str:
        return ""


def raise_custom_exception(event: Any, context: Any) -> Any:
    """Fail with an exception of a type the definition catches by name."""
    raise CustomException()


def large_output_string(event: Any, context: Any) -> bytes:
    """Return more bytes than a state may pass on (``States.DataLimitExceeded``)."""
    return b"a" * LARGE_OUTPUT_BYTES


def wait_seconds(clock: Clock, seconds: float) -> Handler:
    """A handler that takes ``seconds`` of ``clock`` time, then returns its event."""

    def handler(event: Any, context: Any) -> Any:
        clock.sleep_until(clock.now() + seconds)
        return event

    return handler


# Handlers by the path named in ``lambda_sources``. The clock-bound one is built per run.
HANDLERS: dict[str, Handler] = {
    "lambdas/services/id_function.py": id_function,
    "lambdas/base/echo_function.py": echo_function,
    "lambdas/services/return_bytes_str.py": return_bytes_str,
    "lambdas/errorhandling/raise_exception.py": raise_exception,
    "lambdas/errorhandling/raise_custom_exception.py": raise_custom_exception,
    "lambdas/errorhandling/large_output_string.py": large_output_string,
}
CLOCK_HANDLERS: dict[str, float] = {"lambdas/timeouts/wait_60_seconds.py": 60.0}


def unknown_handlers(sources: Mapping[str, str]) -> list[str]:
    """The handler paths in ``sources`` that have no local stand-in."""
    known = HANDLERS.keys() | CLOCK_HANDLERS.keys()
    return sorted({path for path in sources.values() if path not in known})


def functions_for(sources: Mapping[str, str], clock: Clock) -> dict[str, Handler]:
    """The ``functions=`` mapping for ``stepfn.run``: function name -> handler."""
    functions: dict[str, Handler] = {}
    for name, path in sources.items():
        if path in CLOCK_HANDLERS:
            functions[name] = wait_seconds(clock, CLOCK_HANDLERS[path])
        else:
            functions[name] = HANDLERS[path]
    return functions
