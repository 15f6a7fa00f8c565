"""stepfn.jsontext: the kept encoders write what ``json.dumps`` with the same options writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from stepfn.jsontext import compact, kept_encoder

VALUES: list[Any] = [
    None,
    True,
    0,
    -12,
    1.5,
    1e300,
    float("nan"),
    "",
    "plain",
    'quote " and \\ backslash\n',
    "café ☕ 𝄞",
    [],
    {},
    [1, "two", [3, {"four": None}]],
    {"b": 1, "a": {"é": ["x", 2.25]}, "": False},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_compact_is_json_dumps_compact_with_non_ascii_kept(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert compact(value) == expected


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_kept_ascii_encoder_is_json_dumps_with_escapes(value: Any) -> None:
    encode = kept_encoder(ensure_ascii=True)
    assert encode(value) == json.dumps(value, separators=(",", ":"))


def test_a_kept_encoder_calls_its_default_for_what_json_cannot_write() -> None:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.timestamp()
        raise TypeError(type(value).__name__)

    encode = kept_encoder(default, ensure_ascii=True)
    document = {"when": datetime(2026, 1, 2, tzinfo=UTC), "name": "é"}
    assert encode(document) == json.dumps(document, separators=(",", ":"), default=default)
    with pytest.raises(TypeError, match="set"):
        encode({"bad": {1}})


def test_compact_refuses_a_value_json_has_no_form_for() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        compact({"a": {1, 2}})
