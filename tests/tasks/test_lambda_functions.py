"""The asynchronous Lambda adapter: state machines whose Tasks run real handlers in workers."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from stepfn.durable.local import Execution, run
from stepfn.functions import FunctionConfig, FunctionRuntime
from stepfn.functions.registry import FunctionRegistry
from stepfn.interp.context import execution_info
from stepfn.tasks.base import Registry, TaskOutcome, TaskRequest
from stepfn.tasks.lambda_functions import LambdaFunctions
from stepfn.tasks.lambda_local import LocalLambda

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
INVOKE = "arn:aws:states:::lambda:invoke"

PYTHON = """
    import time

    class CardDeclined(Exception):
        pass

    def double(event, context):
        return {"n": event["n"] * 2, "version": context.function_version}

    def echo(event, context):
        return event

    def decline(event, context):
        raise CardDeclined("card refused")

    def sleep(event, context):
        time.sleep(60)
        return event
"""

NODE = """
    exports.handler = async (event, context) => ({ node: true, got: event });
"""


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[tuple[FunctionRegistry, LambdaFunctions]]:
    py = tmp_path / "py"
    py.mkdir()
    (py / "app.py").write_text(dedent(PYTHON))
    node = tmp_path / "node"
    node.mkdir()
    (node / "index.js").write_text(dedent(NODE))
    registry = FunctionRegistry()
    for name, handler in [("double", "double"), ("echo", "echo"), ("decline", "decline")]:
        registry.put(FunctionConfig(name, "python3.12", f"app.{handler}", str(py)))
    registry.put(FunctionConfig("sleeper", "python3.12", "app.sleep", str(py), timeout=120))
    registry.put(FunctionConfig("nodeecho", "nodejs14.x", "index.handler", str(node)))
    registry.publish("double")
    registry.set_alias("double", "live", "1")
    runtime = FunctionRuntime(pool_size=2)
    adapter = LambdaFunctions(registry.get, runtime)
    yield registry, adapter
    runtime.close()


def execute(adapter: LambdaFunctions, definition: dict[str, Any], input: Any = None) -> Execution:
    return run(definition, input, registry=Registry([adapter]))


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}},
    }


def test_a_function_arn_returns_the_handlers_result(functions: Any) -> None:
    _, adapter = functions
    ex = execute(adapter, task(ARN + "double"), {"n": 21})
    assert ex.status == "SUCCEEDED" and ex.output == {"n": 42, "version": "$LATEST"}
    qualified = execute(adapter, task(ARN + "double:live"), {"n": 1})
    assert qualified.output == {"n": 2, "version": "1"}


def test_lambda_invoke_gives_the_invoke_response(functions: Any) -> None:
    _, adapter = functions
    definition = task(INVOKE, Parameters={"FunctionName": "echo", "Payload.$": "$"})
    ex = execute(adapter, definition, {"a": 1})
    assert ex.status == "SUCCEEDED"
    local = LocalLambda({"echo": lambda e, c: e}).invoke(
        TaskRequest(
            "t",
            INVOKE,
            {"FunctionName": "echo", "Payload": {"a": 1}},
            "T",
            execution_info("e", {}, 0.0),
        )
    )
    assert (
        set(ex.output)
        == set(local.output)
        == {"ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}
    )
    assert ex.output["Payload"] == {"a": 1} and ex.output["StatusCode"] == 200
    headers = ex.output["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(len(json.dumps({"a": 1})))


def test_a_null_payload_reaches_the_handler_as_an_empty_object(functions: Any) -> None:
    _, adapter = functions
    definition = task(INVOKE, Parameters={"FunctionName": "echo", "Payload": None})
    ex = execute(adapter, definition)
    assert ex.output["Payload"] == {}
    assert ex.output["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "2"


def test_qualifier_parameter_and_node(functions: Any) -> None:
    _, adapter = functions
    params = {"FunctionName": "double", "Qualifier": "live", "Payload": {"n": 4}}
    ex = execute(adapter, task(INVOKE, Parameters=params))
    assert ex.output["Payload"] == {"n": 8, "version": "1"}
    assert ex.output["ExecutedVersion"] == "1"
    node = execute(adapter, task(ARN + "nodeecho"), {"x": [1]})
    assert node.output == {"node": True, "got": {"x": [1]}}


def test_a_thrown_error_is_caught_by_its_type(functions: Any) -> None:
    _, adapter = functions
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": ARN + "decline",
                "Catch": [{"ErrorEquals": ["CardDeclined"], "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    ex = execute(adapter, definition)
    assert ex.status == "SUCCEEDED" and ex.output["Error"] == "CardDeclined"
    cause = ex.output["Cause"]
    assert cause.startswith('{"errorMessage": "card refused", "errorType": "CardDeclined"')
    document = json.loads(cause)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    failed = execute(adapter, task(INVOKE, Parameters={"FunctionName": "decline"}))
    assert failed.status == "FAILED" and failed.error == "CardDeclined"
    assert failed.cause is not None and failed.cause.startswith('{"errorMessage":"card refused"')


def test_unknown_functions_fail_as_lambda_local_does(functions: Any) -> None:
    _, adapter = functions
    ex = execute(adapter, task(ARN + "missing"))
    local = run(task(ARN + "missing"), functions={})
    assert ex.status == local.status == "FAILED"
    assert ex.error == local.error == "Lambda.ResourceNotFoundException"
    assert "function:missing:$LATEST" in (ex.cause or "")


def test_timeout_seconds_stops_a_slow_handler(functions: Any) -> None:
    _, adapter = functions
    ex = execute(adapter, task(ARN + "sleeper", TimeoutSeconds=1), {"slow": True})
    assert ex.status == "FAILED" and ex.error == "States.Timeout"
    assert "LambdaFunctionTimedOut" in [event.type for event in ex.events]
    invoke = execute(
        adapter, task(INVOKE, TimeoutSeconds=1, Parameters={"FunctionName": "sleeper"})
    )
    assert invoke.error == "States.Timeout" and invoke.cause in ("", None)
    assert "TaskTimedOut" in [event.type for event in invoke.events]


def test_start_does_not_block_and_reports_once(functions: Any) -> None:
    _, adapter = functions
    outcomes: list[TaskOutcome] = []
    ended = threading.Semaphore(0)

    def done(outcome: TaskOutcome) -> None:
        outcomes.append(outcome)
        ended.release()

    info = execution_info("e", {}, 0.0)
    for i in range(8):
        request = TaskRequest(f"tok-{i}", ARN + "double", {"n": i}, "T", info)
        adapter.start(request, done)
    for _ in range(8):
        assert ended.acquire(timeout=60)
    assert sorted(o.output["n"] for o in outcomes) == [0, 2, 4, 6, 8, 10, 12, 14]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_errors_carry_nodes_document(functions: Any, tmp_path: Path) -> None:
    registry, adapter = functions
    code = tmp_path / "nodeerr"
    code.mkdir()
    (code / "index.js").write_text(
        "exports.handler = async () => { throw new RangeError('x'); };\n"
    )
    registry.put(FunctionConfig("nodeerr", "nodejs20.x", "index.handler", str(code)))
    ex = execute(adapter, task(ARN + "nodeerr"))
    assert ex.error == "RangeError"
    assert list(json.loads(ex.cause or "{}")) == ["errorType", "errorMessage", "trace"]
