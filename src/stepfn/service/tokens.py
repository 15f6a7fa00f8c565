"""Task tokens: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat, GetActivityTask.

A task that waits for a token (``.waitForTaskToken``, or an activity) is answered from
outside: the answer goes to the execution's inbox and wakes it, and the worker applies
it at its next step. GetActivityTask long-polls, as AWS's does, for up to 60 seconds,
and answers at once when the server stops (``stop_polling``).

Each answer is one transaction: the task marked done with its result queued
(``Store.complete_task``), a task handed out with its ``TaskStarted`` queued
(``Store.claim_activity_task``). A crash between two writes can neither lose an answer
(marked done, never delivered) nor deliver one twice; a second answer to a task is
refused as AWS refuses it, even when two servers take the two at once.

A long poll waits on ``activity_signal``, which this server's steps notify and, on a
shared store, the notes of other servers' steps (``durable.loop``); it looks again every
``ACTIVITY_RECHECK_SECONDS`` without one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from stepfn.arns import ACTIVITY, parse_arn
from stepfn.errors import ServiceError
from stepfn.lang.nesting import depth_problem, text_too_deep
from stepfn.service.context import ServiceContext
from stepfn.service.execution_checks import (
    finite_float,
    refuse_constant,
)

ACTIVITY_POLL_SECONDS = 60  # how long GetActivityTask waits for a task, as AWS's does
ACTIVITY_RECHECK_SECONDS = 1.0  # a waiting poll's look with no signal (one may be lost)


class TaskTokens:
    """Operations that answer tasks by token, and the activity workers' long poll."""

    def __init__(
        self,
        ctx: ServiceContext,
        wake: Callable[[str], None],
        activity_signal: threading.Condition,
    ) -> None:
        self.store = ctx.store
        self.clock = ctx.clock
        self.wake = wake
        self._activity_signal = activity_signal
        self._polls_stopped = False

    def _task(self, token: str) -> Any:
        task = self.store.get_task(token)
        if task is None:
            raise ServiceError("TaskDoesNotExist", f"Task Does Not Exist: '{token}'")
        if task.status == "done":
            raise _timed_out(token)
        record = self.store.get_execution(task.execution_arn)
        if record is None or record.status != "RUNNING":
            raise _timed_out(token)
        return task

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        """SendTaskSuccess: complete a callback or activity task."""
        task = self._task(taskToken)
        if text_too_deep(output):
            raise ServiceError("InvalidOutput", f"Invalid Output: '{depth_problem()}'")
        try:
            value = json.loads(output, parse_constant=refuse_constant, parse_float=finite_float)
        except (ValueError, RecursionError):
            raise ServiceError("InvalidOutput", f"Invalid Output: '{output}'") from None
        self._answer(task, {"type": "TaskSucceeded", "token": taskToken, "output": value})
        return {}

    def send_task_failure(
        self, taskToken: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """SendTaskFailure: fail a callback or activity task."""
        task = self._task(taskToken)
        self._answer(
            task, {"type": "TaskFailed", "token": taskToken, "error": error, "cause": cause}
        )
        return {}

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        """SendTaskHeartbeat: the task is alive; its heartbeat timer starts again."""
        task = self._task(taskToken)
        self.store.add_inbox(
            task.execution_arn, {"type": "TaskHeartbeat", "token": taskToken}, self.clock.now()
        )
        self.wake(task.execution_arn)
        return {}

    def _answer(self, task: Any, stimulus: dict[str, Any]) -> None:
        # The mark and the result in one transaction; None: another answer (on this
        # server or another, or the task's timeout) came first since _task looked.
        if self.store.complete_task(task.token, stimulus, self.clock.now()) is None:
            raise _timed_out(task.token)
        self.wake(task.execution_arn)

    def get_activity_task(self, activityArn: str, workerName: str | None = None) -> dict[str, Any]:
        """GetActivityTask: hand out the oldest waiting task, long-polling up to 60 s
        (less when the server stops: see ``stop_polling``)."""
        self._check_activity(activityArn, workerName)
        deadline = self.clock.now() + ACTIVITY_POLL_SECONDS
        with self._activity_signal:
            while True:
                task = self._claim_activity(activityArn, workerName)
                if task is not None:
                    return task
                remaining = deadline - self.clock.now()
                if remaining <= 0 or self.clock.virtual or self._polls_stopped:
                    return {}
                self._activity_signal.wait(min(remaining, ACTIVITY_RECHECK_SECONDS))

    def claim_activity_task(
        self, activityArn: str, workerName: str | None = None
    ) -> dict[str, Any] | None:
        """GetActivityTask without the wait: the oldest waiting task, or None. For a
        server that waits asynchronously between attempts (``api/asgi.py``)."""
        self._check_activity(activityArn, workerName)
        return self._claim_activity(activityArn, workerName)

    def wait_activity_signal(self, timeout: float) -> bool:
        """Block until tasks may have been scheduled (True) or ``timeout`` passed: lets
        one thread wake many asynchronous long polls."""
        with self._activity_signal:
            return self._activity_signal.wait(timeout)

    def _check_activity(self, activityArn: str, workerName: str | None) -> None:
        parse_arn(activityArn, (ACTIVITY,))
        if self.store.get_activity(activityArn) is None:
            raise ServiceError("ActivityDoesNotExist", f"Activity Does Not Exist: '{activityArn}'")

    def _claim_activity(self, activityArn: str, workerName: str | None) -> dict[str, Any] | None:
        # With its TaskStarted (ActivityStarted, with the worker's name; its heartbeat
        # timer starts again), in the claim's transaction.
        task = self.store.claim_activity_task(activityArn, workerName, self.clock.now())
        if task is None:
            return None
        self.wake(task.execution_arn)
        return {"taskToken": task.token, "input": task.payload}

    def stop_polling(self) -> None:
        """End the long polls in progress (GetActivityTask answers "no task" at once):
        a server that stops lets its requests finish without waiting a minute."""
        self._polls_stopped = True
        with self._activity_signal:
            self._activity_signal.notify_all()


def _timed_out(token: str) -> ServiceError:
    """AWS's answer to a token whose task is over (answered, timed out, or its
    execution ended)."""
    return ServiceError("TaskTimedOut", f"Task Timed Out: '{token}'")
