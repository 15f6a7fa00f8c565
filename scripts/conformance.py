"""Run the AWS-recorded conformance cases through stepfn and print a table per category.

    python scripts/conformance.py [--show-failures] [--write-expected-failures] [PREFIX...]

The work is done by ``tests/conformance/report.py``; this is its command-line door.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The runner lives with the tests (it shares their case loader and comparison rules).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conformance.report import main

if __name__ == "__main__":
    sys.exit(main())
