"""Find, load and run the conformance cases recorded against AWS Step Functions.

The cases are data kept outside the repository (they are derived from LocalStack's
recordings and must not be copied in). They are looked for in ``$STEPFN_CONFORMANCE_DIR``,
else in ``../shared/conformance/cases`` beside the repository. When neither exists the
tests skip, saying where they looked.

A case is *runnable* when everything it needs beyond a pure interpreter is something this
runner provides: local Lambda handlers (``lambda``), a virtual clock that makes Waits
instant (``wait>0s``) and an execution name of our choosing (``context-object``); the
``local_mocking`` cases run on mocked answers made from their recordings (``mocks.py``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stepfn.clock import VirtualClock
from stepfn.durable.local_children import LocalTokens

from .compare import compare_case
from .lambdas import functions_for, unknown_handlers
from .services import SERVICE_NEEDS, Party, prepare, unsupported

ENV_VAR = "STEPFN_CONFORMANCE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT.parent / "shared" / "conformance" / "cases"
EXPECTED_FAILURES = Path(__file__).with_name("expected_failures.txt")

# Real seconds a case may run: all take milliseconds; more means the interpreter loops.
CASE_TIME_LIMIT = 30.0

# What this runner can supply; any other need makes a case skip.
# ``callback`` and ``activity``: the runner plays the other party (``services.Party``);
# ``sfn`` and ``sync-integration``: nested executions of the case's child state machines;
# ``iam``: the role the Task's Credentials name is made in moto's IAM.
RUNNABLE_NEEDS = frozenset(
    {
        "lambda",
        "wait>0s",
        "context-object",
        "callback",
        "activity",
        "sfn",
        "sync-integration",
        "iam",
    }
)
# Real seconds a run on a virtual clock waits for the runner's answer before its
# simulated time moves on (a case that is never answered takes this long).
CALLBACK_GRACE = 2.0
# What a moto server supplies (``services.py``); cases needing it run through stepfn.run.
SERVICE_RUNNABLE = SERVICE_NEEDS | {"bindings"}


def cases_dir(override: Path | None = None) -> Path | None:
    """The folder holding ``<category>/<case>.json``, or None when it is not there.

    ``override`` (a command-line option) wins over the environment variable.
    """
    configured = os.environ.get(ENV_VAR)
    path = override or (Path(configured) if configured else DEFAULT_DIR)
    return path if path.is_dir() else None


def missing_message(override: Path | None = None) -> str:
    """Why the conformance cases cannot run, for a skip reason."""
    configured = os.environ.get(ENV_VAR)
    where = override or configured or "../shared/conformance/cases (beside the repo)"
    return f"conformance cases not found in {where}; set {ENV_VAR} to their folder"


@dataclass(frozen=True)
class Case:
    """One recorded case: its identity and the JSON document as stored."""

    category: str
    name: str
    data: dict[str, Any] = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        """``category/name``, as used in test ids and the expected-failures list."""
        return f"{self.category}/{self.name}"

    @property
    def needs(self) -> list[str]:
        return list(self.data.get("needs") or [])

    def skip_reason(self) -> str | None:
        """Why this runner cannot run the case, or None when it can."""
        from .mocks import has_plan  # mocked answers meet every service need

        unmet = (
            [] if has_plan(self) else sorted(set(self.needs) - RUNNABLE_NEEDS - SERVICE_RUNNABLE)
        )
        if unmet:
            return "needs " + ", ".join(unmet)
        if self.uses_services:
            why = unsupported(self.data)
            if why is not None:
                return why
        unknown = unknown_handlers(self.data.get("lambda_sources") or {})
        if unknown:
            return "no local Lambda handler for " + ", ".join(unknown)
        return None

    @property
    def uses_services(self) -> bool:
        """Whether the case calls AWS services (run against moto; see ``services.py``)."""
        return bool(set(self.needs) & SERVICE_RUNNABLE)

    @property
    def runnable(self) -> bool:
        return self.skip_reason() is None


def load_cases(root: Path) -> list[Case]:
    """Every case under ``root``, sorted by category and name."""
    cases = []
    for path in sorted(root.glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        category = data.get("category") or path.parent.name
        cases.append(Case(category, data.get("name") or path.stem, data))
    return cases


def load_expected_failures(path: Path = EXPECTED_FAILURES) -> dict[str, str]:
    """``category/name -> reason`` from the expected-failures list (``#`` starts a comment)."""
    failures: dict[str, str] = {}
    if not path.exists():
        return failures
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        case_id, _, reason = line.partition(" ")
        failures[case_id] = reason.strip() or "expected to fail"
    return failures


def write_expected_failures(failures: dict[str, str], path: Path = EXPECTED_FAILURES) -> None:
    """Write the list back, sorted, one ``category/name  reason`` per line."""
    header = (
        "# Conformance cases known to fail: `category/name  reason`, one per line.\n"
        "# A listed case that passes is an error: remove it from here.\n"
    )
    lines = [f"{case_id}  {failures[case_id]}" for case_id in sorted(failures)]
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")


def execution_name(case: Case) -> str:
    """A valid, deterministic execution name: cases with ``$$.Execution.Name`` see it.

    The recordings stand a placeholder in for the name, so any valid name matches; using
    the case's own keeps runs repeatable.
    """
    return re.sub(r"[^A-Za-z0-9_-]", "-", case.name)[:80]


class CaseTimeout(BaseException):
    """A case ran longer than ``CASE_TIME_LIMIT`` seconds of real time.

    A BaseException, so that the interpreter's handling of task errors cannot swallow it.
    """


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a run that loops forever, so one bad case cannot hang the whole suite.

    Uses a POSIX interval timer, so only on the main thread of a POSIX system; elsewhere
    the run simply has no limit.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"still running after {seconds:g} s of real time")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    """What running a case gave: passed or not, and the differences found."""

    case: Case
    differences: list[str]
    crashed: bool = False

    @property
    def passed(self) -> bool:
        return not self.differences


def run_case(case: Case) -> Outcome:
    """Run a runnable case through ``stepfn.run`` and compare with its recording.

    A crash of the interpreter is an outcome (a difference naming the exception), not an
    error of the runner, so that the report can count it like any other failure.
    """
    import stepfn

    from .mocks import TARGET, mock_config_for

    data = case.data
    mocks = mock_config_for(case)
    # One virtual clock shared by the execution and the handlers that "take time".
    clock = VirtualClock()
    # Copies: the recording must stay as it was, whatever the run does.
    definition, given = copy.deepcopy(data["definition"]), copy.deepcopy(data.get("input"))
    routing = None
    party: Party | None = None
    callbacks = LocalTokens(grace=CALLBACK_GRACE)
    try:
        with _time_limit(CASE_TIME_LIMIT):
            if case.uses_services:
                definition, given, routing, values = prepare(data)
                if {"callback", "activity"} & set(case.needs):
                    party = Party(data, values, callbacks).start()
            execution = stepfn.run(
                definition,
                given,
                routing=routing,
                name=execution_name(case),
                functions=functions_for(data.get("lambda_sources") or {}, clock),
                state_machine_type=data.get("state_machine_type") or "STANDARD",
                clock=clock,
                mock_config=mocks,
                test_case=TARGET if mocks is not None else None,
                state_machines=data.get("child_state_machines") or None,
                callbacks=callbacks if {"callback", "activity"} & set(case.needs) else None,
            )
    except (Exception, CaseTimeout) as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        text = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        place = f"{_short_path(where.filename)}:{where.lineno}"
        return Outcome(case, [f"stepfn.run raised {text} ({place})"], True)
    finally:
        if party is not None:
            party.stop()
    differences = compare_case(
        data,
        status=execution.status,
        output=execution.output,
        error=execution.error,
        cause=execution.cause,
        history=execution.history,
    )
    return Outcome(case, differences)


def _short_path(filename: str) -> str:
    """A source file named from its package (``stepfn/interp/flow.py``), not this machine."""
    parts = Path(filename).parts
    for anchor in ("stepfn", "tests"):
        if anchor in parts:
            start = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[start:])
    return Path(filename).name


def select(cases: Iterable[Case], patterns: Iterable[str]) -> list[Case]:
    """The cases whose id starts with one of ``patterns`` (all when there are none)."""
    wanted = list(patterns)
    return [c for c in cases if not wanted or any(c.id.startswith(p) for p in wanted)]
