"""Step Functions Local's mock configuration file (``MockConfigFile.json``), unchanged.

The file names, per state machine, test cases (state name -> mocked response name), and
the mocked responses themselves, keyed by invocation number::

    {"StateMachines": {"LambdaSQSIntegration": {"TestCases": {
         "HappyPath": {"LambdaState": "MockedLambdaSuccess"}}}},
     "MockedResponses": {"MockedLambdaSuccess": {
         "0": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Timed out."}},
         "1-2": {"Return": {"StatusCode": 200, "Payload": {"ok": true}}}}}}

An execution started on ``stateMachineArn#HappyPath`` runs that test case. Invocations
count per state per execution from 0, as Step Functions Local counts them: the Nth time
a state's task is invoked in that execution (a retry is an invocation) gets the response
whose key is N or whose inclusive range ``"A-B"`` holds N.

The whole file is checked when it is loaded and every problem is reported at once, each
with the file and the JSON path it is at, so a typo never turns into a silent real call.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Step Functions Local's variable first; LocalStack reads the same file under its own name.
ENV_VARS = ("SFN_MOCK_CONFIG", "LOCALSTACK_SFN_MOCK_CONFIG")

_KEY = re.compile(r"^(\d+)(?:-(\d+))?$")
_TOP = ("StateMachines", "MockedResponses")


class MockConfigError(ValueError):
    """A mock configuration that cannot be used: every problem, each with where it is."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"invalid mock configuration {source}:\n{lines}")


@dataclass(frozen=True, slots=True)
class MockedStep:
    """One entry of a mocked response: a ``Return`` value or a ``Throw`` error."""

    first: int
    last: int
    returns: bool
    value: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class MockedResponse:
    """A named mocked response: its entries by invocation number."""

    name: str
    steps: tuple[MockedStep, ...]

    def at(self, invocation: int) -> MockedStep | None:
        """The entry for the ``invocation``-th call (0-based), or None when there is none."""
        for step in self.steps:
            if step.first <= invocation <= step.last:
                return step
        return None


@dataclass(frozen=True)
class MockConfig:
    """A loaded, checked mock configuration."""

    source: str
    # state machine name -> test case name -> state name -> response name
    test_cases: Mapping[str, Mapping[str, Mapping[str, str]]]
    responses: Mapping[str, MockedResponse]
    raw: Any = field(default=None, repr=False, compare=False)

    def test_case(self, state_machine: str, name: str) -> dict[str, MockedResponse]:
        """State name -> mocked response of one test case.

        Raises:
            MockConfigError: the state machine or the test case is not in the file.
        """
        cases = self.test_cases.get(state_machine)
        if cases is None:
            known = ", ".join(sorted(self.test_cases)) or "none"
            raise MockConfigError(
                self.source,
                [f"/StateMachines: no state machine '{state_machine}' (it has: {known})"],
            )
        case = cases.get(name)
        if case is None:
            known = ", ".join(sorted(cases)) or "none"
            raise MockConfigError(
                self.source,
                [
                    f"/StateMachines/{state_machine}/TestCases: no test case '{name}' "
                    f"(it has: {known})"
                ],
            )
        return {state: self.responses[response] for state, response in case.items()}

    def find_test_case(self, name: str) -> str:
        """The one state machine that has a test case ``name`` (for callers that name
        only the test case).

        Raises:
            MockConfigError: no state machine, or more than one, has it.
        """
        owners = [sm for sm, cases in self.test_cases.items() if name in cases]
        if len(owners) != 1:
            what = "no state machine has" if not owners else "several state machines have"
            raise MockConfigError(
                self.source,
                [f"/StateMachines: {what} a test case '{name}'; name it 'StateMachine#{name}'"],
            )
        return owners[0]


def load_mock_config(path: str | os.PathLike[str]) -> MockConfig:
    """Read and check a mock configuration file.

    Raises:
        MockConfigError: the file cannot be read, is not JSON, or is not a valid mock
            configuration (every problem listed with its JSON path).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MockConfigError(source, [f"cannot be read: {exc.strerror or exc}"]) from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise MockConfigError(source, [f"is not JSON: {exc}"]) from None
    return parse_mock_config(raw, source)


def mock_config_from_env(environ: Mapping[str, str] | None = None) -> MockConfig | None:
    """The configuration that ``SFN_MOCK_CONFIG`` (or ``LOCALSTACK_SFN_MOCK_CONFIG``)
    names, or None when neither is set."""
    env = os.environ if environ is None else environ
    for var in ENV_VARS:
        value = env.get(var)
        if value:
            return load_mock_config(value)
    return None


def parse_mock_config(raw: Any, source: str = "<mock config>") -> MockConfig:
    """Check a mock configuration given as parsed JSON.

    Raises:
        MockConfigError: with every problem found.
    """
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise MockConfigError(source, [f"/: must be a JSON object, not {_kind(raw)}"])
    for key in raw:
        if key not in _TOP:
            problems.append(f"/{key}: unknown field (expected StateMachines, MockedResponses)")
    responses = _responses(raw.get("MockedResponses", {}), problems)
    cases = _state_machines(raw.get("StateMachines", {}), responses, problems)
    if problems:
        raise MockConfigError(source, problems)
    return MockConfig(source, cases, responses, raw)


def _state_machines(
    raw: Any, responses: Mapping[str, MockedResponse], problems: list[str]
) -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {}
    if not isinstance(raw, dict):
        problems.append(f"/StateMachines: must be an object, not {_kind(raw)}")
        return out
    for sm_name, machine in raw.items():
        where = f"/StateMachines/{sm_name}"
        if not isinstance(machine, dict):
            problems.append(f"{where}: must be an object, not {_kind(machine)}")
            continue
        for key in machine:
            if key != "TestCases":
                problems.append(f"{where}/{key}: unknown field (expected TestCases)")
        cases = machine.get("TestCases")
        if not isinstance(cases, dict):
            problems.append(f"{where}/TestCases: must be an object, not {_kind(cases)}")
            continue
        out[sm_name] = {}
        for case_name, states in cases.items():
            case_where = f"{where}/TestCases/{case_name}"
            if not isinstance(states, dict):
                problems.append(f"{case_where}: must be an object, not {_kind(states)}")
                continue
            case: dict[str, str] = {}
            for state, response in states.items():
                if not isinstance(response, str):
                    problems.append(
                        f"{case_where}/{state}: must name a mocked response, not {_kind(response)}"
                    )
                elif response not in responses:
                    problems.append(
                        f"{case_where}/{state}: no mocked response '{response}' in MockedResponses"
                    )
                else:
                    case[state] = response
            out[sm_name][case_name] = case
    return out


def _responses(raw: Any, problems: list[str]) -> dict[str, MockedResponse]:
    out: dict[str, MockedResponse] = {}
    if not isinstance(raw, dict):
        problems.append(f"/MockedResponses: must be an object, not {_kind(raw)}")
        return out
    for name, entries in raw.items():
        where = f"/MockedResponses/{name}"
        if not isinstance(entries, dict) or not entries:
            problems.append(f"{where}: must be a non-empty object of invocation numbers")
            continue
        steps = [
            s for s in (_step(k, v, f"{where}/{k}", problems) for k, v in entries.items()) if s
        ]
        steps.sort(key=lambda s: s.first)
        for before, after in _pairs(steps):
            if after.first <= before.last:
                problems.append(f"{where}: invocations {_span(before)} and {_span(after)} overlap")
        out[name] = MockedResponse(name, tuple(steps))
    return out


def _step(key: str, value: Any, where: str, problems: list[str]) -> MockedStep | None:
    match = _KEY.match(key)
    if match is None:
        problems.append(f"{where}: the key must be an invocation number or a range 'A-B'")
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        problems.append(f"{where}: the range ends before it starts")
        return None
    if not isinstance(value, dict):
        problems.append(f"{where}: must be an object with Return or Throw, not {_kind(value)}")
        return None
    kinds = [k for k in ("Return", "Throw") if k in value]
    for other in value:
        if other not in ("Return", "Throw"):
            problems.append(f"{where}/{other}: unknown field (expected Return or Throw)")
    if len(kinds) != 1:
        problems.append(f"{where}: must have exactly one of Return and Throw")
        return None
    if kinds[0] == "Return":
        return MockedStep(first, last, True, value=value["Return"])
    throw = value["Throw"]
    if not isinstance(throw, dict):
        problems.append(f"{where}/Throw: must be an object with Error and Cause")
        return None
    ok = True
    for member in throw:
        if member not in ("Error", "Cause"):
            problems.append(f"{where}/Throw/{member}: unknown field (expected Error, Cause)")
            ok = False
    if not isinstance(throw.get("Error"), str):
        problems.append(f"{where}/Throw/Error: must be a string")
        ok = False
    if "Cause" in throw and not isinstance(throw["Cause"], str):
        problems.append(f"{where}/Throw/Cause: must be a string")
        ok = False
    if not ok:
        return None
    return MockedStep(first, last, False, error=throw["Error"], cause=throw.get("Cause"))


def _pairs(steps: list[MockedStep]) -> Iterator[tuple[MockedStep, MockedStep]]:
    return itertools.pairwise(steps)


def _span(step: MockedStep) -> str:
    return str(step.first) if step.first == step.last else f"{step.first}-{step.last}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        str: "a string",
        int: "a number",
        float: "a number",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
