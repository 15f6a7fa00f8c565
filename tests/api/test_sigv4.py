"""``--auth sigv4``: requests signed by real SDKs are verified; wrong ones are refused
with AWS's codes and texts (status 400)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from stepfn.api.app import Request
from stepfn.api.sigv4 import (
    CredentialsError,
    SigV4,
    canonical_request,
    load_credentials,
    signing_key,
    string_to_sign,
)
from stepfn.errors import ServiceError

from .helpers import KEY_ID, SECRET, Live, client, start_server, stop_server


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server that verifies signatures against one known key."""
    served = start_server(tmp_path_factory.mktemp("sigv4"), auth=SigV4({KEY_ID: SECRET}))
    yield served
    stop_server(served)


def refusal(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_the_signing_steps_give_aws_test_suite_signature() -> None:
    # "get-vanilla" of AWS's Signature Version 4 test suite.
    canonical = canonical_request(
        "GET",
        "/",
        {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"},
        ["host", "x-amz-date"],
        hashlib.sha256(b"").hexdigest(),
    )
    text = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical)
    key = signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service"
    )
    signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    assert signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


@pytest.mark.parametrize("path", ["/", "/prefix/a b/%41", "/x/../y/"])
def test_what_botocore_signs_is_accepted(path: str) -> None:
    request = AWSRequest(
        method="POST",
        url=f"http://localhost:8083{path}?b=2&a=1&a=%20",
        data=b'{"maxResults": 1}',
        headers={"X-Amz-Target": "AWSStepFunctions.ListActivities"},
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "states", "eu-west-1").add_auth(request)
    split = request.url.split("//", 1)[1]
    target = split[split.index("/") :]
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "localhost:8083"
    body = request.body if isinstance(request.body, bytes) else b""
    SigV4({KEY_ID: SECRET}).check(Request("POST", target, headers, body))
    with pytest.raises(ServiceError) as info:
        SigV4({KEY_ID: SECRET}).check(Request("POST", target, headers, body + b" "))
    assert info.value.code == "InvalidSignatureException"


def test_a_signed_client_is_served(signed: Live) -> None:
    sfn = client(signed.url)
    assert "activities" in sfn.list_activities()
    sfn.create_activity(name="signed")


def test_an_unknown_access_key(signed: Live) -> None:
    stranger = client(signed.url, credentials=("AKIDSTRANGER", SECRET))
    assert refusal(stranger.list_activities) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        400,
    )


def test_a_wrong_secret(signed: Live) -> None:
    forger = client(signed.url, credentials=(KEY_ID, "not-the-secret"))
    assert refusal(forger.list_activities) == (
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service "
        "documentation for details.",
        400,
    )


def test_no_signature_at_all(signed: Live) -> None:
    status, _, body = signed.post("{}")
    assert (status, body) == (
        400,
        {
            "__type": "MissingAuthenticationTokenException",
            "message": "Missing Authentication Token",
        },
    )
    status, _, body = signed.post("{}", headers={"Authorization": "AWS4-HMAC-SHA256 Nonsense"})
    assert (status, body["__type"]) == (400, "IncompleteSignatureException")


def test_health_needs_no_signature(signed: Live) -> None:
    assert signed.post(b"", None, method="GET", path="/health")[0] == 200


def test_a_request_signed_too_long_ago(signed: Live) -> None:
    sfn = client(signed.url)
    checker = signed.server.api.auth
    assert isinstance(checker, SigV4)
    real_now = checker.now
    checker.now = lambda: real_now() + 3600
    try:
        code, message, status = refusal(sfn.list_activities)
    finally:
        checker.now = real_now
    assert (code, status) == ("InvalidSignatureException", 400)
    assert message.startswith("Signature expired: ") and message.endswith(" - 15 min.)")


def test_credentials_files(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\naws_access_key_id = AKID1\naws_secret_access_key = s1\n"
        "[other]\naws_access_key_id=AKID2\naws_secret_access_key=s2\n[incomplete]\nregion=x\n"
    )
    assert load_credentials(path) == {"AKID1": "s1", "AKID2": "s2"}
    path.write_text("[default]\nregion = eu-west-1\n")
    with pytest.raises(CredentialsError, match="has no profile with both"):
        load_credentials(path)
    path.write_text("not an ini file")
    with pytest.raises(CredentialsError, match="is not a credentials file"):
        load_credentials(path)
    with pytest.raises(CredentialsError, match="cannot read"):
        load_credentials(tmp_path / "missing")
