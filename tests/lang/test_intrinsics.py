"""Intrinsic functions: parsing, each function's results, and AWS's failures."""

from __future__ import annotations

from typing import Any

import pytest

from stepfn.clock import IdSource
from stepfn.errors import RUNTIME, StateError
from stepfn.lang.intrinsic_syntax import FormatTemplate
from stepfn.lang.intrinsics import (
    IntrinsicCall,
    IntrinsicSyntaxError,
    PathArg,
    evaluate,
    is_intrinsic,
    java_text,
    json_text,
    parse_intrinsic,
)

DATA: dict[str, Any] = {
    "name": "Ada",
    "count": 3,
    "price": 2.5,
    "tags": ["red", "green", "blue"],
    "order": {"id": 7, "lines": [], "note": None},
    "csv": "a,b,,c",
    "nothing": None,
}


def resolve(path: str) -> Any:
    """A stand-in for the interpreter: ``$.key`` reads DATA, ``$$.x`` a fixed context."""
    if path == "$":
        return DATA
    if path == "$$.Execution.Name":
        return "run-1"
    if path.startswith("$."):
        return DATA[path[2:]]
    raise KeyError(path)


def run(text: str, ids: IdSource | None = None) -> Any:
    return evaluate(parse_intrinsic(text), resolve, ids or IdSource(seed=7))


def failure(text: str) -> str:
    with pytest.raises(StateError) as caught:
        run(text)
    assert caught.value.error == RUNTIME
    return caught.value.detail


# --- Syntax ------------------------------------------------------------------------------


def test_parse_builds_a_call_tree() -> None:
    call = parse_intrinsic("States.Array(1, -2.5, 'x', true, false, null, $.a, States.UUID())")
    assert call == IntrinsicCall(
        "Array",
        (1, -2.5, "x", True, False, None, PathArg("$.a"), IntrinsicCall("UUID", ())),
    )


def test_parse_keeps_paths_with_brackets_and_commas_whole() -> None:
    call = parse_intrinsic("States.Array($.a['x,y'], $$.Map.Item.Value, $var.b[0] )")
    assert call.args == (PathArg("$.a['x,y']"), PathArg("$$.Map.Item.Value"), PathArg("$var.b[0]"))


def test_string_escapes() -> None:
    call = parse_intrinsic(r"States.Array('it\'s', '\{\}', 'back\\slash')")
    assert call.args == ("it's", "{}", "back\\slash")


def test_format_template_remembers_escaped_braces() -> None:
    template = parse_intrinsic(r"States.Format('a {} \{\} b')").args[0]
    assert isinstance(template, FormatTemplate)
    assert template == "a {} {} b"
    assert template.pieces == ("a ", " {} b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("States.Nope(1)", "unknown intrinsic function 'States.Nope'"),
        ("States.Array(1", "missing ')'"),
        ("States.Array($.a) extra", "unexpected text after the closing parenthesis"),
        ("States.Array(1, )", "missing argument"),
        ("States.Array(1.)", "invalid number '1.'"),
        ("States.Array(.5)", "unexpected character '.'"),
        ("States.Array('open)", "unterminated string literal"),
        (r"States.Array('a\nb')", "invalid escape"),
        ("States.Array([1])", "unexpected character '['"),
        ("States.Array(1 2)", "expected ',' or ')'"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(IntrinsicSyntaxError, match="position") as caught:
        parse_intrinsic(text)
    assert message in str(caught.value)


def test_is_intrinsic() -> None:
    assert is_intrinsic("States.Format('{}', $.a)")
    assert is_intrinsic("States.Broken(")
    assert not is_intrinsic("$.a")
    assert not is_intrinsic("States.Format")
    assert not is_intrinsic("Hello States.Array()")


# --- Text forms --------------------------------------------------------------------------


def test_java_text_is_javas_to_string() -> None:
    value = {"a": [1, "x", None, True], "b": {}, "c": 1.0, "d": 1e20, "e": 0.0001}
    assert java_text(value) == "{a=[1, x, null, true], b={}, c=1.0, d=1.0E20, e=1.0E-4}"


def test_json_text_is_compact_and_ordered() -> None:
    value = {"z": 1, "a": [True, None, 2.5], "s": 'q"\\\n\x01é'}
    assert json_text(value) == '{"z":1,"a":[true,null,2.5],"s":"q\\"\\\\\\n\\u0001é"}'


# --- Each function -------------------------------------------------------------------------


def test_format() -> None:
    assert run("States.Format('Hello {}, {} items at {}', $.name, $.count, $.price)") == (
        "Hello Ada, 3 items at 2.5"
    )
    assert run("States.Format('{} and {}', $.order, $.nothing)") == (
        "{id=7, lines=[], note=null} and null"
    )
    assert run(r"States.Format('\{{}\}', $.count)") == "{3}"
    assert run("States.Format('no placeholders')") == "no placeholders"
    # A template made at run time has no escapes: its braces are all placeholders.
    assert run(r"States.Format(States.Format('{}-\{\}', 'x'), 'y')") == "x-y"


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', $.name)",
        "States.Format('{}', $.name, $.name)",
        "States.Format('Hello {', $.name)",
        "States.Format('}')",
        "States.Format($.count)",
    ],
)
def test_format_failures(text: str) -> None:
    assert failure(text) == "Invalid arguments in States.Format"


def test_string_to_json_and_back() -> None:
    assert run('States.StringToJson(\'{"a": [1, 2.5, "x"]}\')') == {"a": [1, 2.5, "x"]}
    assert run("States.StringToJson(' ')") is None
    assert run("States.JsonToString($.order)") == '{"id":7,"lines":[],"note":null}'
    assert run("States.JsonToString($.name)") == '"Ada"'
    assert run("States.JsonToString(States.StringToJson('1.0'))") == "1.0"
    assert failure("States.StringToJson('{bad}')") == "Invalid arguments in States.StringToJson"
    assert failure("States.StringToJson('NaN')") == "Invalid arguments in States.StringToJson"
    assert failure("States.StringToJson($.count)") == "Invalid arguments in States.StringToJson"


def test_array_functions() -> None:
    assert run("States.Array()") == []
    assert run("States.Array($.count, 'x', States.Array(1))") == [3, "x", [1]]
    assert run("States.ArrayLength($.tags)") == 3
    assert run("States.ArrayGetItem($.tags, 1)") == "green"
    assert run("States.ArrayGetItem($.tags, 1.9)") == "green"
    assert run("States.ArrayGetItem(States.Array(), 5)") is None
    assert run("States.ArrayPartition(States.Array(1, 2, 3, 4, 5), 2)") == [[1, 2], [3, 4], [5]]
    assert run("States.ArrayPartition(States.Array(), 3)") == []
    assert run("States.ArrayPartition(States.Array(1, 2, 3), 2.9)") == [[1, 2], [3]]


def test_array_contains_compares_as_aws_does() -> None:
    assert run("States.ArrayContains($.tags, 'green')") is True
    assert run("States.ArrayContains(States.Array(1, States.Array(2)), States.Array(2))") is True
    assert run("States.ArrayContains(States.Array(0, 1), false)") is False
    # AWS compares the text forms, so these surprising answers are AWS's own.
    assert run("States.ArrayContains(States.Array('true'), true)") is True
    assert run("States.ArrayContains(States.Array(), States.Array())") is False


def test_array_range() -> None:
    assert run("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert run("States.ArrayRange(5, 1, -2)") == [5, 3, 1]
    assert run("States.ArrayRange(3, 3, -1)") == [3]
    assert run("States.ArrayRange(5, 1, 1)") == []
    assert run("States.ArrayRange(1.4, 5.6, 2.2)") == [1, 3, 5]
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    for text in (
        "States.ArrayRange(1, 1001, 1)",
        "States.ArrayRange(1, 10, 0)",
        "States.ArrayRange(1, 10, 0.5)",
        "States.ArrayRange('a', 5, 1)",
    ):
        assert failure(text) == "Invalid arguments in States.ArrayRange"


def test_array_unique_follows_java_hash_set_order() -> None:
    assert run("States.ArrayUnique(States.Array(1, 2, 2, 3, 1))") == [1, 2, 3]
    assert run("States.ArrayUnique(States.Array(true, false, true))") == [False, True]
    assert run("States.ArrayUnique(States.Array(null, 1, null))") == [None, 1]
    pairs = "States.Array(States.Array(1, 2), States.Array(1, 2), States.Array(2, 1))"
    assert run(f"States.ArrayUnique({pairs})") == [[2, 1], [1, 2]]
    # 1, 1.0 and '1' are different values in Java; 1.0 hashes to the first slot.
    assert run("States.ArrayUnique(States.Array(1, 1.0, '1'))") == [1.0, 1, "1"]


@pytest.mark.parametrize(
    ("text", "function"),
    [
        ("States.ArrayLength($.name)", "ArrayLength"),
        ("States.ArrayGetItem($.tags, 3)", "ArrayGetItem"),
        ("States.ArrayGetItem($.tags, -1)", "ArrayGetItem"),
        ("States.ArrayGetItem($.tags, '1')", "ArrayGetItem"),
        ("States.ArrayPartition($.tags, 0)", "ArrayPartition"),
        ("States.ArrayPartition($.tags, 0.5)", "ArrayPartition"),
        ("States.ArrayPartition($.name, 1)", "ArrayPartition"),
        ("States.ArrayContains($.name, 'A')", "ArrayContains"),
        ("States.ArrayUnique($.order)", "ArrayUnique"),
    ],
)
def test_array_failures(text: str, function: str) -> None:
    assert failure(text) == f"Invalid arguments in States.{function}"


def test_base64() -> None:
    assert run("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert run("States.Base64Encode('')") == ""
    assert run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"
    assert run("States.Base64Decode('4pyT')") == "\u2713"
    # Lenient: spaces skipped, missing padding accepted, text after padding ignored.
    assert run("States.Base64Decode(' YWJjZA== ')") == "abcd"
    assert run("States.Base64Decode('YWJjZA')") == "abcd"
    assert run("States.Base64Decode('aGk=aGk=')") == "hi"
    assert failure("States.Base64Encode($.count)") == "Invalid arguments in States.Base64Encode"
    assert failure("States.Base64Decode($.tags)") == "Invalid arguments in States.Base64Decode"


def test_text_limits() -> None:
    limit = "a" * 10_000

    def at(path: str) -> Any:
        return limit if path == "$.ok" else limit + "a"

    ids = IdSource(seed=1)
    assert evaluate(parse_intrinsic("States.Hash($.ok, 'MD5')"), at, ids)
    for name in ("Base64Encode($.big)", "Base64Decode($.big)", "Hash($.big, 'MD5')"):
        with pytest.raises(StateError):
            evaluate(parse_intrinsic(f"States.{name}"), at, ids)


def test_hash() -> None:
    expected = {
        "MD5": "5d41402abc4b2a76b9719d911017c592",
        "SHA-1": "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
        "SHA-256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    }
    for algorithm, digest in expected.items():
        assert run(f"States.Hash('hello', '{algorithm}')") == digest
    assert len(run("States.Hash('hello', 'SHA-384')")) == 96
    assert len(run("States.Hash('hello', 'SHA-512')")) == 128
    # A number is hashed as its text.
    assert run("States.Hash(123, 'MD5')") == run("States.Hash('123', 'MD5')")
    for algorithm in ("sha-256", "SHA256", "MD-5", ""):
        assert failure(f"States.Hash('x', '{algorithm}')") == "Invalid arguments in States.Hash"


def test_json_merge() -> None:
    merged = run(
        'States.JsonMerge(States.StringToJson(\'{"a": {"x": 1}, "b": 2}\'), '
        'States.StringToJson(\'{"a": {"y": 2}, "c": 3}\'), false)'
    )
    assert merged == {"a": {"y": 2}, "b": 2, "c": 3}
    assert failure("States.JsonMerge($.order, $.order, true)") == (
        "Invalid arguments in States.JsonMerge"
    )
    assert failure("States.JsonMerge($.order, $.tags, false)") == (
        "Invalid arguments in States.JsonMerge"
    )


def test_math_add_rounds_half_up_on_java_ints() -> None:
    assert run("States.MathAdd(5, -3)") == 2
    assert run("States.MathAdd(1.49, 1.5)") == 3
    assert run("States.MathAdd(1.5, 1.51)") == 4
    assert run("States.MathAdd(-1.5, 0)") == -1
    assert run("States.MathAdd(-0.5, 0.5)") == 1
    assert run("States.MathAdd(2147483646, 1)") == 2147483647
    for text in (
        "States.MathAdd(2147483647, 1)",
        "States.MathAdd(3000000000, 0)",
        "States.MathAdd('1', 2)",
        "States.MathAdd(true, 1)",
        "States.MathAdd(null, 1)",
    ):
        assert failure(text) == "Invalid arguments in States.MathAdd"


def test_math_random() -> None:
    seeded = {run("States.MathRandom(0, 1000, 42)", IdSource(seed=s)) for s in range(5)}
    assert len(seeded) == 1  # the seed alone decides
    value = next(iter(seeded))
    assert 0 <= value < 1000
    for _ in range(20):
        assert 12 <= run("States.MathRandom(12.5, 44.51)") < 44
    assert run("States.MathRandom(1, 2)") == 1
    for text in (
        "States.MathRandom(1, 1)",
        "States.MathRandom(10, 5)",
        "States.MathRandom(1, 9, 'x')",
    ):
        assert failure(text) == "Invalid arguments in States.MathRandom"


def test_string_split_drops_empty_pieces() -> None:
    assert run("States.StringSplit($.csv, ',')") == ["a", "b", "c"]
    assert run("States.StringSplit('This.is+a,test', '.+,')") == ["This", "is", "a", "test"]
    assert run("States.StringSplit(',,,', ',')") == []
    assert run("States.StringSplit(' , ', ',')") == [" ", " "]
    assert failure("States.StringSplit($.count, ',')") == "Invalid arguments in States.StringSplit"


def test_uuid_comes_from_the_id_source() -> None:
    assert run("States.UUID()", IdSource(seed=3)) == IdSource(seed=3).uuid()


def test_nested_and_context_paths() -> None:
    text = "States.ArrayGetItem(States.StringSplit($$.Execution.Name, '-'), 0)"
    assert run(text) == "run"


@pytest.mark.parametrize(
    "text",
    [
        "States.UUID(1)",
        "States.Hash('x')",
        "States.ArrayLength()",
        "States.JsonMerge($.order, $.order)",
        "States.MathRandom(1)",
        "States.ArrayRange(1, 5)",
    ],
)
def test_wrong_argument_counts_fail_when_run(text: str) -> None:
    # AWS accepts these definitions and fails the execution when the state runs.
    call = parse_intrinsic(text)
    assert failure(text) == f"Invalid arguments in {call.function}"


def test_path_errors_come_from_the_resolver() -> None:
    with pytest.raises(KeyError):
        run("States.Format('{}', $.missing)")


def test_parsed_calls_survive_copying() -> None:
    import copy
    import pickle

    call = parse_intrinsic(r"States.Format('\{{}\}', $.count)")
    for clone in (copy.deepcopy(call), pickle.loads(pickle.dumps(call))):
        assert evaluate(clone, resolve, IdSource(seed=1)) == "{3}"


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_string_to_json_of_text_nested_too_deep_fails_cleanly(depth: int) -> None:
    # Python's reader would end in a RecursionError (an internal failure) here.
    text = "[" * depth + "]" * depth
    assert failure(f"States.StringToJson('{text}')") == "Invalid arguments in States.StringToJson"


def test_string_to_json_at_the_nesting_limit() -> None:
    assert run(f"States.StringToJson('{'[' * 256}{']' * 256}')") is not None
