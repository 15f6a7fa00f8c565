"""Run the conformance cases and print a table per category.

Usage (from the repository root)::

    python scripts/conformance.py [--show-failures] [--write-expected-failures] [PREFIX...]
    python -m tests.conformance.report ...          # the same

Columns: total cases, runnable ones (their needs are met), passed, expected failures
(listed in ``expected_failures.txt``), unexpected failures and unexpected passes. The exit
status is 1 when anything is unexpected, so the report can gate a build like the tests do.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cases import (
    ENV_VAR,
    EXPECTED_FAILURES,
    Case,
    Outcome,
    cases_dir,
    load_cases,
    load_expected_failures,
    missing_message,
    run_case,
    select,
    write_expected_failures,
)

# A new expected failure gets its first difference as the reason, cut to this length.
_REASON_WIDTH = 140


@dataclass
class Tally:
    """The counts of one row of the table."""

    total: int = 0
    runnable: int = 0
    passed: int = 0
    expected_failures: int = 0
    unexpected_failures: int = 0
    unexpected_passes: int = 0

    def add(self, other: Tally) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self, label: str) -> list[str]:
        return [label, *(str(v) for v in vars(self).values())]


HEADERS = ["category", "total", "runnable", "passed", "xfail", "unexpected fail", "unexpected pass"]


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as a plain-text table: first column left-aligned, the numbers right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def tally(cases: Sequence[Case], outcomes: dict[str, Outcome], expected: dict[str, str]) -> Tally:
    """Count one category's cases."""
    t = Tally(total=len(cases))
    for case in cases:
        outcome = outcomes.get(case.id)
        if outcome is None:
            continue
        t.runnable += 1
        listed = case.id in expected
        if outcome.passed:
            t.passed += 1
            t.unexpected_passes += listed
        elif listed:
            t.expected_failures += 1
        else:
            t.unexpected_failures += 1
    return t


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Run the AWS-recorded conformance cases through stepfn and report.",
    )
    parser.add_argument(
        "prefixes", nargs="*", metavar="PREFIX", help="only cases whose id starts so"
    )
    parser.add_argument(
        "--cases", type=Path, help=f"the cases folder (default: ${ENV_VAR} or ../shared/...)"
    )
    parser.add_argument(
        "--show-failures", action="store_true", help="list the differences of each failure"
    )
    parser.add_argument(
        "--show-expected", action="store_true", help="with --show-failures, include xfails"
    )
    parser.add_argument(
        "--write-expected-failures",
        action="store_true",
        help="rewrite expected_failures.txt to the cases failing now, keeping known reasons",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = cases_dir(args.cases)
    if root is None:
        print(missing_message(args.cases), file=sys.stderr)
        return 2
    try:
        import stepfn

        stepfn.run  # noqa: B018 - fail here, clearly, rather than once per case
    except (ImportError, AttributeError) as exc:
        print(f"stepfn.run is not available: {exc}", file=sys.stderr)
        return 2

    all_cases = load_cases(root)
    cases = select(all_cases, args.prefixes)
    expected = load_expected_failures()
    outcomes: dict[str, Outcome] = {}
    started = time.perf_counter()
    for case in cases:
        if case.runnable:
            outcomes[case.id] = run_case(case)
    elapsed = time.perf_counter() - started

    categories: dict[str, list[Case]] = {}
    for case in cases:
        categories.setdefault(case.category, []).append(case)
    rows = [HEADERS]
    total = Tally()
    for category in sorted(categories):
        t = tally(categories[category], outcomes, expected)
        total.add(t)
        rows.append(t.row(category))
    rows.append(total.row("all"))
    print(table(rows))
    print(f"\n{len(outcomes)} cases run in {elapsed:.1f} s")

    unexpected = [o for o in outcomes.values() if o.passed == (o.case.id in expected)]
    if args.show_failures:
        for outcome in outcomes.values():
            listed = outcome.case.id in expected
            if outcome.passed or (listed and not args.show_expected):
                continue
            mark = "xfail" if listed else "FAIL"
            print(f"\n{mark} {outcome.case.id}")
            for line in outcome.differences:
                print(f"    {line}")
    for outcome in unexpected:
        if outcome.passed:
            print(f"unexpected pass: {outcome.case.id} (remove it from expected_failures.txt)")

    if args.write_expected_failures:
        updated = {k: v for k, v in expected.items() if k not in outcomes}
        for case_id, outcome in outcomes.items():
            if not outcome.passed:
                first = outcome.differences[0]
                reason = expected.get(case_id) or first[:_REASON_WIDTH]
                updated[case_id] = " ".join(reason.split())
        write_expected_failures(updated)
        print(f"wrote {len(updated)} expected failures to {EXPECTED_FAILURES.name}")
        return 0
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
