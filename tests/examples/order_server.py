"""The Order Processing System on a real ``stepfn server`` (the pytest plugin's), reached
over HTTP with boto3: deployed as ``main.py`` deploys it (CreateFunction with the
application's zip, CreateStateMachine), orders run with StartExecution, and what the app
wrote read from its own SQLite database."""

from __future__ import annotations

import functools
import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from order_support import APP, query

EXAMPLE_TEXT = (APP / "orders" / "example.json").read_text(encoding="utf-8")


def _main() -> Any:
    spec = importlib.util.spec_from_file_location("order_processing_main", APP / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAIN = _main()


@functools.cache
def application_zip() -> bytes:
    """The application's deployment package, built once per test session."""
    code: bytes = MAIN.application_zip()
    return code


def example(**changes: Any) -> dict[str, Any]:
    """The seed's example order with ``changes``."""
    order: dict[str, Any] = json.loads(EXAMPLE_TEXT)
    order.update(changes)
    return order


@dataclass
class Deployed:
    """The app deployed on one server, with its data directory."""

    server: Any
    data: Path
    machine_arn: str

    @property
    def sfn(self) -> Any:
        return self.server.client()

    def start(self, order: dict[str, Any] | str, name: str | None = None) -> str:
        """StartExecution on the order; its execution ARN."""
        text = order if isinstance(order, str) else json.dumps(order)
        options = {"name": name} if name else {}
        started = self.sfn.start_execution(stateMachineArn=self.machine_arn, input=text, **options)
        arn: str = started["executionArn"]
        return arn

    def wait(self, execution_arn: str, timeout: float = 120.0) -> dict[str, Any]:
        """DescribeExecution once the execution has ended."""
        sfn = self.sfn
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout:g} s")
            time.sleep(0.05)

    def run(self, order: dict[str, Any] | str) -> dict[str, Any]:
        """Start the order and wait for its end; DescribeExecution's answer."""
        return self.wait(self.start(order))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The whole GetExecutionHistory, every page."""
        pages = self.sfn.get_paginator("get_execution_history")
        return [e for page in pages.paginate(executionArn=execution_arn) for e in page["events"]]

    def query(self, sql: str, *params: object) -> list[Any]:
        """Rows of the app's own database."""
        return query(self.data, sql, *params)

    def stock(self, item_id: str) -> int:
        """What the catalogue has in stock of ``item_id``."""
        return int(self.query("SELECT stock FROM catalogue WHERE item_id = ?", item_id)[0][0])


def deploy_app(server: Any, data: Path, smtp_port: int | None = None) -> Deployed:
    """Deploy the app on ``server`` (its functions' data in ``data``; mail to an SMTP
    server on 127.0.0.1:``smtp_port``, or to the Maildir without one)."""
    settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)} if smtp_port else {}
    data.mkdir(parents=True, exist_ok=True)
    machine = MAIN.deploy(
        server.client(), server.client("lambda"), data, settings=settings, code=application_zip()
    )
    return Deployed(server, data, machine)


def lambda_failures(history: list[dict[str, Any]], function: str) -> list[dict[str, Any]]:
    """The LambdaFunctionFailed details of the attempts on ``function``, in order."""
    scheduled: dict[int, str] = {}
    failed = []
    for event in history:
        if event["type"] == "LambdaFunctionScheduled":
            scheduled[event["id"]] = event["lambdaFunctionScheduledEventDetails"]["resource"]
        elif event["type"] == "LambdaFunctionFailed":
            # The failure follows its Started event, which follows Scheduled.
            resource = scheduled.get(event["previousEventId"] - 1, "")
            if resource.endswith(f":function:{function}"):
                failed.append(event["lambdaFunctionFailedEventDetails"])
    return failed
