"""The nesting limit's measures: JSON text and values, without recursion."""

from __future__ import annotations

import json

import pytest

from stepfn.lang.nesting import MAX_NESTING_DEPTH, text_too_deep, value_too_deep


def nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [1, 10, MAX_NESTING_DEPTH])
def test_at_or_under_the_limit(depth):
    value = nested_list(depth)
    assert not value_too_deep(value)
    assert not text_too_deep(json.dumps(value) if depth < 500 else "[" * depth + "]" * depth)


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 5_000, 100_000])
def test_over_the_limit(depth):
    assert value_too_deep(nested_list(depth))
    assert text_too_deep("[" * depth + "]" * depth)
    assert text_too_deep('{"a":' * depth + "1" + "}" * depth)


def test_brackets_in_strings_do_not_count():
    text = json.dumps({"s": "[" * 1000, "t": '\\"{' * 1000})
    assert not text_too_deep(text)


def test_siblings_do_not_add_up():
    wide = [nested_list(MAX_NESTING_DEPTH - 1) for _ in range(50)]
    assert not value_too_deep(wide) and not text_too_deep(json.dumps(wide))
    assert value_too_deep([wide]) and text_too_deep(json.dumps([wide]))


def test_mappings_and_tuples_count_as_containers():
    value: object = 1
    for i in range(MAX_NESTING_DEPTH + 1):
        value = (value,) if i % 2 else {"k": value}
    assert value_too_deep(value)


def test_unclosed_text_is_measured_too():
    assert text_too_deep("[" * (MAX_NESTING_DEPTH + 1))
    assert not text_too_deep('"' + "[" * 5000)  # all inside one unterminated string
