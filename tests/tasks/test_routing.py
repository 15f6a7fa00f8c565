from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepfn.tasks.routing import AWS, Routing, RoutingError


def test_first_matching_route_wins_and_env_convention_is_the_fallback() -> None:
    routing = Routing.load(
        {"routes": [{"resource": "arn:aws:states:::sqs:*", "endpoint_url": "http://a:1"}]}
    )
    routing._environ = {"AWS_ENDPOINT_URL_DYNAMODB": "http://d:2", "AWS_ENDPOINT_URL": "http://e:3"}
    assert routing.target("arn:aws:states:::sqs:sendMessage", "SQS") == "http://a:1"
    assert routing.target("arn:aws:states:::dynamodb:putItem", "DynamoDB") == "http://d:2"
    assert routing.target("arn:aws:states:::aws-sdk:secretsmanager:x", "Secrets Manager") == (
        "http://e:3"
    )


def test_secrets_manager_env_name_uses_underscores() -> None:
    routing = Routing(environ={"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://s:1"})
    assert routing.target("arn:aws:states:::aws-sdk:secretsmanager:x", "Secrets Manager") == (
        "http://s:1"
    )


def test_nothing_configured_is_unrouted_unless_default_is_aws() -> None:
    assert Routing(environ={}).target("arn:aws:states:::sqs:sendMessage", "SQS") is None
    routing = Routing(default="aws", environ={})
    assert routing.target("arn:aws:states:::sqs:sendMessage", "SQS") == AWS
    assert routing.endpoint_url("arn:aws:states:::sqs:sendMessage", "SQS") is None


def test_yaml_and_json_files_load(tmp_path: Path) -> None:
    text = 'routes:\n  - resource: "arn:aws:states:::sns:*"\n    endpoint_url: "http://x:9"\n'
    (tmp_path / "r.yaml").write_text(text)
    (tmp_path / "r.json").write_text(json.dumps({"routes": [], "region": "eu-west-1"}))
    assert Routing.load(tmp_path / "r.yaml").routes[0].endpoint_url == "http://x:9"
    assert Routing.load(str(tmp_path / "r.json")).region == "eu-west-1"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"routes": {}}, "'routes' in the routing configuration must be a list"),
        ({"routes": [{"endpoint_url": "http://x"}]}, "routes[0] in the routing configuration"),
        ({"routes": [{"resource": "r", "endpoint_url": "ftp://x"}]}, "must be an http(s) URL"),
        ({"routes": [{"resource": "r", "color": 1}]}, "unknown fields: color"),
        ({"default": "cloud"}, "'default' in the routing configuration must be one of"),
    ],
)
def test_bad_configurations_say_what_and_where(config: dict, message: str) -> None:
    with pytest.raises(RoutingError) as caught:
        Routing.load(config)
    assert message in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RoutingError, match="cannot read the routing file"):
        Routing.load(tmp_path / "none.json")
