"""The pytest plugin: its fixtures here, and in a fresh project that only installs stepfn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from stepfn.testing.history import state_input, state_output, states_entered

from .handlers import double

DATA = Path(__file__).with_name("data")
ROLE = "arn:aws:iam::123456789012:role/test"
FIVE_STATES = {
    "StartAt": "Double",
    "States": {
        "Double": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 86400, "Next": "Big"},
        "Big": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Yes"}],
            "Default": "No",
        },
        "Yes": {"Type": "Pass", "Result": "big", "End": True},
        "No": {"Type": "Pass", "Result": "small", "End": True},
    },
}


def wait_done(client: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        described: dict[str, Any] = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


@pytest.mark.integration
@pytest.mark.stepfn_server(functions={"double": double})
def test_the_server_fixture_runs_a_day_long_wait_at_once(stepfn_server: Any) -> None:
    sfn = stepfn_server.client()
    sm = sfn.create_state_machine(name="m", definition=json.dumps(FIVE_STATES), roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"n": 3}')[
        "executionArn"
    ]
    described = wait_done(sfn, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == "big"
    history = sfn.get_execution_history(executionArn=arn)
    assert states_entered(history) == ["Double", "Pause", "Big", "Yes"]
    assert state_input(history, "Double") == {"n": 3}
    assert state_output(history, "Double") == {"n": 6}
    with pytest.raises(LookupError, match="state 'No'"):
        state_input(history, "No")
    events = history["events"]
    assert (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds() >= 86400


@pytest.mark.integration
def test_the_factory_starts_servers_with_a_mock_file(stepfn_server_factory: Any) -> None:
    server = stepfn_server_factory(mock_config=DATA / "MockConfigFile.json")
    sfn = server.client()
    definition = (DATA / "LambdaSQSIntegration.asl.json").read_text(encoding="utf-8")
    sm = sfn.create_state_machine(name="LambdaSQSIntegration", definition=definition, roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"] + "#RetryPath")["executionArn"]
    described = wait_done(sfn, arn)
    assert described["status"] == "SUCCEEDED", described
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in events].count("TaskFailed") == 3
    with pytest.raises(sfn.exceptions.ClientError, match="no test case 'Nope'"):
        sfn.start_execution(stateMachineArn=sm["stateMachineArn"] + "#Nope")


@pytest.mark.integration
def test_a_malformed_mock_file_stops_the_server_with_where_and_what(
    stepfn_server_factory: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "mocks.json"
    bad.write_text('{"MockedResponses": {"R": {"zero": {"Return": 1}}}}', encoding="utf-8")
    with pytest.raises(RuntimeError) as info:
        stepfn_server_factory(mock_config=bad)
    text = str(info.value)
    assert "mocks.json" in text and "/MockedResponses/R/zero" in text


@pytest.mark.stepfn_server(functions={"double": double})
def test_the_engine_fixture_runs_on_a_virtual_clock(stepfn_engine: Any) -> None:
    sm = stepfn_engine.create_state_machine(
        name="m", definition=json.dumps(FIVE_STATES), roleArn=ROLE
    )
    arn = stepfn_engine.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"n": 1}')[
        "executionArn"
    ]
    stepfn_engine.run_until_idle()
    described = stepfn_engine.describe_execution(executionArn=arn)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '"small"')


FRESH_TEST = """
import json
import time

import pytest

from stepfn.testing.history import states_entered

DEFINITION = {
    "StartAt": "Hello",
    "States": {
        "Hello": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:hello",
                  "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 3600, "End": True},
    },
}


def hello(event, context):
    return {"greeting": "hello " + event["who"]}


@pytest.mark.stepfn_server(functions={"hello": hello})
def test_hello(stepfn_server):
    sfn = stepfn_server.client()
    sm = sfn.create_state_machine(
        name="hello", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::1:role/r"
    )
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"who": "you"}')[
        "executionArn"
    ]
    for _ in range(3000):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.02)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"greeting": "hello you"}
    assert states_entered(sfn.get_execution_history(executionArn=arn)) == ["Hello", "Nap"]
"""


@pytest.mark.integration
@pytest.mark.acceptance
def test_the_plugin_works_in_a_fresh_project(tmp_path: Path) -> None:
    (tmp_path / "test_fresh.py").write_text(textwrap.dedent(FRESH_TEST), encoding="utf-8")
    result = _pytest_in(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


SPARES_TEST = """
import time

ran = []


def test_one(stepfn_server):
    ran.append((stepfn_server.process.pid, stepfn_server.launched, time.monotonic()))


def test_two(stepfn_server):
    ran.append((stepfn_server.process.pid, stepfn_server.launched, time.monotonic()))
    time.sleep(0.5)
    ran.append((None, None, time.monotonic()))


def test_three(stepfn_server):
    # A fresh process and store, started while test_two ran.
    assert stepfn_server.process.pid not in {pid for pid, _, _ in ran}
    assert stepfn_server.client().list_state_machines()["stateMachines"] == []
    assert stepfn_server.launched < ran[-1][2]


def test_other_options(stepfn_server_factory):
    # Options not seen before: a server of its own, started now.
    server = stepfn_server_factory(wait_time_scale=0.5)
    assert server.launched > ran[-1][2]
"""


@pytest.mark.integration
@pytest.mark.acceptance
def test_the_next_server_starts_while_the_test_before_it_runs(tmp_path: Path) -> None:
    (tmp_path / "test_spares.py").write_text(SPARES_TEST, encoding="utf-8")
    result = _pytest_in(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def _pytest_in(project: Path) -> subprocess.CompletedProcess[str]:
    """pytest run in ``project`` as its own user would run it (none of this session's
    pytest or import-path settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHONPATH"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
