"""The ``stepfn`` command, driven through click's CliRunner."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stepfn.cli import format_history, main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello.asl.json"
EXAMPLE_INPUT = REPO / "examples" / "hello.input.json"

HELLO_OUTPUT = {
    "headline": "Team platform greeted.",
    "greeted": 3,
    "greetings": ["Good morning, Ada!", "Hello, Grace!", "Good morning, Linus!"],
}


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def machine(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states)}


def assert_clean_error(result: Result, fragment: str) -> None:
    """Exit 1, the message on stderr, and no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert fragment in result.stderr
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------ general


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.startswith("stepfn, version ")


def test_help_lists_commands() -> None:
    result = invoke("-h")
    assert result.exit_code == 0
    assert "run" in result.output
    assert "validate" in result.output


def test_cli_docs_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", REPO / "scripts/gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docs = REPO / "docs" / "cli.md"
    assert docs.read_text(encoding="utf-8") == module.render(), (
        "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"
    )


# ----------------------------------------------------------------------------- validate


def test_validate_ok() -> None:
    result = invoke("validate", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.output == f"{EXAMPLE}: OK\n"


def test_validate_reports_every_problem_with_its_location(tmp_path: Path) -> None:
    bad = machine(
        ("Charge", {"Type": "Task", "Resource": "arn:aws:lambda:::function:f", "Next": "Nope"}),
        ("Other", {"Type": "Pass", "Next": "Missing"}),
    )
    path = write(tmp_path, "bad.json", bad)
    result = invoke("validate", path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert any("/States/Charge/Next" in line for line in lines)
    assert any("/States/Other/Next" in line for line in lines)


def test_validate_several_files(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", machine(("A", {"Type": "Succeed"})))
    bad = write(tmp_path, "bad.json", machine(("A", {"Type": "Pass", "Next": "B"})))
    result = invoke("validate", good, bad)
    assert result.exit_code == 1
    assert f"{good}: OK" in result.output
    assert f"{bad}: /States/A/Next" in result.output


def test_validate_bad_json(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{"StartAt": ')
    result = invoke("validate", path)
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}: ")
    assert len(result.output.splitlines()) == 1
    assert "Traceback" not in result.output


def test_validate_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    result = invoke("validate", missing)
    assert result.exit_code == 1
    assert result.output == f"{missing}: file {missing!r} does not exist\n"


def test_validate_needs_a_file() -> None:
    assert invoke("validate").exit_code == 2


# ---------------------------------------------------------------------------------- run


def test_run_the_bundled_example() -> None:
    result = invoke("run", str(EXAMPLE), "--input", f"@{EXAMPLE_INPUT}")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == HELLO_OUTPUT


def test_run_with_inline_input(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.json",
        machine(("A", {"Type": "Pass", "Parameters": {"got.$": "$.x"}, "End": True})),
    )
    result = invoke("run", path, "--input", '{"x": [1, 2]}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"got": [1, 2]}


def test_run_input_from_stdin(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", machine(("A", {"Type": "Pass", "End": True})))
    result = invoke("run", path, "--input", "@-", input='{"from": "stdin"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"from": "stdin"}


def test_run_failure_prints_error_and_cause(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fail.json",
        machine(("Boom", {"Type": "Fail", "Error": "Oops", "Cause": "it broke"})),
    )
    result = invoke("run", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "FAILED" in result.stderr
    assert "error: Oops" in result.stderr
    assert "cause: it broke" in result.stderr
    assert "Traceback" not in result.output


def test_run_name_is_visible_to_the_machine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ctx.json",
        machine(("A", {"Type": "Pass", "Parameters": {"n.$": "$$.Execution.Name"}, "End": True})),
    )
    result = invoke("run", path, "--name", "my-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"n": "my-run"}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--input", "{nope"], "--input is not valid JSON"),
        (["--input", "@does-not-exist.json"], "input file 'does-not-exist.json' does not exist"),
    ],
)
def test_run_bad_input(args: list[str], fragment: str) -> None:
    assert_clean_error(invoke("run", str(EXAMPLE), *args), fragment)


def test_run_bad_input_file(tmp_path: Path) -> None:
    path = write(tmp_path, "in.json", "[1,")
    assert_clean_error(invoke("run", str(EXAMPLE), "--input", f"@{path}"), "is not valid JSON")


def test_run_missing_file(tmp_path: Path) -> None:
    assert_clean_error(invoke("run", str(tmp_path / "none.json")), "does not exist")


def test_run_invalid_json_definition(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", "{ not json")
    assert_clean_error(invoke("run", path), "invalid definition")


def test_run_invalid_definition(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", machine(("A", {"Type": "Pass", "Next": "Nowhere"})))
    result = invoke("run", path)
    assert_clean_error(result, "/States/A/Next")
    assert len(result.stderr.splitlines()) == 1


def test_run_history_table(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", machine(("A", {"Type": "Pass", "End": True})))
    result = invoke("run", path, "--history")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {}
    table = result.stderr.splitlines()
    assert table[0].split() == ["ID", "ELAPSED", "TYPE", "STATE", "DETAIL"]
    assert "ExecutionStarted" in table[1]
    assert any("PassStateEntered" in line and " A " in f"{line} " for line in table)
    assert "ExecutionSucceeded" in table[-1]


def test_run_history_json(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", machine(("A", {"Type": "Pass", "End": True})))
    result = invoke("run", path, "--input", '{"a": 1}', "--history-json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "SUCCEEDED"
    assert document["output"] == {"a": 1}
    types = [event["type"] for event in document["history"]]
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_run_wait_is_instant_by_default(tmp_path: Path) -> None:
    path = write(
        tmp_path, "wait.json", machine(("W", {"Type": "Wait", "Seconds": 86400, "End": True}))
    )
    result = invoke("run", path, "--input", "[]")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_run_real_time(tmp_path: Path) -> None:
    path = write(tmp_path, "wait.json", machine(("W", {"Type": "Wait", "Seconds": 0, "End": True})))
    result = invoke("run", path, "--real-time", "--input", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == 1


def test_run_with_a_local_lambda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cli_test_handlers.py").write_text(
        "def shout(event, context):\n    return {'said': event['say'].upper()}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cli_test_handlers", raising=False)
    resource = "arn:aws:lambda:us-east-1:123456789012:function:shout"
    path = write(
        tmp_path, "task.json", machine(("T", {"Type": "Task", "Resource": resource, "End": True}))
    )
    result = invoke(
        "run", path, "--input", '{"say": "hi"}', "--function", "shout=cli_test_handlers:shout"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"said": "HI"}


@pytest.mark.integration
def test_run_with_functions_given_by_their_code(tmp_path: Path) -> None:
    py = tmp_path / "py"
    py.mkdir()
    (py / "shout.py").write_text("def go(event, context):\n    return event['say'].upper()\n")
    archive = tmp_path / "node.zip"
    import zipfile

    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.js", "exports.handler = async (e) => ({ echoed: e });\n")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:"
    path = write(
        tmp_path,
        "two.json",
        machine(
            ("P", {"Type": "Task", "Resource": arn + "py", "ResultPath": "$.said", "Next": "N"}),
            ("N", {"Type": "Task", "Resource": arn + "node", "End": True}),
        ),
    )
    result = invoke(
        "run", path, "--input", '{"say": "hi"}',
        "--function", f"py={py}:python3.12:shout.go",
        "--function", f"node={archive}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"echoed": {"say": "hi", "said": "HI"}}


def test_run_function_code_without_its_handler(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    result = invoke("run", str(EXAMPLE), "--function", f"f={tmp_path / 'fn'}")
    assert_clean_error(result, "there is no lambda_function.py in it")
    result = invoke("run", str(EXAMPLE), "--function", f"f={tmp_path / 'nothing.zip'}")
    assert_clean_error(result, "neither a directory nor a zip file")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("no-equals", "expected NAME=MODULE:FUNCTION"),
        ("f=no_such_module_here:x", "cannot import no_such_module_here"),
        ("f=json:no_such_function", "json has no no_such_function()"),
    ],
)
def test_run_bad_function_spec(spec: str, fragment: str) -> None:
    result = invoke("run", str(EXAMPLE), "--function", spec)
    assert result.exit_code in (1, 2)
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_format_history_handles_any_timestamp_shape() -> None:
    events = [
        {"id": 1, "timestamp": 100.0, "type": "ExecutionStarted"},
        {
            "id": 2,
            "timestamp": "1970-01-01T00:01:41.500Z",
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": "A", "input": "{}"},
        },
        {
            "id": 3,
            "timestamp": None,
            "type": "ExecutionFailed",
            "executionFailedEventDetails": {"error": "E", "cause": "x" * 200},
        },
    ]
    lines = format_history(events).splitlines()
    assert "0.000s" in lines[1]
    assert "1.500s" in lines[2]
    assert lines[2].split()[3] == "A"
    assert lines[3].endswith("...")
    assert format_history([]).split() == ["ID", "ELAPSED", "TYPE", "STATE", "DETAIL"]


# --------------------------------------------------------------------------------- logs


def logged_store(tmp_path: Path) -> tuple[str, list[str]]:
    """A store where two executions of a logging state machine ran: (path, their ARNs)."""
    from stepfn.clock import VirtualClock
    from stepfn.service.engine import Engine

    path = str(tmp_path / "stepfn.db")
    engine = Engine.open(path, clock=VirtualClock())
    try:
        arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/cli:*"
        created = engine.create_state_machine(
            name="cli",
            definition=json.dumps(machine(("P", {"Type": "Pass", "End": True}))),
            roleArn="arn:aws:iam::123456789012:role/r",
            loggingConfiguration={
                "level": "ALL",
                "includeExecutionData": True,
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
            },
        )
        executions = [
            engine.start_execution(stateMachineArn=created["stateMachineArn"], input="{}")[
                "executionArn"
            ]
            for _ in range(2)
        ]
        engine.run_until_idle()
    finally:
        engine.close()
    return path, executions


def test_logs_prints_one_json_record_per_line(tmp_path: Path) -> None:
    path, executions = logged_store(tmp_path)
    result = invoke("logs", "--db", path, "/aws/vendedlogs/states/cli")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 8
    assert {r["execution_arn"] for r in records} == set(executions)
    assert records[0]["type"] == "ExecutionStarted"


def test_logs_of_one_execution_or_stream(tmp_path: Path) -> None:
    path, executions = logged_store(tmp_path)
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/cli:*"
    result = invoke("logs", "--db", path, group, "--execution", executions[1])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["type"] for r in records] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert {r["execution_arn"] for r in records} == {executions[1]}
    missing = invoke("logs", "--db", path, "/aws/vendedlogs/states/cli", "--stream", "nope")
    assert_clean_error(missing, "The specified log stream does not exist.")


def test_logs_refuses_a_missing_store_or_group(tmp_path: Path) -> None:
    assert_clean_error(
        invoke("logs", "--db", str(tmp_path / "none.db"), "g"), "there is no store at"
    )
    assert not (tmp_path / "none.db").exists()
    path, _ = logged_store(tmp_path)
    assert_clean_error(
        invoke("logs", "--db", path, "other"),
        "log group 'other': The specified log group does not exist.",
    )


# --- what reaches the terminal, and bad option values ----------------------------------------

ESCAPE = "\x1b[2J\x07"  # clear the screen, ring the bell


def test_run_history_escapes_control_characters(tmp_path: Path) -> None:
    name = f"Step{ESCAPE}\x9b"
    path = write(
        tmp_path,
        "m.json",
        machine(
            (name, {"Type": "Pass", "Result": f"out{ESCAPE}", "Next": "F"}),
            ("F", {"Type": "Fail", "Error": f"E{ESCAPE}", "Cause": f"line one\nline{ESCAPE}"}),
        ),
    )
    result = invoke("run", path, "--history")
    assert result.exit_code == 1
    for stream in (result.stdout, result.stderr):
        assert not any(char in stream for char in "\x1b\x07\x9b"), stream
    assert "Step\\x1b[2J\\x07\\x9b" in result.stderr  # the state name, in the table
    assert '"out\\u001b[2J\\u0007"' in result.stderr  # its output, as JSON, in the detail
    assert "error: E\\x1b[2J\\x07" in result.stderr
    assert "cause: line one\nline\\x1b[2J\\x07" in result.stderr  # a cause keeps its lines


def test_run_output_json_escapes_c1_controls_and_stays_json(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", machine(("A", {"Type": "Pass", "End": True})))
    value = {"k\x9b": f"v{ESCAPE}\x7f\x85"}
    for flag in ([], ["--history-json"]):
        result = invoke("run", path, "--input", json.dumps(value, ensure_ascii=False), *flag)
        assert result.exit_code == 0, result.output
        assert not any(char in result.stdout for char in "\x1b\x07\x9b\x7f\x85")
        document = json.loads(result.stdout)
        assert (document if not flag else document["output"]) == value


def test_validate_escapes_control_characters(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", machine((f"A{ESCAPE}", {"Type": "Pass", "Next": "B"})))
    result = invoke("validate", path)
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "A\\x1b[2J\\x07" in result.output


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_run_input_nested_too_deep(depth: int) -> None:
    deep = "[" * depth + "]" * depth
    assert_clean_error(
        invoke("run", str(EXAMPLE), "--input", deep),
        "--input is not valid input: Document nesting depth exceeds the maximum allowed",
    )


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_run_definition_nested_too_deep(tmp_path: Path, depth: int) -> None:
    result_value = "[" * depth + "]" * depth
    text = '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Result":' + result_value
    path = write(tmp_path, "deep.json", text + "}}}")
    assert_clean_error(invoke("run", path), "Document nesting depth exceeds the maximum allowed")
    result = invoke("validate", path)
    assert result.exit_code == 1 and "nesting depth" in result.output


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "eighty", "80.5"])
def test_server_port_out_of_range_is_a_clean_error(port: str) -> None:
    result = invoke("server", "--db", "memory://", "--port", port)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--port'" in result.stderr
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_server_bad_drain_timeout_is_a_clean_error(value: str) -> None:
    result = invoke("server", "--db", "memory://", "--drain-timeout", value)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--drain-timeout'" in result.stderr


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("missing/dir/x.db", "unable to open database file"),
        ("a-directory", "unable to open database file"),
        ("not-a-db.db", "is not a SQLite database"),
    ],
)
def test_server_bad_store_path_is_a_clean_error(tmp_path: Path, where: str, fragment: str) -> None:
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "not-a-db.db").write_text("this is not SQLite " * 20)
    result = invoke("server", "--db", str(tmp_path / where), "--port", "0")
    assert_clean_error(result, "cannot open the store")
    assert fragment in result.stderr
