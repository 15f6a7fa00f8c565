"""The conformance report's counting and exit status, on made-up outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cases import Case, Outcome, load_expected_failures, write_expected_failures
from .report import main, table, tally


def _case(name: str, needs: list[str] | None = None) -> Case:
    return Case("cat", name, {"needs": needs or []})


def test_tally_counts_each_kind_of_result() -> None:
    cases = [_case(n) for n in ("pass", "xfail", "fail", "xpass")] + [_case("skip", ["sqs"])]
    outcomes = {
        "cat/pass": Outcome(cases[0], []),
        "cat/xfail": Outcome(cases[1], ["differs"]),
        "cat/fail": Outcome(cases[2], ["differs"]),
        "cat/xpass": Outcome(cases[3], []),
    }
    expected = {"cat/xfail": "known", "cat/xpass": "known"}
    t = tally(cases, outcomes, expected)
    assert (t.total, t.runnable, t.passed) == (5, 4, 2)
    assert (t.expected_failures, t.unexpected_failures, t.unexpected_passes) == (1, 1, 1)


def test_skip_reasons() -> None:
    assert _case("a", ["lambda", "wait>0s", "context-object"]).skip_reason() is None
    # Callbacks, activities and nested executions run too: the runner plays their party.
    assert _case("b", ["sqs", "callback", "activity", "sfn"]).skip_reason() is None
    assert _case("b", ["sqs", "batch", "lambda"]).skip_reason() == "needs batch"
    # Services run against moto; a binding nothing here makes stays a skip, naming it.
    assert _case("c", ["sqs", "lambda"]).skip_reason() is None
    unbound = Case("cat", "d", {"needs": ["bindings"], "bindings": {"${ext1}": "module x()"}})
    assert unbound.skip_reason() == "no stand-in for the binding ${ext1} (module x())"
    unknown = Case("cat", "c", {"needs": ["lambda"], "lambda_sources": {"f": "lambdas/x.py"}})
    assert unknown.skip_reason() == "no local Lambda handler for lambdas/x.py"


def test_table_aligns_columns() -> None:
    text = table([["category", "total"], ["map", "69"], ["all", "745"]])
    assert text.splitlines() == [
        "category  total",
        "--------  -----",
        "map          69",
        "--------  -----",
        "all         745",
    ]


def test_expected_failures_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "expected.txt"
    write_expected_failures({"b/two": "reason two", "a/one": "reason one"}, path)
    lines = path.read_text().splitlines()
    assert lines[-2:] == ["a/one  reason one", "b/two  reason two"]
    assert load_expected_failures(path) == {"a/one": "reason one", "b/two": "reason two"}
    path.write_text("# comment\n\nc/three\n")
    assert load_expected_failures(path) == {"c/three": "expected to fail"}


def test_missing_cases_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cases", str(tmp_path / "none")]) == 2
    assert "conformance cases not found" in capsys.readouterr().err
