"""Identity policies evaluated for tasks (``service/iam_tasks.py``): wildcards, Deny over
Allow, NotAction/NotResource, and statements with a Condition never allowing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.service.iam_tasks import evaluate, wildcard_match

FN = "arn:aws:lambda:us-east-1:123456789012:function:LambdaFunction1"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("*", "anything", True),
        ("arn:*:function:Lambda*", FN, True),
        ("arn:*:function:Other*", FN, False),
        ("lambda:Invoke?unction", "lambda:InvokeFunction", True),
        ("lambda:Invoke?", "lambda:InvokeFunction", False),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("", "", True),
    ],
)
def test_wildcards(pattern: str, value: str, matches: bool) -> None:
    assert wildcard_match(pattern, value) is matches


def test_the_seeds_policy_allows_invoking_any_function() -> None:
    seed = doc({"Action": ["lambda:InvokeFunction"], "Effect": "Allow", "Resource": "*"})
    assert evaluate([seed], "lambda:InvokeFunction", FN)


def test_actions_compare_without_case_resources_with_case() -> None:
    upper = doc({"Action": "LAMBDA:invokefunction", "Effect": "Allow", "Resource": FN})
    assert evaluate([upper], "lambda:InvokeFunction", FN)
    assert not evaluate([upper], "lambda:InvokeFunction", FN.lower())


def test_nothing_allowed_is_denied_and_an_explicit_deny_wins() -> None:
    assert not evaluate([], "lambda:InvokeFunction", FN)
    allow = doc({"Action": "lambda:*", "Effect": "Allow", "Resource": "*"})
    deny = doc({"Action": "lambda:InvokeFunction", "Effect": "Deny", "Resource": FN})
    assert not evaluate([allow, deny], "lambda:InvokeFunction", FN)


def test_not_action_not_resource_and_conditions() -> None:
    not_action = doc({"NotAction": "s3:*", "Effect": "Allow", "Resource": "*"})
    assert evaluate([not_action], "lambda:InvokeFunction", FN)
    not_resource = doc({"Action": "*", "Effect": "Allow", "NotResource": FN})
    assert not evaluate([not_resource], "lambda:InvokeFunction", FN)
    conditional = doc(
        {"Action": "*", "Effect": "Allow", "Resource": "*", "Condition": {"Bool": {"x": "y"}}}
    )
    assert not evaluate([conditional], "lambda:InvokeFunction", FN)
