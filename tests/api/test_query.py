"""The Query protocol's request and answer shapes (``api/query.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from stepfn.api.query import IAM_NAMESPACE, error_document, result_document, unflatten


def test_flattened_lists_and_structures() -> None:
    body = "Action=TagRole&RoleName=r&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=1"
    params = unflatten(parse_qsl(body, keep_blank_values=True))
    assert params == {
        "Action": "TagRole",
        "RoleName": "r",
        "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b"}],
    }
    assert unflatten([("TagKeys.member.1", "x"), ("TagKeys.member.10", "z")]) == {
        "TagKeys": ["x", "z"]
    }


def test_answers_in_aws_shapes() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = result_document(
        "GetRole", IAM_NAMESPACE, {"Role": {"RoleName": "a<b", "CreateDate": when, "T": [1]}}, "id"
    )
    assert text == (
        f'<GetRoleResponse xmlns="{IAM_NAMESPACE}"><GetRoleResult><Role>'
        "<RoleName>a&lt;b</RoleName><CreateDate>2024-01-02T03:04:05Z</CreateDate>"
        "<T><member>1</member></T></Role></GetRoleResult>"
        "<ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></GetRoleResponse>"
    )
    assert "<Code>NoSuchEntity</Code>" in error_document(IAM_NAMESPACE, "NoSuchEntity", "m", "i")
    assert "<Type>Sender</Type>" in error_document(IAM_NAMESPACE, "NoSuchEntity", "m", "i")
