"""The task adapter protocol: how a Task state's Resource gets its work done.

The interpreter only says *what* to run (an ``InvokeTask`` command: resource, payload,
token). A driver finds the adapter for the resource in a ``Registry`` and hands it a
``TaskRequest``; the adapter answers with a ``TaskOutcome``. This is the seam that
Lambda stand-ins, activities, HTTP tasks and test doubles plug into, the way a
transport plugs into an HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from stepfn.interp.context import ExecutionInfo


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One attempt at a task."""

    token: str
    resource: str
    payload: Any
    state_name: str
    execution: ExecutionInfo
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a task ended: ``output`` when it succeeded, else ``error`` and ``cause``."""

    succeeded: bool
    output: Any = None
    error: str | None = None
    cause: str | None = None
    # Simulated seconds the task took; a virtual clock advances by it.
    duration: float = 0.0

    @classmethod
    def success(cls, output: Any, duration: float = 0.0) -> TaskOutcome:
        """A successful outcome."""
        return cls(True, output=output, duration=duration)

    @classmethod
    def failure(cls, error: str | None, cause: str | None, duration: float = 0.0) -> TaskOutcome:
        """A failed outcome."""
        return cls(False, error=error, cause=cause, duration=duration)


class TaskAdapter(Protocol):
    """Runs the tasks of the resources it claims."""

    def handles(self, resource: str) -> bool:
        """Whether this adapter runs ``resource``."""
        ...

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Run one attempt of a task and report how it ended."""
        ...


class Registry:
    """Adapters in order; the first that handles a resource runs it."""

    def __init__(self, adapters: Iterable[TaskAdapter] = ()) -> None:
        self._adapters = list(adapters)

    def add(self, adapter: TaskAdapter) -> None:
        """Add an adapter; it is asked after the ones already there."""
        self._adapters.append(adapter)

    def find(self, resource: str) -> TaskAdapter | None:
        """The adapter for ``resource``, or None."""
        for adapter in self._adapters:
            if adapter.handles(resource):
                return adapter
        return None

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Run a task through its adapter; a resource no adapter claims fails the task."""
        adapter = self.find(request.resource)
        if adapter is None:
            return TaskOutcome.failure(
                "States.TaskFailed",
                f"No task adapter handles the resource '{request.resource}'. "
                "Register a function for it (functions=...) or an adapter.",
            )
        return adapter.invoke(request)
