"""Helpers of the deploy tests: a real ``stepfn server`` process on a free port, boto3
clients for it, and where the seed's Terraform configuration is."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "order_processing" / "seed"
EXAMPLE_ORDER = ROOT / "examples" / "order_processing" / "orders" / "example.json"


@contextmanager
def server_process(db: Path) -> Iterator[str]:
    """``stepfn server`` on a free port over ``db``; its endpoint URL. Always stopped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stepfn", "server", "--db", str(db), "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("stepfn server on http://"), line
        url = line.split()[3]
        # The port answers, and it is this process that answers (it is still alive).
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
        assert process.poll() is None
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def aws(service: str, url: str) -> Any:
    """A boto3 client of ``service`` for a stepfn endpoint."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, inject_host_prefix=False),
    )


def plugin_dir() -> Path | None:
    """A local plugin directory holding the hashicorp/aws provider (for ``terraform init
    -plugin-dir``): ``$TF_PLUGIN_DIR``, Terraform's implicit local mirrors, or a directory
    of ``/opt`` laid out as one; None when there is none."""
    import glob
    import os

    candidates = [os.environ.get("TF_PLUGIN_DIR", "")]
    candidates += [
        str(Path.home() / ".terraform.d" / "plugins"),
        "/usr/local/share/terraform/plugins",
        "/usr/share/terraform/plugins",
    ]
    candidates += sorted(glob.glob("/opt/*/"))
    for candidate in candidates:
        if candidate and any(
            Path(candidate).glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*")
        ):
            return Path(candidate)
    return None
