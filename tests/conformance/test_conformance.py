"""Every recorded conformance case, run through ``stepfn.run`` and compared with AWS.

One test per case, with the id ``category/name``. A case needing what this runner cannot
provide skips, naming the needs. A case listed in ``expected_failures.txt`` that fails is
an xfail with the listed reason; one that passes fails the run, so the list stays true.
"""

from __future__ import annotations

import pytest

from .cases import (
    Case,
    cases_dir,
    load_cases,
    load_expected_failures,
    missing_message,
    run_case,
)

_ROOT = cases_dir()
CASES: list[Case] = load_cases(_ROOT) if _ROOT is not None else []
EXPECTED_FAILURES = load_expected_failures()


def test_cases_are_present() -> None:
    if _ROOT is None:
        pytest.skip(missing_message())
    assert CASES, f"no cases under {_ROOT}"


def test_expected_failures_name_real_cases() -> None:
    if _ROOT is None:
        pytest.skip(missing_message())
    known = {case.id for case in CASES}
    stale = sorted(set(EXPECTED_FAILURES) - known)
    assert not stale, f"expected_failures.txt names unknown cases: {stale}"


# Without cases, one skipped placeholder says why (pytest's own "empty parameter set" does not).
PARAMS = [pytest.param(case, id=case.id) for case in CASES] or [
    pytest.param(None, id="no-cases", marks=pytest.mark.skip(reason=missing_message()))
]


@pytest.mark.parametrize("case", PARAMS)
def test_case(case: Case) -> None:
    reason = case.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    outcome = run_case(case)
    expected_failure = EXPECTED_FAILURES.get(case.id)
    if expected_failure is not None:
        if outcome.passed:
            pytest.fail(f"unexpected pass: remove {case.id} from expected_failures.txt")
        pytest.xfail(expected_failure)
    assert outcome.passed, f"{case.id} differs from AWS:\n" + "\n".join(outcome.differences)
