"""``stepfn.run`` with functions given by their code: real Python and Node handlers in
warm workers, in-process callables beside them, and a Task's HeartbeatSeconds and
TimeoutSeconds ending a slow invocation as AWS does."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from function_support import write_tree

import stepfn
from stepfn import FunctionCode

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def task(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": ARN + name, "End": True, **fields}},
    }


def test_python_directory_and_node_zip(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "py",
        {
            "lambda_function.py": """
            def lambda_handler(event, context):
                return {"py": event["n"] + 1, "name": context.function_name}
        """
        },
    )
    archive = tmp_path / "node.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.mjs", "export const handler = async (e) => ({ node: e.py * 10 });\n")
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Task", "Resource": ARN + "py", "Next": "N"},
            "N": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "node", "Payload.$": "$"},
                "ResultSelector": {"out.$": "$.Payload"},
                "Next": "L",
            },
            "L": {"Type": "Task", "Resource": ARN + "local", "End": True},
        },
    }
    execution = stepfn.run(
        definition,
        {"n": 1},
        functions={
            "py": FunctionCode(str(tmp_path / "py")),
            "node": FunctionCode.parse(f"{archive}:nodejs20.x"),
            "local": lambda event, context: {"local": event["out"]},
        },
    )
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"local": {"node": 20}}


def test_a_handler_that_throws_fails_the_task_with_its_error(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "cb",
        {
            "index.js": """
            exports.handler = (event, context, callback) => {
              const error = new Error("no stock");
              error.name = "OutOfStock";
              callback(error);
            };
        """
        },
    )
    execution = stepfn.run(task("cb"), {}, functions={"cb": FunctionCode(str(tmp_path / "cb"))})
    assert execution.status == "FAILED"
    assert execution.error == "OutOfStock"
    assert '"errorMessage": "no stock"' in (execution.cause or "")


@pytest.mark.parametrize("limit", ["HeartbeatSeconds", "TimeoutSeconds"])
def test_a_slow_function_times_out_at_the_tasks_limit(tmp_path: Path, limit: str) -> None:
    write_tree(
        tmp_path / "slow",
        {
            "app.py": """
            import time

            def handler(event, context):
                time.sleep(60)
                return "late"
        """
        },
    )
    code = FunctionCode(str(tmp_path / "slow"), handler="app.handler", timeout=120)
    fields: dict[str, Any] = {limit: 1}
    if limit == "HeartbeatSeconds":
        fields["TimeoutSeconds"] = 100
    execution = stepfn.run(task("slow", **fields), {}, functions={"slow": code})
    assert (execution.status, execution.error) == ("FAILED", "States.Timeout")
    types = [event["type"] for event in execution.history]
    assert "LambdaFunctionTimedOut" in types and "LambdaFunctionSucceeded" not in types


def test_heartbeat_seconds_longer_than_the_call_do_not_stop_it(tmp_path: Path) -> None:
    write_tree(tmp_path / "quick", {"app.py": "def handler(event, context):\n    return 7\n"})
    code = FunctionCode(str(tmp_path / "quick"), handler="app.handler")
    execution = stepfn.run(task("quick", HeartbeatSeconds=30), {}, functions={"quick": code})
    assert (execution.status, execution.output) == ("SUCCEEDED", 7)
