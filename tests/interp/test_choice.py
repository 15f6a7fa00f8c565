"""Choice rules in JSONPath mode: every operator, type mismatches, missing paths, nesting."""

import pytest

from stepfn import errors
from stepfn.errors import DefinitionError, StateError
from stepfn.interp.choice import OPERATORS, compile_rule, parse_timestamp

# One of each kind of JSON value, to show which operators accept which.
KINDS = {
    "null": None,
    "zero": 0,
    "float": 1.5,
    "true": True,
    "false": False,
    "empty": "",
    "text": "hello",
    "stamp": "2020-05-01T10:00:00Z",
    "list": [],
    "object": {"a": 0},
}


def check(rule, data, context=None, variables=None):
    return compile_rule({**rule, "Next": "Somewhere"}).matches(data, context, variables)


def kinds_matching(operator, comparand):
    """The names in KINDS whose value satisfies {"Variable": "$.v", operator: comparand}."""
    return {
        name
        for name, value in KINDS.items()
        if check({"Variable": "$.v", operator: comparand}, {"v": value})
    }


# --- type tests ------------------------------------------------------------------------------


def test_type_tests_true():
    assert kinds_matching("IsNull", True) == {"null"}
    assert kinds_matching("IsNumeric", True) == {"zero", "float"}
    assert kinds_matching("IsBoolean", True) == {"true", "false"}
    assert kinds_matching("IsString", True) == {"empty", "text", "stamp"}
    assert kinds_matching("IsTimestamp", True) == {"stamp"}
    assert kinds_matching("IsPresent", True) == set(KINDS)


def test_type_tests_false_are_the_complement():
    for operator in ("IsNull", "IsNumeric", "IsBoolean", "IsString", "IsTimestamp", "IsPresent"):
        assert kinds_matching(operator, False) == set(KINDS) - kinds_matching(operator, True)


def test_is_present_on_a_missing_path():
    assert not check({"Variable": "$.gone", "IsPresent": True}, {})
    assert check({"Variable": "$.gone", "IsPresent": False}, {})
    assert not check({"Variable": "$.a.b.c", "IsPresent": True}, {"a": 1})
    assert not check({"Variable": "$.list[3]", "IsPresent": True}, {"list": [1]})


# --- comparisons never match a value of another type -----------------------------------------


@pytest.mark.parametrize(
    ("operator", "comparand", "matching"),
    [
        ("StringEquals", "hello", {"text"}),
        ("StringEquals", "", {"empty"}),
        ("NumericEquals", 0, {"zero"}),
        ("NumericEquals", 0.0, {"zero"}),  # numbers compare by value
        ("NumericGreaterThan", 0, {"float"}),
        ("BooleanEquals", False, {"false"}),  # 0, "" and null are not false
        ("BooleanEquals", True, {"true"}),
        ("TimestampEquals", "2020-05-01T10:00:00Z", {"stamp"}),
        ("StringMatches", "*", {"empty", "text", "stamp"}),
    ],
)
def test_wrong_types_do_not_match(operator, comparand, matching):
    assert kinds_matching(operator, comparand) == matching


# --- strings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "comparand", "expected"),
    [
        ("StringEquals", "Hi", "Hi", True),
        ("StringEquals", "\t\n", "\t\r\n", False),
        ("StringEquals", "hi", "Hi", False),
        ("StringLessThan", "A", "AB", True),
        ("StringLessThan", "AB", "A", False),
        ("StringLessThan", "", "", False),
        ("StringLessThanEquals", "", "", True),
        ("StringGreaterThan", "A", "A ", False),
        ("StringGreaterThan", "b", "a", True),
        ("StringGreaterThanEquals", "AB", "A", True),
        ("StringGreaterThanEquals", "A", "AB", False),
        ("StringLessThan", "Z", "a", True),  # by character code: upper case first
    ],
)
def test_string_comparisons(operator, value, comparand, expected):
    assert check({"Variable": "$.v", operator: comparand}, {"v": value}) is expected
    # and the same through a path to the comparand
    path_rule = {"Variable": "$.v", f"{operator}Path": "$.w"}
    assert check(path_rule, {"v": value, "w": comparand}) is expected


def test_strings_order_by_utf16_code_units_like_java():
    # U+FF5E sorts after U+1F600 in UTF-16 (0xD83D...) but before it by code point.
    assert check({"Variable": "$.v", "StringLessThan": "\uff5e"}, {"v": "\U0001f600"})
    assert not check({"Variable": "$.v", "StringGreaterThan": "\uff5e"}, {"v": "\U0001f600"})
    assert check({"Variable": "$.v", "StringLessThan": "\U0001f601"}, {"v": "\U0001f600"})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024.txt", True),
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-2024.txt.bak", False),
        ("*", "", True),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "acb", False),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("a.c", "abc", False),  # only * is special
        ("star\\*", "star*", True),  # \* is a literal star
        ("star\\*", "stars", False),
        ("back\\\\slash", "back\\slash", True),  # \\ is a literal backslash
        ("multi*", "multi\nline", True),
    ],
)
def test_string_matches(pattern, value, expected):
    assert check({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is expected


def test_string_matches_a_pathological_pattern_returns():
    # "*a*a*a*b" over 100,000 "a" as a backtracking regex never ends (issue 11).
    rule = {"Variable": "$.v", "StringMatches": "*a*a*a*a*a*a*a*b"}
    assert check(rule, {"v": "a" * 100_000}) is False
    assert check(rule, {"v": "a" * 100_000 + "b"}) is True


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "comparand", "expected"),
    [
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", 2.22, 2.22, True),
        ("NumericEquals", 1.1, 1, False),
        ("NumericLessThan", 0, 1, True),
        ("NumericLessThan", 1, 1, False),
        ("NumericLessThanEquals", 1, 1, True),
        ("NumericLessThanEquals", 1, 0, False),
        ("NumericGreaterThan", 1, 0, True),
        ("NumericGreaterThan", 0, 0, False),
        ("NumericGreaterThanEquals", 0.0, 0, True),
        ("NumericGreaterThanEquals", 0, 1, False),
        ("NumericGreaterThan", 10**20, 10**19, True),
        ("NumericEquals", True, 1, False),
    ],
)
def test_numeric_comparisons(operator, value, comparand, expected):
    assert check({"Variable": "$.v", operator: comparand}, {"v": value}) is expected
    path_rule = {"Variable": "$.v", f"{operator}Path": "$.w"}
    assert check(path_rule, {"v": value, "w": comparand}) is expected


def test_a_path_comparand_of_the_wrong_type_does_not_match():
    assert not check({"Variable": "$.v", "NumericEqualsPath": "$.w"}, {"v": 1, "w": "1"})
    assert not check({"Variable": "$.v", "BooleanEqualsPath": "$.w"}, {"v": False, "w": 0})
    assert not check({"Variable": "$.v", "StringEqualsPath": "$.w"}, {"v": "x", "w": None})
    assert not check({"Variable": "$.v", "TimestampEqualsPath": "$.w"}, {"v": "x", "w": "x"})


def test_boolean_equals_path():
    assert check({"Variable": "$.v", "BooleanEqualsPath": "$.w"}, {"v": False, "w": False})
    assert not check({"Variable": "$.v", "BooleanEqualsPath": "$.w"}, {"v": False, "w": True})


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "comparand", "expected"),
    [
        ("TimestampEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
        ("TimestampEquals", "2012-10-09T20:00:55+01:00", "2012-10-09T19:00:55Z", True),
        ("TimestampEquals", "2012-10-09T19:00:55.000Z", "2012-10-09T19:00:55Z", True),
        ("TimestampLessThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z", True),
        ("TimestampLessThan", "2012-10-09T19:00:55.1Z", "2012-10-09T19:00:55.100000001Z", True),
        ("TimestampGreaterThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", False),
        ("TimestampGreaterThan", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", True),
        ("TimestampLessThanEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
        ("TimestampLessThanEquals", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", False),
        ("TimestampGreaterThanEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z", False),
        ("TimestampGreaterThanEquals", "2012-10-10T00:00:00-05:00", "2012-10-10T04:59:59Z", True),
        ("TimestampEquals", "2012-10-09T19:00:55", "2012-10-09T19:00:55Z", False),  # no offset
        ("TimestampEquals", 0, "2012-10-09T19:00:55Z", False),
    ],
)
def test_timestamp_comparisons(operator, value, comparand, expected):
    assert check({"Variable": "$.v", operator: comparand}, {"v": value}) is expected
    path_rule = {"Variable": "$.v", f"{operator}Path": "$.w"}
    assert check(path_rule, {"v": value, "w": comparand}) is expected


@pytest.mark.parametrize(
    "text",
    [
        "2016-08-18T17:33:00Z",
        "2016-08-18T17:33:00.5Z",
        "2016-08-18T17:33:00.123456789+01:00",
        "2016-08-18T17:33Z",
        "2016-02-29T00:00:00-08:00",
    ],
)
def test_timestamps_accepted(text):
    assert parse_timestamp(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "2016-08-18T17:33:00",  # no offset
        "2016-08-18 17:33:00Z",  # no T
        "2016-08-18t17:33:00Z",
        "2016-08-18T17:33:00z",
        "2016-12-05T25:29:29Z",
        "2015-02-29T00:00:00Z",
        "2016-13-01T00:00:00Z",
        "05-12-2016T21:29:29Z",
        "2016-08-18",
        "2016-08-18T17:33:00.Z",
        "2016-08-18T17:33:00.1234567890Z",
        "2016-08-18T17:33:00+1:00",
    ],
)
def test_timestamps_rejected(text):
    assert parse_timestamp(text) is None


# --- missing paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.gone", "StringEquals": "x"},
        {"Variable": "$.gone", "NumericEquals": 1},
        {"Variable": "$.gone", "IsNull": True},
        {"Variable": "$.gone", "IsString": False},
        {"Variable": "$.v", "NumericEqualsPath": "$.gone"},
    ],
)
def test_a_missing_path_is_a_runtime_error(rule):
    with pytest.raises(StateError) as caught:
        check(rule, {"v": 1})
    assert caught.value.error == errors.RUNTIME
    assert caught.value.detail == "Invalid path '$.gone' : No results for path: $['gone']"


def test_a_missing_member_on_the_way_has_jayways_text():
    with pytest.raises(StateError) as caught:
        check({"Variable": "$.a.b", "StringEquals": "x"}, {})
    assert caught.value.detail == "Invalid path '$.a.b' : Missing property in path $['a']"


def test_a_null_value_is_present():
    assert check({"Variable": "$.v", "IsNull": True}, {"v": None})
    assert not check({"Variable": "$.v", "StringEquals": "x"}, {"v": None})


# --- roots: context object and variables -----------------------------------------------------


def test_context_object_paths():
    context = {"Execution": {"Name": "run-1"}, "State": {"RetryCount": 2}}
    assert check({"Variable": "$$.Execution.Name", "StringEquals": "run-1"}, {}, context)
    assert check({"Variable": "$.n", "NumericEqualsPath": "$$.State.RetryCount"}, {"n": 2}, context)


def test_the_context_may_be_built_on_demand():
    built = []

    def context():
        built.append(1)
        return {"Execution": {"Name": "lazy"}}

    assert check({"Variable": "$.a", "IsPresent": True}, {"a": 1}, context)
    assert built == []  # never read, never built
    assert check({"Variable": "$$.Execution.Name", "StringEquals": "lazy"}, {}, context)
    assert built == [1]


def test_variable_paths():
    variables = {"limit": 10, "order": {"state": "open"}}
    assert check({"Variable": "$order.state", "StringEquals": "open"}, {}, None, variables)
    assert check({"Variable": "$.n", "NumericLessThanPath": "$limit"}, {"n": 3}, None, variables)
    assert not check({"Variable": "$undefinedVar", "IsPresent": True}, {}, None, variables)
    with pytest.raises(StateError):
        check({"Variable": "$undefinedVar", "IsNull": True}, {}, None, variables)


def test_an_indefinite_variable_selects_a_list():
    data = {"items": [{"n": 1}]}
    assert check({"Variable": "$.items[*].n", "IsPresent": True}, data)
    assert not check({"Variable": "$.items[*].n", "IsNumeric": True}, data)


# --- combinations ----------------------------------------------------------------------------


def test_and_or_not():
    in_twenties = {
        "And": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30},
        ]
    }
    assert check(in_twenties, {"value": 22})
    assert not check(in_twenties, {"value": 30})
    public = {"Not": {"Variable": "$.type", "StringEquals": "Private"}}
    assert not check(public, {"type": "Private"})
    assert check(public, {"type": "Public"})
    either = {
        "Or": [
            {"Variable": "$.a", "BooleanEquals": True},
            {"Not": {"Variable": "$.b", "IsPresent": True}},
        ]
    }
    assert check(either, {"a": True, "b": 1})
    assert check(either, {"a": False})
    assert not check(either, {"a": False, "b": 1})
    assert check({"And": [{"Variable": "$.t", "StringEquals": "x"}]}, {"t": "x"})


def test_and_or_stop_at_the_first_decisive_rule():
    # The second rule would fail on the missing path, but is never reached.
    missing = {"Variable": "$.gone", "NumericEquals": 1}
    assert not check({"And": [{"Variable": "$.a", "IsNull": True}, missing]}, {"a": 1})
    assert check({"Or": [{"Variable": "$.a", "IsNumeric": True}, missing]}, {"a": 1})


def test_nested_deeply():
    rule = {"Not": {"Not": {"And": [{"Or": [{"Variable": "$.x", "StringMatches": "a*"}]}]}}}
    assert check(rule, {"x": "abc"})
    assert not check(rule, {"x": "cba"})


def test_field_order_does_not_matter():
    rule = {"BooleanEquals": False, "Next": "N", "Variable": "$.result.done"}
    assert compile_rule(rule).matches({"result": {"done": False}}, None, None)


# --- malformed rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.a"},  # no operator
        {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1},  # two operators
        {"StringEquals": "x"},  # no Variable
        {"Variable": "a", "StringEquals": "x"},  # not a path
        {"Variable": "$.a", "StringEquals": 1},
        {"Variable": "$.a", "NumericEquals": "1"},
        {"Variable": "$.a", "NumericEquals": True},
        {"Variable": "$.a", "BooleanEquals": "true"},
        {"Variable": "$.a", "TimestampEquals": "yesterday"},
        {"Variable": "$.a", "IsNull": "yes"},
        {"Variable": "$.a", "StringMatches": 3},
        {"Variable": "$.a", "StringEqualsPath": "nope"},
        {"Variable": "$.a", "StringMatchesPath": "$.b"},  # there is no such operator
        {"Variable": "$.a", "Unknown": 1, "IsNull": True},
        {"And": []},
        {"Or": {"Variable": "$.a", "IsNull": True}},
        {"Not": [{"Variable": "$.a", "IsNull": True}]},
        {"And": [{"Variable": "$.a", "IsNull": True}], "Variable": "$.a"},
    ],
)
def test_malformed_rules(rule):
    with pytest.raises(DefinitionError):
        compile_rule(rule)


def test_every_problem_is_reported_with_its_place():
    rule = {"And": [{"Variable": "$.a", "NumericEquals": "x"}, {"Not": {"Variable": "$.b"}}]}
    with pytest.raises(DefinitionError) as caught:
        compile_rule(rule)
    assert [p.path for p in caught.value.problems] == ["/And/0/NumericEquals", "/And/1/Not"]


def test_the_table_holds_every_operator():
    assert len(OPERATORS) == 23
    assert "StringMatches" in OPERATORS
    assert "IsTimestamp" in OPERATORS


def test_comments_are_allowed_on_any_rule():
    rule = {
        "And": [{"Variable": "$.s", "StringEquals": "done", "Comment": "inner"}],
        "Comment": "outer",
    }
    assert check(rule, {"s": "done"})
    with pytest.raises(DefinitionError):
        compile_rule({"Not": {"Variable": "$.s", "IsNull": True, "Next": "X"}})
