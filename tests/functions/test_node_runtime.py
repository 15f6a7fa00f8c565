"""Node handlers in long-lived node processes: CommonJS and ES modules, async and callback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from function_support import call, make_zip, write_tree

from stepfn.functions import FunctionConfig, FunctionRuntime, InvocationResult, prepare_code

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

COMMONJS = {
    "index.js": """
        const helper = require("helper");
        console.log("init output");

        exports.handler = async (event, context) => {
          console.log("got", event);
          return { echo: event, helper: helper.name };
        };

        exports.callback = (event, context, callback) => {
          setTimeout(() => callback(null, { style: "callback", n: event.n }), 1);
        };

        exports.callbackError = (event, context, callback) => {
          callback(new Error("declined by callback"));
        };

        class PaymentDeclined extends Error {
          constructor(message) { super(message); this.name = "PaymentDeclined"; }
        }
        exports.throws = async () => { throw new PaymentDeclined("card refused"); };

        exports.context = async (event, context) => ({
          functionName: context.functionName,
          functionVersion: context.functionVersion,
          invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: context.memoryLimitInMB,
          awsRequestId: context.awsRequestId,
          logGroupName: context.logGroupName,
          logStreamName: context.logStreamName,
          waits: context.callbackWaitsForEmptyEventLoop,
          remaining: context.getRemainingTimeInMillis(),
          env: {
            name: process.env.AWS_LAMBDA_FUNCTION_NAME,
            region: process.env.AWS_REGION,
            handler: process.env._HANDLER,
            execution: process.env.AWS_EXECUTION_ENV,
            taskRoot: process.env.LAMBDA_TASK_ROOT,
            greeting: process.env.GREETING,
            nodePath: process.env.NODE_PATH,
          },
          pid: process.pid,
        });

        exports.hang = () => new Promise(() => {});
        exports.plain = (event, context) => 5;
        exports.legacy = (event, context) => {
          setTimeout(() => context.succeed({ late: true }), 20);
        };
        exports.exit = async () => { process.exit(2); };
        exports.pid = async (event) => {
          if (event.hang) await new Promise(() => {});
          if (event.exit) process.exit(2);
          return process.pid;
        };
        exports.circular = async () => { const a = {}; a.a = a; return a; };
    """,
    "node_modules/helper/index.js": "exports.name = 'helper from node_modules';\n",
    "legacy.cjs": "exports.handler = async () => 'cjs';\n",
    "esm.mjs": """
        import { readFileSync } from "node:fs";
        export const handler = async (event) => ({ esm: true, event });
    """,
}

ESM_PACKAGE = {
    "package.json": '{"type": "module"}\n',
    "index.js": """
        export async function handler(event, context) {
          console.log("esm log");
          return { module: "esm", id: context.awsRequestId };
        }
        export const broken = async () => { null.x; };
    """,
}


@pytest.fixture
def commonjs(tmp_path: Path) -> Path:
    """The CommonJS functions, deployed as a zip as Lambda takes them."""
    return Path(prepare_code(make_zip(COMMONJS), tmp_path / "cache").path)


def node_fn(code: Path, handler: str, **kwargs: object) -> FunctionConfig:
    return FunctionConfig("nodefn", "nodejs14.x", handler, str(code), **kwargs)  # type: ignore[arg-type]


def body(result: InvocationResult) -> object:
    return json.loads(result.payload)


def test_async_commonjs_handler_from_a_zip(runtime: FunctionRuntime, commonjs: Path) -> None:
    result = call(runtime, node_fn(commonjs, "index.handler"), b'{"order": 7}')
    assert result.succeeded
    assert body(result) == {"echo": {"order": 7}, "helper": "helper from node_modules"}
    assert call(runtime, node_fn(commonjs, "legacy.handler")).payload == b'"cjs"'


def test_callback_style(runtime: FunctionRuntime, commonjs: Path) -> None:
    result = call(runtime, node_fn(commonjs, "index.callback"), b'{"n": 3}')
    assert body(result) == {"style": "callback", "n": 3}
    failed = call(runtime, node_fn(commonjs, "index.callbackError"))
    assert failed.error_type == "Error"
    assert (body(failed) or {})["errorMessage"] == "declined by callback"  # type: ignore[index]


def test_es_modules(runtime: FunctionRuntime, commonjs: Path, tmp_path: Path) -> None:
    mjs = call(runtime, node_fn(commonjs, "esm.handler"), b"[1]")
    assert body(mjs) == {"esm": True, "event": [1]}
    package = write_tree(tmp_path / "esm", ESM_PACKAGE)
    result = call(runtime, node_fn(package, "index.handler"), request_id="req-esm")
    assert body(result) == {"module": "esm", "id": "req-esm"}
    assert "\treq-esm\tINFO\tesm log" in result.log
    broken = call(runtime, node_fn(package, "index.broken"))
    assert broken.error_type == "TypeError"


def test_plain_functions_end_when_their_event_loop_is_empty(
    runtime: FunctionRuntime, commonjs: Path
) -> None:
    # AWS ignores a non-promise return value: the answer is null, or what succeed() gives.
    assert call(runtime, node_fn(commonjs, "index.plain")).payload == b"null"
    assert body(call(runtime, node_fn(commonjs, "index.legacy"))) == {"late": True}


def test_a_thrown_error_is_nodes_error_document(runtime: FunctionRuntime, commonjs: Path) -> None:
    result = call(runtime, node_fn(commonjs, "index.throws"))
    assert result.function_error == "Unhandled" and result.error_type == "PaymentDeclined"
    document = body(result)
    assert isinstance(document, dict)
    assert list(document) == ["errorType", "errorMessage", "trace"]
    assert document["errorMessage"] == "card refused"
    assert document["trace"][0] == "PaymentDeclined: card refused"
    assert any("index.js" in line for line in document["trace"][1:])


def test_context_environment_and_node_path(runtime: FunctionRuntime, commonjs: Path) -> None:
    config = node_fn(commonjs, "index.context", environment={"GREETING": "hej"}, timeout=9)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:nodefn"
    seen = body(call(runtime, config, request_id="req-ctx"))
    assert isinstance(seen, dict)
    assert seen["functionName"] == "nodefn" and seen["functionVersion"] == "$LATEST"
    assert seen["invokedFunctionArn"] == arn
    assert seen["memoryLimitInMB"] == "128" and seen["awsRequestId"] == "req-ctx"
    assert seen["logGroupName"] == "/aws/lambda/nodefn"
    assert "/[$LATEST]" in seen["logStreamName"]
    assert seen["waits"] is True and 0 < seen["remaining"] <= 9000
    env = seen["env"]
    assert env["name"] == "nodefn" and env["region"] == "us-east-1"
    assert env["handler"] == "index.context" and env["execution"] == "AWS_Lambda_nodejs14.x"
    assert env["taskRoot"] == str(commonjs) and env["greeting"] == "hej"
    assert env["nodePath"].split(os.pathsep)[0] == str(commonjs / "node_modules")
    assert seen["pid"] != os.getpid()


def test_console_log_is_the_log(runtime: FunctionRuntime, commonjs: Path) -> None:
    config = node_fn(commonjs, "index.handler")
    first = call(runtime, config, b'{"a": 1}', request_id="req-1")
    lines = first.log.splitlines()
    assert lines[0] == "START RequestId: req-1 Version: $LATEST"
    assert any(line.endswith("\tundefined\tINFO\tinit output") for line in lines)
    assert any(line.endswith("\treq-1\tINFO\tgot { a: 1 }") for line in lines)
    assert lines[-2] == "END RequestId: req-1" and lines[-1].startswith("REPORT RequestId: req-1")
    second = call(runtime, config, b'{"a": 2}', request_id="req-2")
    assert "got { a: 2 }" in second.log and "got { a: 1 }" not in second.log


def test_timeout_and_exit_replace_the_worker(runtime: FunctionRuntime, commonjs: Path) -> None:
    config = node_fn(commonjs, "index.pid", timeout=1)
    warm = body(call(runtime, config))
    hung = call(runtime, config, b'{"hang": true}', request_id="req-h")
    assert body(hung) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: req-h Error: Task timed out after 1.00 seconds",
    }
    fresh = body(call(runtime, config))
    assert fresh != warm
    exited = call(runtime, config, b'{"exit": true}', request_id="req-x")
    assert body(exited) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: req-x Error: Runtime exited with error: exit status 2",
    }
    again = body(call(runtime, config))
    assert again not in (warm, fresh)
    assert body(call(runtime, config)) == again  # and it stays warm


def test_bad_handlers(runtime: FunctionRuntime, commonjs: Path) -> None:
    missing = call(runtime, node_fn(commonjs, "nothere.handler"))
    assert missing.error_type == "Runtime.ImportModuleError"
    assert "Cannot find module 'nothere'" in (body(missing) or {})["errorMessage"]  # type: ignore[index]
    absent = call(runtime, node_fn(commonjs, "index.absent"))
    assert absent.error_type == "Runtime.HandlerNotFound"
    assert (body(absent) or {})["errorMessage"] == "index.absent is undefined or not exported"  # type: ignore[index]
    circular = call(runtime, node_fn(commonjs, "index.circular"))
    assert circular.error_type == "Runtime.MarshalError"


def test_a_node_older_than_18_is_refused_clearly(tmp_path: Path, commonjs: Path) -> None:
    fake = tmp_path / "node16"
    fake.write_text("#!/bin/sh\necho v16.20.0\n")
    fake.chmod(0o755)
    with FunctionRuntime(node=str(fake)) as old:
        result = call(old, node_fn(commonjs, "index.handler"))
    assert result.service_error == "ServiceException"
    assert "need node 18 or later" in result.service_message
    assert "v16.20.0" in result.service_message
