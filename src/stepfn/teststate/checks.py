"""What TestState refuses, and how it finds the state to test.

AWS checks a TestState request in the same two passes as the other operations (see
``stepfn.validation``): the service model's constraints first, as one
``ValidationException`` (the Engine's validator, before ``test_state`` runs), then
TestState's own rules, each with the text AWS answers
with. Texts in quotes below are AWS's, as recorded; the few that no recording shows are
marked "ours" where they are raised.

The definition is either one state (tested under the name ``StateName``, the name AWS
gives it: its errors read ``/States/StateName/Branches``) or, with ``stateName``, a whole
state machine in which the state is looked up, inside Parallel branches and Map item
processors too.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from stepfn.definition.model import (
    Machine,
    MapState,
    ParallelState,
    State,
    TaskState,
    build,
)
from stepfn.definition.parse import parse_definition
from stepfn.definition.validate import is_error, validate
from stepfn.definition.validate_context import MISSING_END, MISSING_TARGET
from stepfn.errors import DefinitionError, Problem, ServiceError
from stepfn.lang.jsonpath import compile_path
from stepfn.service.executions import parse_input
from stepfn.validation.rules import (
    invalid_definition,
)

# The name AWS tests a lone state under.
SINGLE_STATE_NAME = "StateName"
# The variable a Map with an ItemReader reads ``mapItemReaderData`` from (see reader_items).
READER_VARIABLE = "stepfnItemReaderData"

NO_MAP_OR_PARALLEL = (
    "TestState API does not support Map or Parallel states. Supported state types include: "
    "[Task, Wait, Pass, Succeed, Fail, Choice]"
)
_CONTEXT_FIELDS: dict[str, dict[str, str]] = {
    "Execution": {
        "Id": "string",
        "Input": "any",
        "Name": "string",
        "RoleArn": "string",
        "StartTime": "string",
        "RedriveCount": "integer",
        "RedriveTime": "string",
    },
    "State": {"EnteredTime": "string", "Name": "string", "RetryCount": "integer"},
    "StateMachine": {"Id": "string", "Name": "string"},
    "Task": {"Token": "string"},
}
# ``.sync``, ``.sync:2``, ``.waitForTaskToken`` at the end of a service integration's ARN.
_CALLBACK_PATTERN = re.compile(r"\.(sync|waitForTaskToken)(:\d+)?$")
# Where a transition of a lone state points out of it: AWS does not check those targets.
_OUTWARD = re.compile(
    rf"^/States/{SINGLE_STATE_NAME}/(Next|Default|Choices\[\d+\]/Next|Catch\[\d+\]/Next)$"
)


def invalid(message: str) -> ServiceError:
    """A ``ValidationException`` with ``message``."""
    return ServiceError("ValidationException", message)


@dataclass
class TestRequest:
    """A TestState request, checked and parsed."""

    __test__ = False  # not a pytest test class, whatever its name

    input: Any
    level: str = "INFO"
    role_arn: str | None = None
    reveal_secrets: bool = False
    variables: dict[str, Any] = field(default_factory=dict)
    mocked: bool = False
    mock_result: Any = None
    has_mock_result: bool = False
    mock_error: str | None = None
    mock_cause: str | None = None
    validation_mode: str = "STRICT"
    context: dict[str, Any] | None = None
    retry_count: int = 0
    error_caused_by: str | None = None
    failure_count: int | None = None
    reader_data: str | None = None


@dataclass(frozen=True)
class Target:
    """The state under test and the machine (or branch, or item processor) holding it,
    started at that state."""

    machine: Machine
    state: State


# --- the request ---------------------------------------------------------------------------


def read_request(
    *,
    definition: Any,
    role_arn: Any,
    input: Any,
    level: Any,
    reveal_secrets: Any,
    variables: Any,
    state_name: Any,
    mock: Any,
    context: Any,
    configuration: Any,
) -> TestRequest:
    """TestState's request-wide rules, on members the service model has checked."""
    # The members' model constraints were checked by the one validator
    # (``stepfn.validation.requests``) before the call: the rules here are TestState's.
    config = configuration or {}
    error_output = (mock or {}).get("errorOutput")

    request = TestRequest(
        input=parse_input(input if input is not None else "{}"),
        level=level or "INFO",
        role_arn=role_arn,
        reveal_secrets=bool(reveal_secrets),
        variables=_variables(variables),
        retry_count=config.get("retrierRetryCount") or 0,
        error_caused_by=config.get("errorCausedByState"),
        failure_count=config.get("mapIterationFailureCount"),
        reader_data=config.get("mapItemReaderData"),
    )
    if mock is not None:
        _read_mock(request, mock, error_output)
    if request.failure_count is not None and not request.mocked:
        raise invalid(
            "TestState does not support MapIterationFailureCount when a mock is not specified."
        )
    if context is not None:
        if not request.mocked:
            # ours: the API reference says a context needs a mock; no answer is recorded.
            raise invalid(
                "TestState does not support a Context object when a mock is not specified."
            )
        request.context = _context_object(context)
    return request


def _read_mock(request: TestRequest, mock: dict[str, Any], error_output: Any) -> None:
    has_result = mock.get("result") is not None
    if has_result and error_output is not None:
        raise invalid(
            "A test mock should have only one of the following fields: [result, errorOutput]."
        )
    if not has_result and error_output is None:
        # ours: AWS's text for a mock with neither is not recorded.
        raise invalid("A test mock should have one of the following fields: [result, errorOutput].")
    if request.reveal_secrets:
        raise invalid("TestState does not support RevealSecrets when a mock is specified.")
    request.mocked = True
    request.validation_mode = mock.get("fieldValidationMode") or "STRICT"
    if has_result:
        try:
            request.mock_result = json.loads(mock["result"])
        except json.JSONDecodeError:
            raise invalid("Mocked result must be valid JSON") from None
        request.has_mock_result = True
        return
    error = error_output.get("error")
    if error is None:
        # ours: the API reference makes the error required when errorOutput is given.
        raise invalid("A mocked errorOutput must contain an error.")
    request.mock_error = error
    request.mock_cause = error_output.get("cause")


def _variables(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        # ours: AWS's text for variables that are not a JSON object is not recorded.
        raise invalid("Invalid variables: the variables must be a JSON object.")
    return value


def _context_object(text: str) -> dict[str, Any]:
    """The context object a caller hands in: AWS allows only the fields states can read
    from it, each of its type, and no ``Map`` (TestState does not test an iteration)."""
    prefix = "Invalid Context object provided: "
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise invalid(prefix + "Context object must be a JSON object")  # ours
    for section, content in value.items():
        if section == "Map":
            raise invalid(prefix + "'Map' field is not supported when mocking a Context object")
        allowed = _CONTEXT_FIELDS.get(section)
        if allowed is None:
            raise invalid(prefix + f"Field '{section}' is not allowed")
        if not isinstance(content, dict):
            raise invalid(prefix + f"{section} must be an object")  # ours
        for name, item in content.items():
            kind = allowed.get(name)
            if kind is None:
                raise invalid(prefix + f"Field '{name}' is not allowed")
            if kind == "string" and not isinstance(item, str):
                raise invalid(prefix + f"{section}.{name} must be a string")
            if kind == "integer" and (isinstance(item, bool) or not isinstance(item, int)):
                raise invalid(prefix + f"{section}.{name} must be an integer")  # ours
    return value


# --- the definition ------------------------------------------------------------------------


def resolve(definition: str, state_name: str | None) -> Target:
    """The state to test: the lone state of ``definition``, or the one named ``state_name``
    in the state machine ``definition``.

    Raises:
        ServiceError: ``InvalidDefinition`` with every error of the definition (a lone
            state's transitions out of it are not checked, as on AWS), or AWS's
            ``State not found in definition``.
    """
    try:
        parsed = parse_definition(definition, allow_yaml=False)
    except DefinitionError as exc:
        raise invalid_definition(exc.problems) from None
    if state_name is None:
        document: dict[str, Any] = {
            "StartAt": SINGLE_STATE_NAME,
            "States": {SINGLE_STATE_NAME: parsed},
        }
        problems = [p for p in validate(document) if is_error(p) and not _outward(p)]
    else:
        document = parsed
        problems = [p for p in validate(document) if is_error(p)]
    if problems:
        raise invalid_definition(problems)
    name = state_name if state_name is not None else SINGLE_STATE_NAME
    for machine in _machines(build(document)):
        state = machine.states.get(name)
        if state is not None:
            return Target(replace(machine, start_at=name, timeout_seconds=None), state)
    raise invalid("State not found in definition")


def _outward(problem: Problem) -> bool:
    """Whether a problem only says that a lone state leads to states it is tested without."""
    if problem.code == MISSING_TARGET:
        return bool(_OUTWARD.match(problem.path))
    return problem.code == MISSING_END and problem.path == ""


def _machines(machine: Machine) -> Iterator[Machine]:
    """A machine, then its branches and item processors, depth first."""
    yield machine
    for state in machine.states.values():
        if isinstance(state, ParallelState):
            for branch in state.branches:
                yield from _machines(branch)
        elif isinstance(state, MapState) and state.processor is not None:
            yield from _machines(state.processor)


# --- the request against the state ---------------------------------------------------------


def check_against_state(request: TestRequest, state: State) -> None:
    """TestState's rules that depend on the state under test."""
    fanning = isinstance(state, MapState | ParallelState)
    if request.mocked and not isinstance(state, TaskState) and not fanning:
        raise invalid(f"State type '{state.type}' is not supported when a mock is specified")
    if fanning and not request.mocked:
        raise ServiceError("InvalidDefinition", NO_MAP_OR_PARALLEL)
    if isinstance(state, TaskState) and not request.mocked:
        if request.role_arn is None:
            raise invalid("RoleArn must be specified when testing a Task state")
        if waits_for_callback(state.resource):
            # ours: AWS documents these as testable only with a mock; its text is not recorded.
            raise invalid(
                "TestState supports Activity tasks and the .sync and .waitForTaskToken "
                "integration patterns only when a mock is specified."
            )
    if request.failure_count is not None and not isinstance(state, MapState):
        raise invalid("TestState supports MapIterationFailureCount only for a Map state.")  # ours
    if request.has_mock_result:
        _check_fan_result(request, state)
    if request.error_caused_by is not None:
        _check_error_origin(request, state)
    if isinstance(state, MapState) and state.item_reader is not None and not request.reader_data:
        # ours: AWS reads the reader's source; stepfn reads no S3, so the test hands it in.
        raise invalid("TestState needs MapItemReaderData to test a Map state with an ItemReader.")
    if request.reader_data is not None and not (
        isinstance(state, MapState) and state.item_reader is not None
    ):
        # ours: no recorded answer shows this case.
        raise invalid(
            "TestState supports MapItemReaderData only for a Map state with an ItemReader."
        )
    waits = isinstance(state, TaskState) and _integration_pattern(state.resource)
    if request.context is not None and "Task" in request.context and not waits:
        raise invalid(
            "Invalid Context object provided: Context object contains 'Task' when state is "
            "not a Task state with a '.sync' or '.waitForTaskToken' service integration "
            "pattern"
        )


def waits_for_callback(resource: str) -> bool:
    """Activities and the ``.sync`` / ``.waitForTaskToken`` patterns: tasks that finish
    only when something else answers."""
    return ":activity:" in resource or _integration_pattern(resource)


def _integration_pattern(resource: str) -> bool:
    return _CALLBACK_PATTERN.search(resource) is not None


def _check_fan_result(request: TestRequest, state: State) -> None:
    result = request.mock_result
    if isinstance(state, MapState):
        if state.result_writer is not None:
            if not isinstance(result, dict):
                raise invalid("Mocked result must be a JSON object.")
            return
        if not isinstance(result, list):
            raise invalid("Mocked result must be an array.")
        if request.failure_count is not None and request.failure_count > len(result):
            raise invalid(
                "Map iteration failure count must be less than or equal to the number of "
                "Map iterations"
            )
    elif isinstance(state, ParallelState):
        if not isinstance(result, list):
            raise invalid("Mocked result must be an array.")
        if len(result) != len(state.branches):
            raise invalid(
                "Mocked result must contain the same number of items as number of Parallel "
                "branches."
            )


def _check_error_origin(request: TestRequest, state: State) -> None:
    # ours, all three: no recorded answer shows a misplaced errorCausedByState.
    if not isinstance(state, MapState | ParallelState):
        raise invalid("TestState supports ErrorCausedByState only for a Map or Parallel state.")
    if request.mock_error is None:
        raise invalid("TestState supports ErrorCausedByState only with a mocked errorOutput.")
    inner = [state.processor] if isinstance(state, MapState) else list(state.branches)
    names = {name for top in inner if top is not None for m in _machines(top) for name in m.states}
    if request.error_caused_by not in names:
        raise invalid(
            f"ErrorCausedByState '{request.error_caused_by}' is not a state of the tested "
            f"{state.type} state."
        )


# --- Map item readers -----------------------------------------------------------------------


def with_reader_items(target: Target) -> Target:
    """The target with its Map reading its items from ``READER_VARIABLE``, where the test
    puts ``mapItemReaderData`` (AWS reads the reader's source; a test hands it in)."""
    state = target.state
    assert isinstance(state, MapState)
    if state.jsonata:
        reading = replace(
            state, items="{% $" + READER_VARIABLE + " %}", has_items=True, item_reader=None
        )
    else:
        reading = replace(state, items_path=compile_path("$" + READER_VARIABLE), item_reader=None)
    states = dict(target.machine.states)
    states[state.name] = reading
    return Target(replace(target.machine, states=states), reading)


def reader_items(state: MapState, data: str) -> list[Any]:
    """The items an ItemReader makes of its source's content, as its ReaderConfig says:
    a JSON array, JSON lines, or CSV with a header row (or given ``CSVHeaders``)."""
    config: Mapping[str, Any] = (state.item_reader or {}).get("ReaderConfig") or {}
    kind = str(config.get("InputType", "JSON")).upper()
    items: Any = None
    try:
        if kind == "JSONL":
            items = [json.loads(line) for line in data.splitlines() if line.strip()]
        elif kind == "CSV":
            items = _csv_items(config, data)
        else:
            items = json.loads(data)
    except (json.JSONDecodeError, csv.Error):
        pass
    if not isinstance(items, list):
        # ours: no recorded answer shows reader data that does not parse.
        raise invalid(f"MapItemReaderData could not be read as {kind} items.")
    limit = config.get("MaxItems")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        items = items[:limit]
    return items


def _csv_items(config: Mapping[str, Any], data: str) -> list[Any]:
    delimiters = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
    delimiter = delimiters.get(str(config.get("CSVDelimiter", "COMMA")), ",")
    rows = list(csv.reader(io.StringIO(data), delimiter=delimiter))
    if config.get("CSVHeaderLocation") == "GIVEN":
        headers = [str(h) for h in config.get("CSVHeaders") or []]
    elif rows:
        headers, rows = rows[0], rows[1:]
    else:
        headers = []
    return [dict(zip(headers, row, strict=False)) for row in rows]
