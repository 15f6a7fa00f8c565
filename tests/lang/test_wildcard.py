"""StringMatches patterns: the segment matcher against a plain dynamic-programming reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepfn.lang.wildcard import compile_wildcard


def _tokens(pattern: str) -> list[str | None]:
    """The pattern as literal characters, with None for a star (the reference's own reading)."""
    tokens: list[str | None] = []
    index = 0
    while index < len(pattern):
        if pattern[index] == "\\" and index + 1 < len(pattern):
            tokens.append(pattern[index + 1])
            index += 2
        else:
            tokens.append(None if pattern[index] == "*" else pattern[index])
            index += 1
    return tokens


def reference(pattern: str, text: str) -> bool:
    """Whether ``text`` matches, by the textbook table over (tokens, characters)."""
    tokens = _tokens(pattern)
    # row[j]: the tokens seen so far match text[:j]
    row = [True] + [False] * len(text)
    for token in tokens:
        new = [False] * (len(text) + 1)
        if token is None:
            new[0] = row[0]
            for j in range(1, len(text) + 1):
                new[j] = row[j] or new[j - 1]
        else:
            for j in range(1, len(text) + 1):
                new[j] = row[j - 1] and text[j - 1] == token
        row = new
    return row[len(text)]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("", "", True),
        ("", "a", False),
        ("*", "", True),
        ("**", "abc", True),
        ("a*", "a", True),
        ("*a", "ba", True),
        ("*a", "ab", False),
        ("a*a", "a", False),  # the head and the tail may not overlap
        ("a*a", "aa", True),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "acb", False),
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("\\\\*", "\\abc", True),
        ("\\a", "a", True),  # a backslash makes any character literal
        ("tail\\", "tail\\", True),  # a trailing backslash is itself
        ("*\n*", "one\ntwo", True),
    ],
)
def test_examples(pattern, text, expected):
    assert compile_wildcard(pattern).matches(text) is expected
    assert reference(pattern, text) is expected


_PATTERN = st.text(alphabet="ab*\\", max_size=12)
_TEXT = st.text(alphabet="ab*\\", max_size=16)


@settings(max_examples=2000, deadline=None)
@given(_PATTERN, _TEXT)
def test_agrees_with_the_reference(pattern, text):
    assert compile_wildcard(pattern).matches(text) is reference(pattern, text)


@settings(max_examples=500, deadline=None)
@given(_PATTERN, st.data())
def test_agrees_on_texts_built_from_the_pattern(pattern, data):
    # Random texts rarely match; build matching-ish ones by filling the stars.
    fill = st.text(alphabet="ab", max_size=4)
    text = "".join(
        data.draw(fill) if token is None else token for token in _tokens(pattern)
    ) + data.draw(st.sampled_from(["", "a", "b"]))
    assert compile_wildcard(pattern).matches(text) is reference(pattern, text)


@pytest.mark.parametrize("size", [2_000, 100_000])
@pytest.mark.parametrize("pattern", ["*a*a*a*b", "*a*a*a*a*a*a*a*b"])
def test_pathological_patterns_end(pattern, size):
    # As a backtracking regex these take hours; here they must simply return.
    assert compile_wildcard(pattern).matches("a" * size) is False
    assert compile_wildcard(pattern).matches("a" * size + "b") is True
