"""FunctionConfig: defaults, validation with clear errors, Lambda's configuration shape."""

from __future__ import annotations

import re

import pytest

from stepfn.functions import FunctionConfig, FunctionConfigError


def test_defaults_are_lambdas() -> None:
    config = FunctionConfig("orders", "nodejs14.x", "index.handler", "code")
    assert (config.timeout, config.memory_size, config.version) == (3, 128, "$LATEST")
    assert config.reserved_concurrency is None
    assert config.is_node and not config.is_python
    shape = config.describe("us-east-1", "123456789012")
    assert shape["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:orders"
    assert shape["Timeout"] == 3 and shape["Runtime"] == "nodejs14.x"


@pytest.mark.parametrize("runtime", ["python3.9", "python3.13", "nodejs14.x", "nodejs20.x"])
def test_known_runtimes(runtime: str) -> None:
    handler = "app.handler" if runtime.startswith("python") else "index.handler"
    assert FunctionConfig("f", runtime, handler, "code").runtime == runtime


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"runtime": "ruby3.2"}, "Runtime 'ruby3.2' is not supported"),
        ({"handler": "handler"}, "Handler 'handler' must be 'module.function'"),
        ({"handler": "app.1x"}, "must be 'module.function'"),
        ({"name": "bad name"}, "FunctionName 'bad name'"),
        ({"timeout": 0}, "Timeout 0"),
        ({"memory_size": 64}, "MemorySize 64"),
        ({"version": "v1"}, "Version 'v1'"),
        ({"reserved_concurrency": -1}, "ReservedConcurrentExecutions -1"),
        ({"environment": {"1X": "a"}}, "Environment variable name '1X'"),
        ({"environment": {"X": 1}}, "Environment variable X must be a string"),
    ],
)
def test_bad_configs_are_refused_naming_the_field(kwargs: dict, message: str) -> None:
    fields = {"name": "f", "runtime": "python3.12", "handler": "app.handler", "code_path": "c"}
    fields.update(kwargs)
    with pytest.raises(FunctionConfigError, match=re.escape(message)) as caught:
        FunctionConfig(**fields)
    assert str(caught.value).startswith(f"Function '{fields['name']}': ")


def test_node_handler_syntax() -> None:
    assert FunctionConfig("f", "nodejs18.x", "src/app.main", "c").handler == "src/app.main"
    with pytest.raises(FunctionConfigError, match=re.escape("must be 'file.export'")):
        FunctionConfig("f", "nodejs18.x", "index", "c")


def test_environment_is_copied() -> None:
    env = {"A": "1"}
    config = FunctionConfig("f", "python3.12", "app.handler", "c", environment=env)
    env["A"] = "2"
    assert config.environment == {"A": "1"}
