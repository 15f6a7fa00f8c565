"""``stepfn function``: create and list on a store, invoke and delete over a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepfn.cli import main

from .helpers import start_server, stop_server

pytestmark = pytest.mark.integration


def test_create_list_invoke_delete(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "lambda_function.py").write_text(
        "import os\ndef lambda_handler(event, context):\n"
        "    return {'got': event, 'k': os.environ['K']}\n"
    )
    live = start_server(tmp_path)
    try:
        runner = CliRunner()
        db = str(tmp_path / "stepfn.db")
        created = runner.invoke(
            main, ["function", "create", "hello", "--code", str(code), "--env", "K=v", "--db", db]
        )
        assert created.exit_code == 0, created.output
        assert json.loads(created.output)["Handler"] == "lambda_function.lambda_handler"
        listed = runner.invoke(main, ["function", "list", "--endpoint-url", live.url])
        assert listed.exit_code == 0, listed.output
        assert "hello\tpython3.12\tlambda_function.lambda_handler" in listed.output
        invoked = runner.invoke(
            main,
            ["function", "invoke", "hello", "--payload", '{"a": 1}', "--endpoint-url", live.url],
        )
        assert invoked.exit_code == 0, invoked.output
        assert json.loads(invoked.output) == {"got": {"a": 1}, "k": "v"}
        again = runner.invoke(
            main, ["function", "create", "hello", "--code", str(code), "--db", db]
        )
        assert again.exit_code == 1 and "ResourceConflictException" in again.output
        deleted = runner.invoke(main, ["function", "delete", "hello", "--endpoint-url", live.url])
        assert deleted.exit_code == 0, deleted.output
        listed = runner.invoke(main, ["function", "list", "--db", db])
        assert "hello" not in listed.output
    finally:
        stop_server(live)


def test_bad_code_path_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["function", "create", "x", "--code", str(tmp_path / "missing"), "--db", ":memory:"],
    )
    assert result.exit_code == 2 and "neither a directory nor a zip" in result.output
