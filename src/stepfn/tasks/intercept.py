"""A task registry that may answer a task itself before the registry it wraps runs it.

The mocked tasks of a mock configuration (``tasks/mock_adapter.py``) and the IAM checks of
a task's role (``service/iam_tasks.py``) both stand in front of the real adapters this way:
each says only what it answers; the rest (adding adapters, running, closing) goes to the
wrapped registry.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any

from stepfn.tasks.base import (
    NOT_CANCELLABLE,
    Cancel,
    Completion,
    Registry,
    TaskOutcome,
    TaskRequest,
)


class Intercepting(Registry, ABC):
    """A registry in front of ``inner``: ``intercept`` answers a task or lets it through."""

    def __init__(self, inner: Registry) -> None:
        super().__init__()
        self.inner = inner

    @abstractmethod
    def intercept(self, request: TaskRequest) -> TaskOutcome | None:
        """The outcome this registry gives ``request`` itself; None to run it for real."""

    def submission(self, request: TaskRequest) -> TaskOutcome | None:
        """The submission (TaskSubmitted) an intercepted ``request`` shows before its
        outcome; None for none (the default)."""
        return None

    def add(self, adapter: Any) -> None:
        """Add an adapter to the wrapped registry."""
        self.inner.add(adapter)

    def prepend(self, adapter: Any) -> None:
        """Add an adapter to the wrapped registry, asked first."""
        self.inner.prepend(adapter)

    def find(self, resource: str) -> Any | None:
        """The wrapped registry's adapter for ``resource``."""
        return self.inner.find(resource)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """The intercepted outcome, else the real task's, run in this thread."""
        outcome = self.intercept(request)
        if outcome is None:
            return self.inner.invoke(request)
        submitted = self.submission(request)
        return outcome if submitted is None else dataclasses.replace(outcome, submitted=submitted)

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Answer an intercepted task at once; start any other through the wrapped registry."""
        outcome = self.intercept(request)
        if outcome is None:
            return self.inner.start(request, done)
        submitted = self.submission(request)
        if submitted is not None:
            done(submitted)
        done(outcome)
        return NOT_CANCELLABLE

    def close(self) -> None:
        """Close the wrapped registry."""
        self.inner.close()
