"""Loading and checking Step Functions Local mock configuration files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepfn.tasks.mock_config import (
    MockConfigError,
    load_mock_config,
    mock_config_from_env,
    parse_mock_config,
)

DATA = Path(__file__).with_name("data")
AWS_FILE = DATA / "MockConfigFile.json"


def test_the_aws_documentation_file_loads_with_its_ranges() -> None:
    config = load_mock_config(AWS_FILE)
    cases = config.test_cases["LambdaSQSIntegration"]
    assert sorted(cases) == ["HappyPath", "HybridPath", "RetryPath"]
    assert cases["HybridPath"] == {"LambdaState": "MockedLambdaSuccess"}
    retry = config.responses["MockedLambdaRetry"]
    assert [retry.at(n).error for n in range(3)] == [  # type: ignore[union-attr]
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
    ]
    fourth = retry.at(3)
    assert fourth is not None and fourth.returns and fourth.value["StatusCode"] == 200
    assert retry.at(4) is None


def test_the_environment_names_the_file(tmp_path: Path) -> None:
    assert mock_config_from_env({}) is None
    config = mock_config_from_env({"SFN_MOCK_CONFIG": str(AWS_FILE)})
    assert config is not None and "LambdaSQSIntegration" in config.test_cases
    other = mock_config_from_env({"LOCALSTACK_SFN_MOCK_CONFIG": str(AWS_FILE)})
    assert other is not None and other.source == str(AWS_FILE)


def _problems(raw: object) -> list[str]:
    with pytest.raises(MockConfigError) as info:
        parse_mock_config(raw, "mocks.json")
    assert "mocks.json" in str(info.value)
    return info.value.problems


def test_every_problem_is_reported_with_its_json_path() -> None:
    problems = _problems(
        {
            "StateMachines": {
                "SM": {"TestCases": {"Case": {"A": "Missing", "B": 3, "C": "Ok"}}},
                "Bad": {"Cases": {}},
            },
            "MockedResponses": {
                "Ok": {"0": {"Return": 1}},
                "BadKey": {"first": {"Return": 1}},
                "Both": {"0": {"Return": 1, "Throw": {"Error": "E"}}},
                "Neither": {"0": {}},
                "Overlap": {"0-2": {"Return": 1}, "2": {"Return": 2}},
                "Backwards": {"3-1": {"Return": 1}},
                "ThrowNoError": {"0": {"Throw": {"Cause": "c"}}},
                "Empty": {},
            },
            "Extra": 1,
        }
    )
    expected = [
        "/Extra: unknown field",
        "/StateMachines/SM/TestCases/Case/A: no mocked response 'Missing'",
        "/StateMachines/SM/TestCases/Case/B: must name a mocked response, not a number",
        "/StateMachines/Bad/Cases: unknown field",
        "/StateMachines/Bad/TestCases: must be an object, not null",
        "/MockedResponses/BadKey/first: the key must be an invocation number",
        "/MockedResponses/Both/0: must have exactly one of Return and Throw",
        "/MockedResponses/Neither/0: must have exactly one of Return and Throw",
        "/MockedResponses/Overlap: invocations 0-2 and 2 overlap",
        "/MockedResponses/Backwards/3-1: the range ends before it starts",
        "/MockedResponses/ThrowNoError/0/Throw/Error: must be a string",
        "/MockedResponses/Empty: must be a non-empty object",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected)


def test_a_file_that_is_not_json_or_missing_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"StateMachines": ', encoding="utf-8")
    with pytest.raises(MockConfigError, match=r"broken\.json.*is not JSON"):
        load_mock_config(broken)
    with pytest.raises(MockConfigError, match="cannot be read"):
        load_mock_config(tmp_path / "absent.json")
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([1]), encoding="utf-8")
    with pytest.raises(MockConfigError, match="must be a JSON object, not an array"):
        load_mock_config(listed)


def test_an_unknown_test_case_names_what_there_is() -> None:
    config = load_mock_config(AWS_FILE)
    with pytest.raises(MockConfigError, match=r"no test case 'Sad'.*HappyPath, HybridPath"):
        config.test_case("LambdaSQSIntegration", "Sad")
    with pytest.raises(MockConfigError, match="no state machine 'Other'"):
        config.test_case("Other", "HappyPath")
