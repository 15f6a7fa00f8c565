"""Mocked task answers for executions that run a test case of a mock configuration.

An execution runs a test case when it is started on ``stateMachineArn#TestCase`` (the
Engine) or with ``stepfn.run(..., mock_config=..., test_case=...)``: its ARN is then
*bound* here to the test case's state -> mocked response table. Every task of a bound
execution whose state the test case names gets its mocked response instead of a real
call, whatever its resource: a Lambda function, an optimized or ``aws-sdk:*``
integration, ``.sync``, ``.waitForTaskToken`` (the interpreter made the token already;
the mocked response is the task's answer, as in Step Functions Local) or an activity.
States the test case does not name are called for real (Step Functions Local's "hybrid"
test cases).

The answer goes back through the normal task path (the interpreter records the same
events as for a real call), so JSONPath and JSONata states, Retry and Catch, and the
tasks inside Map and Parallel behave exactly as with real tasks. Invocations count per
state per execution, a retry included.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepfn.definition.varrefs import nested_states
from stepfn.tasks.base import (
    Registry,
    TaskOutcome,
    TaskRequest,
    is_submitted_pattern,
)
from stepfn.tasks.intercept import Intercepting
from stepfn.tasks.mock_config import MockConfig, MockConfigError, MockedResponse

RUNTIME = "States.Runtime"
# A mocked ``.sync`` / ``.waitForTaskToken`` task is submitted (TaskSubmitted, as AWS
# records it) before its mocked answer; the mock file says nothing of the call's own
# result, so the submission shows an empty object.
MOCK_SUBMISSION = TaskOutcome.submission({})
_BINDINGS_KEPT = 100_000  # executions remembered; the oldest are forgotten first


def split_test_case(arn: str) -> tuple[str, str | None]:
    """``(stateMachineArn, TestCase)`` of ``arn#TestCase``; ``(arn, None)`` without ``#``."""
    base, sep, case = arn.partition("#")
    return (base, case) if sep else (arn, None)


@dataclass
class _Binding:
    state_machine: str
    test_case: str
    states: dict[str, MockedResponse]
    counts: dict[str, int] = field(default_factory=dict)


class MockTasks:
    """Which executions run which test case, and the mocked answers of their tasks."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self._bound: OrderedDict[str, _Binding] = OrderedDict()
        self._lock = threading.Lock()

    def bind(
        self,
        execution_arn: str,
        state_machine: str,
        test_case: str,
        definition: Any = None,
    ) -> None:
        """Run ``execution_arn`` as ``test_case`` of ``state_machine``.

        ``definition`` (a dict or JSON text), when given, is checked against the test
        case: every state it mocks must be a Task state of the machine.

        Raises:
            MockConfigError: the state machine, the test case or a mocked state does not
                exist, or a mocked state is not a Task.
        """
        states = self.config.test_case(state_machine, test_case)
        if definition is not None:
            self._check_states(state_machine, test_case, states, definition)
        with self._lock:
            self._bound[execution_arn] = _Binding(state_machine, test_case, states)
            while len(self._bound) > _BINDINGS_KEPT:
                self._bound.popitem(last=False)

    def unbind(self, execution_arn: str) -> None:
        """Forget an execution (it ended)."""
        with self._lock:
            self._bound.pop(execution_arn, None)

    def covers(self, execution_arn: str, state_name: str) -> bool:
        """Whether the state's tasks in that execution are answered here."""
        with self._lock:
            binding = self._bound.get(execution_arn)
            return binding is not None and state_name in binding.states

    def answer(self, request: TaskRequest) -> TaskOutcome | None:
        """The mocked outcome of a task, or None when it is not mocked (a real call)."""
        with self._lock:
            binding = self._bound.get(request.execution.execution_arn)
            if binding is None:
                return None
            response = binding.states.get(request.state_name)
            if response is None:
                return None
            invocation = binding.counts.get(request.state_name, 0)
            binding.counts[request.state_name] = invocation + 1
        step = response.at(invocation)
        if step is None:
            return TaskOutcome.failure(
                RUNTIME,
                f"The mocked response '{response.name}' of test case '{binding.test_case}' "
                f"has no answer for invocation {invocation} of state '{request.state_name}' "
                f"(in {self.config.source}).",
            )
        if step.returns:
            return TaskOutcome.success(step.value)
        return TaskOutcome.failure(step.error, step.cause)

    def wrap(self, registry: Registry) -> MockRegistry:
        """A registry that answers mocked tasks here and passes the others to ``registry``."""
        return MockRegistry(self, registry)

    def _check_states(
        self,
        state_machine: str,
        test_case: str,
        states: dict[str, MockedResponse],
        definition: Any,
    ) -> None:
        raw = json.loads(definition) if isinstance(definition, str) else definition
        # Only the types matter here, not the query language each state is in.
        nested = nested_states(raw, "JSONPath") if isinstance(raw, Mapping) else ()
        types = {name: str(state.get("Type")) for name, (state, _) in nested}
        problems = []
        where = f"/StateMachines/{state_machine}/TestCases/{test_case}"
        for state in states:
            kind = types.get(state)
            if kind is None:
                problems.append(f"{where}/{state}: the state machine has no state '{state}'")
            elif kind != "Task":
                problems.append(f"{where}/{state}: only Task states are mocked; this is a {kind}")
        if problems:
            raise MockConfigError(self.config.source, problems)


class MockRegistry(Intercepting):
    """The task registry of a driver with a mock configuration: mocked tasks are answered
    at once; every other task goes to the registry it wraps."""

    def __init__(self, mocks: MockTasks, inner: Registry) -> None:
        super().__init__(inner)
        self.mocks = mocks

    def intercept(self, request: TaskRequest) -> TaskOutcome | None:
        """The mocked outcome of ``request``; None for a task that is not mocked."""
        return self.mocks.answer(request)

    def submission(self, request: TaskRequest) -> TaskOutcome | None:
        """``MOCK_SUBMISSION`` for a mocked ``.sync`` / ``.waitForTaskToken`` task."""
        return MOCK_SUBMISSION if is_submitted_pattern(request.resource) else None


def mock_tasks_for_run(
    mock_config: MockConfig | str | Any, test_case: str | None
) -> tuple[MockTasks, str, str]:
    """What ``stepfn.run(..., mock_config=, test_case=)`` runs: the mocks, the state
    machine's name (the execution is named after it) and the test case.

    ``mock_config`` is a ``MockConfig``, a file path, or None for ``SFN_MOCK_CONFIG``;
    ``test_case`` is ``"StateMachine#TestCase"`` or a test case name that one state
    machine of the file has.

    Raises:
        MockConfigError: no configuration, or no such test case.
    """
    from stepfn.tasks.mock_config import load_mock_config, mock_config_from_env

    if isinstance(mock_config, MockConfig):
        config = mock_config
    elif mock_config is None:
        found = mock_config_from_env()
        if found is None:
            raise MockConfigError("<none>", ["test_case needs mock_config or $SFN_MOCK_CONFIG"])
        config = found
    else:
        config = load_mock_config(mock_config)
    if not test_case:
        raise MockConfigError(config.source, ["mock_config needs a test_case to run"])
    machine, sep, case = test_case.rpartition("#")
    if not sep:
        machine = config.find_test_case(case)
    return MockTasks(config), machine, case
