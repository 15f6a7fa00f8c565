"""The service model the API validates with, and the validator itself (no server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.errors import ServiceError
from stepfn.validation import model
from stepfn.validation.requests import Validator, java_length

BUNDLED = model.load(prefer_botocore=False)


def check(operation: str, params: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ServiceError) as info:
        Validator(BUNDLED).request(operation, params)
    return info.value.code, info.value.message


def test_the_bundled_model_is_botocores_trimmed() -> None:
    path = model.botocore_model_path()
    if path is None:
        pytest.skip("botocore is not installed")
    raw = model._read_json(path)
    assert model.trim(raw) == json.loads(model.BUNDLED.read_text(encoding="utf-8")), (
        "regenerate it: python -m stepfn.validation.model"
    )


def test_the_model_has_the_37_operations_and_their_host_prefixes() -> None:
    assert len(BUNDLED.operations) == 37
    prefixed = {name for name, op in BUNDLED.operations.items() if op.host_prefix}
    assert prefixed == {"StartSyncExecution", "TestState"}
    assert model.load().source.startswith(("botocore", "bundled"))


def test_a_clean_request_keeps_known_members_only() -> None:
    cleaned = Validator(BUNDLED).request(
        "CreateActivity",
        {"name": "a", "tags": [{"key": "k", "value": "v", "x": 1}], "extra": True, "kmsKey": None},
    )
    assert cleaned == {"name": "a", "tags": [{"key": "k", "value": "v"}]}


def test_java_counts_utf16_units() -> None:
    assert java_length("abc") == 3
    assert java_length("é") == 1
    assert java_length("😀") == 2
    name = "😀" * 41  # 41 characters for Python, 82 UTF-16 code units for AWS
    assert check("CreateActivity", {"name": name}) == (
        "ValidationException",
        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
        "constraint: Member must have length less than or equal to 80",
    )


def test_sensitive_members_are_never_echoed_not_even_null() -> None:
    assert check("SendTaskSuccess", {"output": "{}"}) == (
        "ValidationException",
        "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: "
        "Member must not be null",
    )


def test_a_java_pattern_is_checked_and_quoted_as_written() -> None:
    assert check("StartExecution", {"stateMachineArn": "a", "traceHeader": "é"}) == (
        "ValidationException",
        "1 validation error detected: Value 'é' at 'traceHeader' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: \p{ASCII}*",
    )


def test_null_list_items_and_list_lengths() -> None:
    assert check("UntagResource", {"resourceArn": "a", "tagKeys": [None, ""]}) == (
        "ValidationException",
        "2 validation errors detected: Value null at 'tagKeys.1.member' failed to satisfy "
        "constraint: Member must not be null; Value '' at 'tagKeys.2.member' failed to "
        "satisfy constraint: Member must have length greater than or equal to 1",
    )


def test_numbers_out_of_their_range_or_kind() -> None:
    assert check("ListActivities", {"maxResults": 2**40}) == (
        "SerializationException",
        "Cannot read 'maxResults': expected an integer, found a number out of range",
    )
    assert check("ListActivities", {"maxResults": True})[0] == "SerializationException"
    assert check("UpdateMapRun", {"mapRunArn": "a", "toleratedFailurePercentage": 100.5}) == (
        "ValidationException",
        "1 validation error detected: Value '100.5' at 'toleratedFailurePercentage' failed "
        "to satisfy constraint: Member must have value less than or equal to 100",
    )


def test_python_reads_the_java_patterns() -> None:
    regex = model.python_regex(r"\p{ASCII}*")
    assert regex is not None and regex.fullmatch("plain") and not regex.fullmatch("é")
    assert model.python_regex("(unclosed") is None


def test_docs_name_every_operation_and_every_unsupported_answer() -> None:
    from pathlib import Path

    from stepfn.api.app import MISSING_FEATURES

    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    assert [op for op in BUNDLED.operations if op not in docs] == []
    assert [text for text in MISSING_FEATURES.values() if text not in docs] == []
