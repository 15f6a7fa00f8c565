"""The Lambda function of the cluster test (``stepfn server --function work=...``).

Each run appends ``<pid> <key>`` to the file named by ``STEPFN_CLUSTER_RUNS`` (one
``write`` of a short line in append mode: lines of concurrent runs do not interleave),
so the test can count every run of every task and tell which server process ran it.
"""

from __future__ import annotations

import os
import time
from typing import Any


def work(event: Any, context: Any) -> Any:
    """Note the run, take a moment (so that tasks are in flight when a server dies)."""
    key = event["key"]
    line = f"{os.getpid()} {key}\n".encode()
    fd = os.open(os.environ["STEPFN_CLUSTER_RUNS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    time.sleep(0.02)
    return {"done": key}
