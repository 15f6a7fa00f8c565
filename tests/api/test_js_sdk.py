"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-sfn`` from npm, run by ``node``)
against a stepfn server: create, start, describe, StartSyncExecution with
``disableHostPrefix``, and an error's name and message.

The package (``tests/api/js``: package.json, package-lock.json, smoke.mjs) is installed
with ``npm ci`` into a temporary directory. Skipped, saying why, without node or npm, or
when npm cannot install it (no registry).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import Live

PACKAGE = Path(__file__).with_name("js")


@pytest.fixture(scope="module")
def js_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where ``node smoke.mjs`` finds @aws-sdk/client-sfn."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the JavaScript SDK test; not found on PATH")
    folder = tmp_path_factory.mktemp("js-sdk")
    for name in ("package.json", "package-lock.json", "smoke.mjs"):
        shutil.copy(PACKAGE / name, folder / name)
    try:
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm ci took more than 10 minutes: no usable npm registry?")
    if installed.returncode != 0:
        pytest.skip(f"npm could not install @aws-sdk/client-sfn: {installed.stderr[-500:]}")
    return folder


def test_create_start_describe_and_sync(live: Live, js_sdk: Path) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "smoke.mjs", live.url],
        cwd=js_sdk,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["startDateIsDate"] is True  # epoch seconds read as a Date
    assert (report["status"], json.loads(report["output"])) == (
        "SUCCEEDED",
        {"greeting": "hello js"},
    )
    assert (report["syncStatus"], json.loads(report["syncOutput"])) == (
        "SUCCEEDED",
        {"greeting": "hello sync"},
    )
    assert report["error"] == {
        "name": "ExecutionDoesNotExist",
        "message": f"Execution Does Not Exist: '{report['executionArn']}-missing'",
    }
