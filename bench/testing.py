"""A test suite through the pytest plugin: how long 100 tests take, each running a
five-state machine with a Wait through ``stepfn_server``.

    python bench/testing.py [--tests 100] [--runs 1] [--wait 3600]

It writes a test file into a fresh temporary directory (a project that only has stepfn
installed) and runs ``python -m pytest`` there in a subprocess, so the figure is what a
user's suite sees: each test starts its own ``stepfn server`` process (fresh store,
``--wait-time-scale 0``), creates the machine, starts one execution, waits for its end
through the status events and checks the states entered. Printed: the suite's total
seconds (pytest's own start included) and seconds per test. Never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TEST_FILE = """
import json

import pytest

from stepfn.testing.history import states_entered

DEFINITION = json.dumps({{
    "StartAt": "Double",
    "States": {{
        "Double": {{"Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                    "Next": "Nap"}},
        "Nap": {{"Type": "Wait", "Seconds": {wait}, "Next": "Big"}},
        "Big": {{"Type": "Choice",
                 "Choices": [{{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Yes"}}],
                 "Default": "No"}},
        "Yes": {{"Type": "Pass", "Result": "big", "End": True}},
        "No": {{"Type": "Pass", "Result": "small", "End": True}},
    }},
}})


def double(event, context):
    return {{"n": event["n"] * 2}}


@pytest.mark.stepfn_server(functions={{"double": double}})
@pytest.mark.parametrize("n", range({tests}))
def test_five_states(stepfn_server, n):
    sfn = stepfn_server.client()
    sm = sfn.create_state_machine(
        name="five", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r"
    )
    arn = sfn.start_execution(
        stateMachineArn=sm["stateMachineArn"], input=json.dumps({{"n": n}})
    )["executionArn"]
    detail = stepfn_server.wait_for_end(arn)
    assert detail["status"] == "SUCCEEDED"
    expected = ["Double", "Nap", "Big", "Yes" if n * 2 > 5 else "No"]
    assert states_entered(sfn.get_execution_history(executionArn=arn)) == expected
"""


def run_suite(tests: int, wait: int) -> float:
    """Seconds for pytest to run the generated suite (it must pass)."""
    with tempfile.TemporaryDirectory(prefix="stepfn-bench-") as tmp:
        root = Path(tmp)
        text = TEST_FILE.format(tests=tests, wait=wait)
        (root / "test_suite.py").write_text(textwrap.dedent(text), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"the suite failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
        return elapsed


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100, help="tests in the suite")
    parser.add_argument("--runs", type=int, default=1, help="runs; the median is shown")
    parser.add_argument("--wait", type=int, default=3600, help="the Wait's seconds")
    args = parser.parse_args()
    times = [run_suite(args.tests, args.wait) for _ in range(args.runs)]
    total = statistics.median(times)
    print(
        f"{args.tests} tests, each a five-state machine with a {args.wait} s Wait through "
        f"stepfn_server: {total:.2f} s total, {total / args.tests * 1000:.0f} ms per test "
        f"(median of {args.runs} run{'s' if args.runs != 1 else ''})"
    )


if __name__ == "__main__":
    main()
