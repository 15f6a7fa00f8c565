"""The task adapter protocol: how a Task state's Resource gets its work done.

The interpreter only says *what* to run (an ``InvokeTask`` command: resource, payload,
token). A driver finds the adapter for the resource in a ``Registry`` and *starts* the
task there; the adapter reports how it ended by calling the ``Completion`` it was given,
once, from any thread, whenever it is done. The driver turns that report into a stimulus
through the execution's inbox. This is the seam that Lambda runtimes, activities, HTTP
tasks, AWS integrations, mock files and test doubles plug into, the way a transport plugs
into an HTTP client.

Two kinds of adapter fit the seam:

* **asynchronous** ones implement ``start(request, done)``: they hand the work to a
  process, a socket or a timer and return at once with a ``Cancel`` handle, so no thread
  waits on a task in flight (Lambda worker processes, HTTP calls, SQS waits);
* **blocking** ones implement only ``invoke(request) -> TaskOutcome`` (an in-process
  Python callable, a test double); ``Registry.start`` runs them on a bounded pool of
  threads shared by every blocking adapter.

The driver cancels a task it no longer wants (its ``TimeoutSeconds`` passed, the
execution was stopped): ``Cancel.cancel()`` asks the adapter to give up; an outcome that
still arrives afterwards is ignored by the driver.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from stepfn.interp.context import ExecutionInfo

BLOCKING_POOL_SIZE = 32  # threads shared by every blocking adapter


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
    # The role the Task's ``Credentials`` name (None: the execution's role). Adapters
    # that call AWS make the call with that role's credentials (``tasks/credentials.py``).
    role_arn: str | None = None


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a task ended: ``output`` when it succeeded, else ``error`` and ``cause``."""

    succeeded: bool
    output: Any = None
    error: str | None = None
    cause: str | None = None
    # Simulated seconds the task took; a virtual clock advances by it.
    duration: float = 0.0
    # A submission, not an end: the work was handed over (a nested execution started,
    # a message sent for a callback) and the task goes on; ``output`` is what the call
    # returned, recorded as TaskSubmitted. The task's end is reported after it.
    pending: bool = False
    # On an end that ``Registry.invoke`` returns: the submission reported before it, for
    # drivers that see only the end.
    submitted: TaskOutcome | None = None

    @classmethod
    def success(cls, output: Any, duration: float = 0.0) -> TaskOutcome:
        """A successful outcome."""
        return cls(True, output=output, duration=duration)

    @classmethod
    def submission(cls, output: Any) -> TaskOutcome:
        """The task was submitted (``output``: the call's result); its end comes later."""
        return cls(True, output=output, pending=True)

    @classmethod
    def failure(cls, error: str | None, cause: str | None, duration: float = 0.0) -> TaskOutcome:
        """A failed outcome."""
        return cls(False, error=error, cause=cause, duration=duration)


# Called once with the task's outcome, from whatever thread the adapter finishes on;
# an adapter whose task is submitted first (``.sync``, a nested execution) may call it
# once before that with ``TaskOutcome.submission(...)``.
Completion = Callable[[TaskOutcome], None]


class Cancel(Protocol):
    """A handle on a started task."""

    def cancel(self) -> None:
        """Ask the adapter to give the task up (best effort; idempotent)."""
        ...


class _Nothing:
    """The handle of a task that cannot be cancelled (it already ran, or runs inline)."""

    def cancel(self) -> None:
        return None


NOT_CANCELLABLE: Cancel = _Nothing()


class TaskAdapter(Protocol):
    """Runs the tasks of the resources it claims (blocking form)."""

    def handles(self, resource: str) -> bool:
        """Whether this adapter runs ``resource``."""
        ...

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Run one attempt of a task and report how it ended."""
        ...


@runtime_checkable
class AsyncTaskAdapter(Protocol):
    """Runs the tasks of the resources it claims, without holding a thread per task."""

    def handles(self, resource: str) -> bool:
        """Whether this adapter runs ``resource``."""
        ...

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Start one attempt of a task; call ``done`` once when it ends."""
        ...


def is_submitted_pattern(resource: str) -> bool:
    """Whether AWS records a TaskSubmitted for a Task of ``resource``: the ``.sync`` and
    ``.waitForTaskToken`` integration patterns, whose call hands the work over and
    waits for its end (activities and Lambda ARNs have none)."""
    return resource.startswith("arn:") and resource.endswith(
        (".sync", ".sync:2", ".waitForTaskToken")
    )


def no_adapter(resource: str) -> TaskOutcome:
    """The outcome of a resource that nothing routes."""
    return TaskOutcome.failure(
        "States.TaskFailed",
        f"No task adapter handles the resource '{resource}'. "
        "Register a function for it (functions=...) or an adapter.",
    )


class Registry:
    """Adapters in order; the first that handles a resource runs it."""

    def __init__(self, adapters: Iterable[TaskAdapter | AsyncTaskAdapter] = ()) -> None:
        self._adapters: list[Any] = list(adapters)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def add(self, adapter: TaskAdapter | AsyncTaskAdapter) -> None:
        """Add an adapter; it is asked after the ones already there."""
        self._adapters.append(adapter)

    def prepend(self, adapter: TaskAdapter | AsyncTaskAdapter) -> None:
        """Add an adapter that is asked before the ones already there."""
        self._adapters.insert(0, adapter)

    def find(self, resource: str) -> Any | None:
        """The adapter for ``resource``, or None."""
        for adapter in self._adapters:
            if adapter.handles(resource):
                return adapter
        return None

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Run a task to its end in this thread (for TestState and simple drivers); a
        submission reported on the way comes with the end (``TaskOutcome.submitted``)."""
        adapter = self.find(request.resource)
        if adapter is None:
            return no_adapter(request.resource)
        if hasattr(adapter, "invoke"):
            outcome: TaskOutcome = adapter.invoke(request)
            return outcome
        return wait_for_end(adapter.start, request)

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Start a task through its adapter; ``done`` gets its outcome once.

        A resource no adapter claims fails the task at once.
        """
        adapter = self.find(request.resource)
        if adapter is None:
            done(no_adapter(request.resource))
            return NOT_CANCELLABLE
        if hasattr(adapter, "start"):
            handle: Cancel = adapter.start(request, done)
            return handle
        self._blocking_pool().submit(_run_blocking, adapter, request, done)
        return NOT_CANCELLABLE

    def _blocking_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=BLOCKING_POOL_SIZE, thread_name_prefix="stepfn-task"
                )
            return self._pool

    def close(self) -> None:
        """Stop the blocking pool (running tasks finish) and close adapters that can."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for adapter in self._adapters:
            closer = getattr(adapter, "close", None)
            if callable(closer):
                closer()


def wait_for_end(
    start: Callable[[TaskRequest, Completion], Cancel], request: TaskRequest
) -> TaskOutcome:
    """Start a task through ``start`` and block until it ends; its end is returned with
    the submission reported before it, if any."""
    box: list[TaskOutcome] = []
    submitted: list[TaskOutcome] = []
    ended = threading.Event()

    def done(outcome: TaskOutcome) -> None:
        if outcome.pending:
            submitted.append(outcome)
            return
        box.append(outcome)
        ended.set()

    start(request, done)
    ended.wait()
    if submitted and box[0].submitted is None:
        return dataclasses.replace(box[0], submitted=submitted[0])
    return box[0]


def _run_blocking(adapter: TaskAdapter, request: TaskRequest, done: Completion) -> None:
    try:
        outcome = adapter.invoke(request)
    except Exception as exc:  # an adapter's own bug fails the task, not the pool thread
        outcome = TaskOutcome.failure("States.TaskFailed", f"{type(exc).__name__}: {exc}")
    done(outcome)
