"""The README's main job: ``examples/order_processing/main.py`` deploys the Order
Processing System to a real ``stepfn server`` through its AWS APIs and runs the seed's
example order, end to end (Node and Python functions in their own processes)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

MAIN = Path(__file__).resolve().parents[2] / "examples" / "order_processing" / "main.py"

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.skipif(shutil.which("node") is None, reason="the Node functions need node"),
]


def test_the_main_job_runs_the_example_order(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(MAIN), "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "status: SUCCEEDED" in out
    assert '"order_id": "12345"' in out and '"status": "COMPLETED"' in out
    assert "Subject: Your order 12345 is confirmed" in out
    assert "Total: 100.50 USD" in out
    assert "/console/" in out
    # Charged once, in the application's own ledger.
    with sqlite3.connect(tmp_path / "orders.sqlite3") as db:
        (charges,) = db.execute("SELECT count(*) FROM payments").fetchone()
    assert charges == 1
