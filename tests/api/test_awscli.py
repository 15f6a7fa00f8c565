"""The AWS CLI (``awscli`` from PyPI, run as its own process) against a stepfn server:
create a state machine, start and describe an execution, and StartSyncExecution with
host-prefix injection turned off, as docs/api.md tells users to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import PASS, ROLE, Live, unique, wait_for

pytest.importorskip("awscli", reason="the AWS CLI is not installed (pip install awscli)")


def aws(live: Live, tmp: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``aws stepfunctions ...`` against the server; its JSON output."""
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDCLI",
        "AWS_SECRET_ACCESS_KEY": "cli-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        # Not the user's own configuration: only what this test says.
        "AWS_CONFIG_FILE": str(tmp / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials"),
        "AWS_PAGER": "",
        **(env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "stepfunctions", *args, "--endpoint-url", live.url],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    if result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_create_start_describe(live: Live, tmp_path: Path) -> None:
    created = aws(
        live,
        tmp_path,
        "create-state-machine",
        "--name",
        unique("cli"),
        "--role-arn",
        ROLE,
        "--definition",
        json.dumps(PASS),
    )
    started = aws(
        live,
        tmp_path,
        "start-execution",
        "--state-machine-arn",
        created["stateMachineArn"],
        "--input",
        '{"from": "cli"}',
    )
    described = wait_for(
        lambda: aws(
            live, tmp_path, "describe-execution", "--execution-arn", started["executionArn"]
        ),
        lambda d: d["status"] != "RUNNING",
    )
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"from": "cli"}


def test_start_sync_execution_without_the_host_prefix(live: Live, tmp_path: Path) -> None:
    express = aws(
        live,
        tmp_path,
        "create-state-machine",
        "--name",
        unique("cli-x"),
        "--type",
        "EXPRESS",
        "--role-arn",
        ROLE,
        "--definition",
        json.dumps(PASS),
    )
    result = aws(
        live,
        tmp_path,
        "start-sync-execution",
        "--state-machine-arn",
        express["stateMachineArn"],
        "--input",
        "[1]",
        env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"},
    )
    assert (result["status"], result["output"]) == ("SUCCEEDED", "[1]")


def test_an_error_reaches_the_cli_with_its_code(live: Live, tmp_path: Path) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:m:nope"
    with pytest.raises(AssertionError) as info:
        aws(live, tmp_path, "describe-execution", "--execution-arn", missing)
    assert (
        "An error occurred (ExecutionDoesNotExist) when calling the DescribeExecution "
        f"operation: Execution Does Not Exist: '{missing}'"
    ) in str(info.value)
