"""How long a pathological StringMatches pattern takes, now and as a backtracking regex.

    python bench/isolation.py [--sizes 700,2000,100000] [--regex-timeout 10]

Printed, never asserted (the figures depend on the machine): for each pattern
(``*a*a*a*b``, with eight stars, and both ending in a star) and each text length (that
many ``a``, which never matches, the worst case), the time of

* ``stepfn.lang.wildcard`` (the segment matcher StringMatches uses), and of a whole
  ``stepfn.run`` of a Choice state with that rule, the execution's own time to end;
* the regular expression StringMatches used to compile (each ``*`` as ``.*``, DOTALL,
  ``fullmatch``), in a subprocess killed after ``--regex-timeout`` seconds, since it may
  run for hours and never lets go of the interpreter lock: a timeout is printed as
  ``> N s``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import stepfn
from stepfn.lang.wildcard import compile_wildcard

# The pattern, with eight stars, and ending in a star (so that no suffix test can
# answer early: every segment is searched for through the whole text).
PATTERNS = ("*a*a*a*b", "*a*a*a*a*a*a*a*b", "*a*a*a*b*", "*a*a*a*a*a*a*a*b*")

# The old matcher, as a script run in a child process (it may have to be killed).
_REGEX_CHILD = """
import re, sys, time
pattern, size = sys.argv[1], int(sys.argv[2])
regex = re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern), re.DOTALL)
text = "a" * size
start = time.perf_counter()
assert regex.fullmatch(text) is None
print(time.perf_counter() - start)
"""


def wildcard_seconds(pattern: str, size: int) -> float:
    """The segment matcher's time on ``size`` ``a``s (best of three)."""
    compiled, text = compile_wildcard(pattern), "a" * size
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        assert not compiled.matches(text)
        best = min(best, time.perf_counter() - start)
    return best


def execution_seconds(pattern: str, size: int) -> float:
    """A whole in-process execution of a Choice with that rule, to its end."""
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.v", "StringMatches": pattern, "Next": "Hit"}],
                "Default": "Miss",
            },
            "Hit": {"Type": "Succeed"},
            "Miss": {"Type": "Succeed"},
        },
    }
    start = time.perf_counter()
    execution = stepfn.run(definition, {"v": "a" * size})
    elapsed = time.perf_counter() - start
    assert execution.status == "SUCCEEDED"
    return elapsed


def regex_seconds(pattern: str, size: int, timeout: float) -> float | None:
    """The old regex's time, or None when the child had to be killed."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _REGEX_CHILD, pattern, str(size)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout)


def main() -> None:
    """Print one line per pattern and size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="700,2000,100000")
    parser.add_argument("--regex-timeout", type=float, default=10.0)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"{'pattern':<18} {'a x N':>8} {'segments':>10} {'execution':>10} {'old regex':>10}")
    for pattern in PATTERNS:
        for size in sizes:
            old = regex_seconds(pattern, size, args.regex_timeout)
            old_text = f"> {args.regex_timeout:g} s" if old is None else f"{old:.4f} s"
            print(
                f"{pattern:<18} {size:>8} {wildcard_seconds(pattern, size):>8.6f} s"
                f" {execution_seconds(pattern, size):>8.4f} s {old_text:>10}"
            )


if __name__ == "__main__":
    main()
