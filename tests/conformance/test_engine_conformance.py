"""The conformance cases through the durable Engine, and through the HTTP API with a
boto3 client, give what ``stepfn.run`` gives.

``test_conformance.py`` checks ``stepfn.run`` against AWS's recordings. This module runs
every runnable case a second time, through the API surface of an ``Engine`` on the
in-memory store (CreateStateMachine, StartExecution, the engine's loop, DescribeExecution,
GetExecutionHistory), and asserts the two runs agree: status, output, error, cause and
the whole history (every event with its ids, timestamps and details). The durable path
adds a store, a worker, inboxes and timers between the steps of the same interpreter;
none of that may change a result.

What may differ between two runs is only what is drawn at random: task tokens, Lambda
request ids and ``States.UUID`` values. Those are renamed by order of first appearance
(``<id:1>``, ``<id:2>``, ...) in both runs before comparing, so a token used twice must
still be the same token twice. The state machine is named ``stepfn`` with the role that
``stepfn.run`` assumes, so ARNs and the context object agree without normalising.

Express cases go through StartSyncExecution, which returns status, output, error and
cause; an Express execution keeps no history (as on AWS), so there is none to compare.

``test_http_agrees_with_run`` sends the same calls over real HTTP: one ``stepfn``
server for the module (the API and its HTTP transport, as ``stepfn server`` runs them)
and one boto3 client, the server answering each case with that case's engine. The
engine runs in virtual time, which the test moves on (``run_until_idle``) between
StartExecution and DescribeExecution: there is no API call for that, and a real clock
would make the cases' Waits take real time.

Cases listed in ``ENGINE_DIFFERENCES`` are known to differ and xfail with the reason;
one of them that agrees fails the run, so the list stays true. ``DRAWN_AT_RANDOM`` cases
produce a random value that two runs cannot share: the engine's run is checked against
AWS's recording instead, as ``test_conformance.py`` checks ``stepfn.run``. No runnable case
is refused by the API (CreateStateMachine validates as ``stepfn.run`` does);
``API_REFUSED`` would list any that were, and a refusal not listed there fails.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import stepfn
from stepfn.api.app import Api
from stepfn.api.server import Server
from stepfn.clock import VirtualClock
from stepfn.errors import ServiceError
from stepfn.service.engine import Engine

from .cases import Case, _time_limit, cases_dir, execution_name, load_cases, missing_message
from .compare import actual_key, compare_case, compare_history
from .lambdas import functions_for
from .mocks import TARGET, mock_config_for

# The names stepfn.run gives an execution's state machine and role (interp.context).
STATE_MACHINE_NAME = "stepfn"
ROLE = "arn:aws:iam::123456789012:role/stepfn-execution-role"
MAX_HISTORY = 1000  # GetExecutionHistory's largest page; no runnable case has more events
CASE_SECONDS = 30.0  # real time; every case takes milliseconds, more means a loop

# Cases where the Engine knowingly differs from stepfn.run: case id -> why.
ENGINE_DIFFERENCES: dict[str, str] = {}

# Cases whose result holds a value drawn at random (not a uuid): case id -> why.
DRAWN_AT_RANDOM: dict[str, str] = {
    "intrinsic_functions/math_random-0": "States.MathRandom without a seed",
}

# Cases whose definition or input the API refuses, so they cannot start: case id -> why.
API_REFUSED: dict[str, str] = {}

# A uuid, with or without dashes (X-Amzn-Trace-Id carries one without).
_UUID = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)

_ROOT = cases_dir()
CASES: list[Case] = load_cases(_ROOT) if _ROOT is not None else []


@dataclass
class Result:
    """How one run ended, in the shapes DescribeExecution and GetExecutionHistory use."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]] | None  # None for Express: no history is kept

    def normalised(self) -> dict[str, Any]:
        """Everything, with random ids renamed by order of first appearance."""
        names: dict[str, str] = {}

        def rename(match: re.Match[str]) -> str:
            key = match.group(0).replace("-", "").lower()
            return names.setdefault(key, f"<id:{len(names) + 1}>")

        text = json.dumps(vars(self), default=str, ensure_ascii=False)
        value: dict[str, Any] = json.loads(_UUID.sub(rename, text))
        return value


def state_machine_type(case: Case) -> str:
    return str(case.data.get("state_machine_type") or "STANDARD")


def through_run(case: Case) -> Result:
    """The case through ``stepfn.run``, as test_conformance.py runs it."""
    data = case.data
    clock = VirtualClock()
    execution = stepfn.run(
        copy.deepcopy(data["definition"]),
        copy.deepcopy(data.get("input")),
        name=execution_name(case),
        functions=functions_for(data.get("lambda_sources") or {}, clock),
        state_machine_type=state_machine_type(case),
        clock=clock,
        mock_config=mock_config_for(case),
        test_case=TARGET if mock_config_for(case) is not None else None,
    )
    history = None if state_machine_type(case) == "EXPRESS" else execution.history
    return Result(execution.status, execution.output, execution.error, execution.cause, history)


def through_engine(case: Case) -> Result:
    """The case through an Engine's API on the memory store, in virtual time."""
    return _through(case, lambda engine: engine)


class Http:
    """One server for the module; ``calls(engine)`` points it at a case's engine and
    returns the boto3 client that reaches it over HTTP."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sfn = boto3.client(
            "stepfunctions",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDCONFORMANCE",
            aws_secret_access_key="conformance",
            # inject_host_prefix: StartSyncExecution would otherwise go to a sync- host.
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
        )

    def calls(self, engine: Engine) -> Any:
        self.server.api = Api(engine)
        return self.sfn


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    server = Server(Engine.open("memory://", clock=VirtualClock()), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Http(server)
    finally:
        server.shutdown()
        server.server_close()


def through_http(case: Case, http: Http) -> Result:
    """The case through the HTTP API with a boto3 client, the engine in virtual time."""
    try:
        return _through(case, http.calls)
    except ClientError as exc:  # a refusal reads as the Engine's, for API_REFUSED
        error = exc.response["Error"]
        raise ServiceError(error["Code"], error["Message"]) from exc


def _through(case: Case, calls_for: Callable[[Engine], Any]) -> Result:
    """The case through the operations of ``calls_for(engine)``: the Engine itself or a
    client of the API serving it (both return boto3's shapes)."""
    data = case.data
    clock = VirtualClock()
    functions = functions_for(data.get("lambda_sources") or {}, clock)
    given = data.get("input")
    # None is "no input" for both runs (which then start with {}).
    text = None if given is None else json.dumps(given, ensure_ascii=False)
    kind = state_machine_type(case)
    mocks = mock_config_for(case)
    engine = Engine.open("memory://", clock=clock, functions=functions, mock_config=mocks)
    api = calls_for(engine)
    case_suffix = "" if mocks is None else "#" + TARGET.partition("#")[2]
    # boto3 leaves out members that are None; the Engine takes them as not given.
    optional = {} if text is None else {"input": text}
    try:
        machine = api.create_state_machine(
            name=STATE_MACHINE_NAME,
            definition=json.dumps(data["definition"], ensure_ascii=False),
            roleArn=ROLE,
            type=kind,
        )["stateMachineArn"]
        if kind == "EXPRESS":
            ended = api.start_sync_execution(
                stateMachineArn=machine + case_suffix, name=execution_name(case), **optional
            )
            history = None
        else:
            arn = api.start_execution(
                stateMachineArn=machine + case_suffix, name=execution_name(case), **optional
            )["executionArn"]
            engine.run_until_idle()
            ended = api.describe_execution(executionArn=arn)
            page = api.get_execution_history(executionArn=arn, maxResults=MAX_HISTORY)
            assert "nextToken" not in page, "history longer than one page"
            history = page["events"]
    finally:
        engine.close()
    output = json.loads(ended["output"]) if "output" in ended else None
    return Result(ended["status"], output, ended.get("error"), ended.get("cause"), history)


def differences(by_run: Result, by_engine: Result, definition: Mapping[str, Any]) -> list[str]:
    """Where the engine's run differs from stepfn.run's."""
    expected, actual = by_run.normalised(), by_engine.normalised()
    found = [
        f"{field}: stepfn.run {_short(expected[field])}, engine {_short(actual[field])}"
        for field in ("status", "output", "error", "cause")
        if expected[field] != actual[field]
    ]
    ran, engined = expected["history"], actual["history"]
    if ran == engined:
        return found
    if ran is None or engined is None:
        return [*found, f"history: stepfn.run {ran is not None}, engine {engined is not None}"]
    if [actual_key(e) for e in ran] == [actual_key(e) for e in engined]:
        # The same events in the same order: some details differ.
        for ours, theirs in zip(ran, engined, strict=True):
            if ours != theirs:
                return [*found, f"history: stepfn.run {_short(ours)}, engine {_short(theirs)}"]
    # Another order: Lambda tasks of concurrent branches answer from a thread pool in the
    # engine, so their events may interleave otherwise. The recorded-case rules accept
    # exactly the orders concurrency can produce (see compare.py); the events themselves
    # must still be the same, ids and numbering aside.
    reordered = compare_history([vars(actual_key(e)) for e in ran], engined, definition)
    if sorted(map(_unnumbered, by_run.history or [])) != sorted(
        map(_unnumbered, by_engine.history or [])
    ):
        reordered.append("history: the events differ, not only in order")
    return found + reordered


def _unnumbered(event: Mapping[str, Any]) -> str:
    """An event as text without its place in the history, random ids masked."""
    rest = {k: v for k, v in event.items() if k not in ("id", "previousEventId")}
    return _UUID.sub("<id>", json.dumps(rest, default=str, sort_keys=True, ensure_ascii=False))


def _short(value: Any, width: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def test_cases_are_present() -> None:
    if _ROOT is None:
        pytest.skip(missing_message())
    assert CASES, f"no cases under {_ROOT}"


def test_lists_name_runnable_cases() -> None:
    if _ROOT is None:
        pytest.skip(missing_message())
    runnable = {case.id for case in CASES if case.runnable}
    listed = ENGINE_DIFFERENCES.keys() | DRAWN_AT_RANDOM.keys() | API_REFUSED.keys()
    assert not listed - runnable, f"lists name cases that are not runnable: {listed - runnable}"


PARAMS = [pytest.param(case, id=case.id) for case in CASES] or [
    pytest.param(None, id="no-cases", marks=pytest.mark.skip(reason=missing_message()))
]


@pytest.mark.parametrize("case", PARAMS)
def test_engine_agrees_with_run(case: Case) -> None:
    agrees_with_run(case, through_engine)


@pytest.mark.parametrize("case", PARAMS)
def test_http_agrees_with_run(case: Case, http: Http) -> None:
    agrees_with_run(case, lambda case: through_http(case, http))


def agrees_with_run(case: Case, through: Callable[[Case], Result]) -> None:
    """Run the case ``through`` the Engine or the HTTP API and compare with stepfn.run."""
    reason = case.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    if case.uses_services:
        # Their resources live in a moto server reset per run; comparing two runs needs
        # both to route there (the Engine's routing is the integrator's wiring).
        pytest.skip("calls AWS services: checked through stepfn.run against moto only")
    refused = API_REFUSED.get(case.id)
    with _time_limit(CASE_SECONDS):
        try:
            by_engine = through(case)
        except ServiceError as exc:
            if refused is not None:
                pytest.xfail(refused)
            raise AssertionError(f"the API refused {case.id}: {exc.code}: {exc.message}") from exc
        if refused is not None:
            pytest.fail(f"unexpected start: remove {case.id} from API_REFUSED")
        if case.id in DRAWN_AT_RANDOM:
            found = compare_case(case.data, **vars(by_engine))
        else:
            found = differences(through_run(case), by_engine, case.data["definition"])
    known = ENGINE_DIFFERENCES.get(case.id)
    if known is not None:
        if not found:
            pytest.fail(f"unexpected agreement: remove {case.id} from ENGINE_DIFFERENCES")
        pytest.xfail(known)
    assert not found, f"{case.id}: the engine differs from stepfn.run:\n" + "\n".join(found)
