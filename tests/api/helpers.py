"""Helpers of the API tests: a real stepfn HTTP server, real SDK clients pointed at it.

The server runs in this process (a background thread) on a free port, over a SQLite
store in a temporary directory (or, for the modules that run on every store, a schema of
its own on the suites' PostgreSQL server: see conftest.py), with the real clock: the
SDKs talk HTTP to it exactly as they would to AWS. Nothing here waits on timing for its
assertions: tests that need an execution to finish poll until it has (``wait_for``).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from stepfn.api.server import Server
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"
# The stores a test runs on when it runs on every one (``pg.store_url``'s names).
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT_LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
KEY_ID = "AKIDSTEPFNTEST"
SECRET = "stepfn-test-secret"


def flaky(event: Any, context: Any) -> Any:
    """A Lambda function that fails until its input says it may succeed (redrive)."""
    marker = Path(event["marker"])
    if not marker.exists():
        marker.write_text("seen")
        raise RuntimeError("first attempt fails")
    return {"ok": True}


def client(url: str, credentials: tuple[str, str] = (KEY_ID, SECRET), **config: Any) -> Any:
    """A boto3 Step Functions client for a stepfn endpoint.

    ``inject_host_prefix=False``: StartSyncExecution and TestState are otherwise sent to
    ``sync-<host>``. One attempt: a test sees each answer as the server gave it.
    """
    options: dict[str, Any] = {
        "inject_host_prefix": False,
        "retries": {"max_attempts": 1, "mode": "standard"},
        **config,
    }
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=credentials[0],
        aws_secret_access_key=credentials[1],
        config=Config(**options),
    )


@dataclass
class Live:
    """A running server and what tests need from it."""

    engine: Engine
    server: Server
    url: str
    tmp: Path

    def post(
        self,
        body: bytes | str,
        target: str | None = "AWSStepFunctions.ListStateMachines",
        headers: dict[str, str] | None = None,
        method: str = "POST",
        path: str = "/",
    ) -> tuple[int, dict[str, str], Any]:
        """Send one raw HTTP request; (status, headers, decoded JSON body or text)."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        try:
            sent = {"Content-Type": "application/x-amz-json-1.0"}
            if target is not None:
                sent["X-Amz-Target"] = target
            sent.update(headers or {})
            data = body.encode() if isinstance(body, str) else body
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            got = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        try:
            return response.status, got, json.loads(raw)
        except ValueError:
            return response.status, got, raw.decode("latin-1")


def start_server(tmp: Path, db: str | None = None, **server_options: Any) -> Live:
    """An Engine on a store (by default a SQLite file in ``tmp``) and its HTTP server,
    serving in a thread."""
    engine = Engine.open(db or str(tmp / "stepfn.db"), functions={"flaky": flaky})
    server = Server(engine, "127.0.0.1", 0, **server_options)
    server.start_background()
    return Live(engine, server, server.url, tmp)


def stop_server(live: Live) -> None:
    live.server.drain(10)
    live.engine.close()


def wait_for(probe: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30) -> Any:
    """Call ``probe`` until ``done`` says its result is final (or fail after a while)."""
    deadline = time.monotonic() + seconds
    while True:
        result = probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not done after {seconds} s: {result!r}")
        time.sleep(0.02)


def finished(sfn: Any, execution_arn: str) -> dict[str, Any]:
    """DescribeExecution once the execution has stopped running."""
    result: dict[str, Any] = wait_for(
        lambda: sfn.describe_execution(executionArn=execution_arn),
        lambda d: d["status"] != "RUNNING",
    )
    return result


def unique(prefix: str) -> str:
    """A resource name not used before in this server."""
    return f"{prefix}-{time.monotonic_ns()}"
