"""Errors of the States language and of stepfn itself.

Two families live here:

* ``DefinitionError``: a state machine definition that cannot run. It carries every
  problem found, each located by a JSON-pointer-like path (``/States/Charge/Retry/0``),
  as AWS's ValidateStateMachineDefinition reports them.
* ``ExecutionError`` and ``StateError``: failures raised while an execution runs. They
  carry AWS's error name (``States.Runtime``, ``States.TaskFailed``, ...) and cause text.
"""

from __future__ import annotations

from dataclasses import dataclass

# The error names that the States language predefines. Keeping them as constants avoids
# typos in the many places that raise or match them.
ALL = "States.ALL"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
TIMEOUT = "States.Timeout"
TASK_FAILED = "States.TaskFailed"
PERMISSIONS = "States.Permissions"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, at ``path`` (``/States/X/Next``)."""

    path: str
    message: str
    code: str = "SCHEMA_VALIDATION_FAILED"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(ValueError):
    """A definition that does not validate; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line."""
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems in the definition:"]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)


class ExecutionError(Exception):
    """A failure with AWS's error name and cause, as a state or an execution reports it."""

    def __init__(self, error: str | None, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else str(error))


class StateError(ExecutionError):
    """A failure detected while running a state, whose cause AWS prefixes with the state.

    The interpreter turns ``detail`` into AWS's full cause text:
    ``An error occurred while executing the state 'X' (entered at the event id #N). <detail>``.
    Modules that know nothing about the running state (paths, intrinsics, JSONata) raise
    this and let the interpreter add the prefix.
    """

    def __init__(self, error: str, detail: str) -> None:
        self.detail = detail
        super().__init__(error, detail)


class ServiceError(Exception):
    """An error of the Step Functions API, with AWS's error code and message.

    The engine raises it; the HTTP API answers with ``code`` as ``__type`` and the
    message as AWS words it (``State Machine Does Not Exist: 'arn:...'``).
    """

    status = 400

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}")
