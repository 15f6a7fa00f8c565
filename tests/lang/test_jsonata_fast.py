"""The JSONata fast path gives exactly what the engine gives, or lets the engine answer.

The differential tests generate JSON bindings and expressions from the fast path's subset
and from just around it (arrays along paths, nulls, missing members, mixed types,
functions it does not know, shadowed names), and compare :meth:`Expression.evaluate`
(fast path, falling back to the engine) with :meth:`Expression.evaluate_engine` (the
engine alone): value, type (int or float, boolean or number), key order, undefined, and
the error's code and message when the engine fails.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from stepfn.clock import IdSource
from stepfn.errors import StateError
from stepfn.lang import jsonata as jsonata_module
from stepfn.lang.jsonata import (
    UNDEFINED,
    Expression,
    JsonataEvaluationError,
    JsonataSyntaxError,
    compile_expression,
    evaluate_template,
)
from stepfn.lang.jsonata_fast import NOTHING, Fallback

NOW = 1704067200.0

# --- Comparing outcomes ---------------------------------------------------------------------


def typed(value: Any) -> Any:
    """``value`` with every type spelled out, so that 1 != 1.0 != True and key order
    counts."""
    if isinstance(value, dict):
        return ("object", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [typed(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def outcome(evaluate: Callable[..., Any], bindings: dict[str, Any]) -> Any:
    try:
        return ("value", typed(evaluate(bindings, now=NOW, ids=IdSource(3))))
    except JsonataEvaluationError as error:
        return ("error", type(error).__name__, error.code, error.message)


def assert_agrees(expression: Expression, bindings: dict[str, Any]) -> None:
    before = copy.deepcopy(bindings)
    fast = outcome(expression.evaluate, bindings)
    engine = outcome(expression.evaluate_engine, bindings)
    assert fast == engine
    assert _same_json(bindings, before), "evaluation changed its bindings"


def _same_json(a: Any, b: Any) -> bool:
    # NaN is not equal to itself; compare its spelling instead.
    return json.dumps(typed(a)) == json.dumps(typed(b))


def fast_outcome(text: str, bindings: dict[str, Any]) -> Any:
    """What the fast path alone does: its value, or the string "fallback"."""
    fast = compile_expression(text).fast_path
    assert fast is not None, f"{text!r} has no fast path"
    try:
        return fast(bindings)
    except Fallback:
        return "fallback"


# --- Generated JSON ---------------------------------------------------------------------------

KEYS = ["a", "b", "x", "n"]

integers = st.one_of(
    st.integers(-3, 3),
    st.integers(-(10**16), 10**16),
    st.sampled_from([2**53 + 1, -(2**53) - 1, 10**15, 10**15 - 1, 10**21, 2**63, 10**400]),
)
floats = st.one_of(
    st.sampled_from([0.0, -0.0, 2.0, -7.0, 0.5, -1.5, 1e16, 1e21, 1e22, 1e300, 2.5e-8]),
    st.floats(allow_nan=False, allow_infinity=False),
)
odd_floats = st.sampled_from([math.inf, -math.inf, math.nan])
texts = st.one_of(st.sampled_from(["", "a", "b", "A", "ß", "10", "true"]), st.text(max_size=3))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), integers, floats, texts),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=8,
)
nonfinite_values = st.recursive(
    st.one_of(odd_floats, st.integers(0, 2)),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=3,
)


@st.composite
def bindings(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {
        "v": draw(json_values),
        "w": draw(json_values),
        "states": {
            "input": draw(json_values | st.dictionaries(st.sampled_from(KEYS), json_values))
        },
    }
    if draw(st.integers(0, 9)) == 0:
        values["x"] = draw(nonfinite_values)
    if draw(st.integers(0, 9)) == 0:
        # A workflow variable that shadows a function.
        values[draw(st.sampled_from(["merge", "count", "string", "not"]))] = draw(json_values)
    return values


# --- Generated expressions --------------------------------------------------------------------

FUNCTIONS = [
    "merge",
    "exists",
    "string",
    "count",
    "sum",
    "uppercase",
    "lowercase",
    "not",
    "boolean",
]
OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&", "and", "or"]
LITERALS = [
    '"a"',
    '"ß"',
    '""',
    '"10"',
    "0",
    "1",
    "2",
    "-3",
    "2.5",
    "0.1",
    "1e3",
    "1e16",
    "1e308",
    "true",
    "false",
    "null",
]

paths = st.builds(
    lambda root, keys: root + "".join(f".{key}" for key in keys),
    st.sampled_from(["$v", "$w", "$x", "$states.input", "$states", "$nope", "$merge"]),
    st.lists(st.sampled_from(KEYS), max_size=3),
)
leaves = st.one_of(st.sampled_from(LITERALS), paths)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f'"{key}": {value}' for key, value in pairs) + "}"


def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operators = st.sampled_from(OPERATORS)
    subset = st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner, operators, inner),
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, operators, inner),
        st.builds(lambda a: f"-{a}", inner),
        st.builds(lambda items: "[" + ", ".join(items) + "]", st.lists(inner, max_size=3)),
        st.builds(_object, st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=3)),
        st.builds(lambda c, t, f: f"({c} ? {t} : {f})", inner, inner, inner),
        st.builds(lambda c, t: f"({c} ? {t})", inner, inner),
        st.builds(lambda items: "(" + "; ".join(items) + ")", st.lists(inner, max_size=2)),
        st.builds(lambda name, a: f"${name}({a})", st.sampled_from(FUNCTIONS), inner),
    )
    # Just outside the subset: the fast path must refuse these, at compile or run time.
    near = st.one_of(
        st.builds(lambda p: f"{p}[0]", paths),
        st.builds(lambda p: f"{p}[]", paths),
        st.builds(lambda p: f"{p}.*", paths),
        st.builds(lambda a: f"{a} in [1, 2]", inner),
        st.builds(lambda a: f"$string({a}, true)", inner),
        st.builds(lambda a: f"$length({a})", inner),
        st.builds(lambda a: f"$count({a}, 1)", inner),
        st.builds(lambda p: f"{p}.$string()", paths),
        st.just("$uppercase()"),
        st.just("$"),
        st.just("a.b"),
    )
    # One node in ten is outside the subset, so that most expressions stay inside it.
    return st.tuples(st.integers(0, 9), subset, near).map(
        lambda choice: choice[2] if choice[0] == 0 else choice[1]
    )


expressions = st.recursive(leaves, extend, max_leaves=8)
subset_expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(OPERATORS), inner),
        st.builds(_object, st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=3)),
        st.builds(lambda items: "[" + ", ".join(items) + "]", st.lists(inner, max_size=3)),
        st.builds(lambda name, a: f"${name}({a})", st.sampled_from(FUNCTIONS), inner),
    ),
    max_leaves=6,
)


def compiled(text: str) -> Expression:
    try:
        return compile_expression(text)
    except JsonataSyntaxError:
        assume(False)
        raise


def classify(expression: Expression, values: dict[str, Any]) -> str:
    fast = expression.fast_path
    if fast is None:
        return "engine only"
    try:
        fast(values)
    except Fallback:
        return "fell back"
    return "fast path"


DIFFERENTIAL = settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@DIFFERENTIAL
@given(expressions, bindings())
def test_agrees_with_the_engine(text: str, values: dict[str, Any]) -> None:
    expression = compiled(text)
    event(classify(expression, values))
    assert_agrees(expression, values)


@DIFFERENTIAL
@given(subset_expressions, bindings())
def test_agrees_with_the_engine_inside_the_subset(text: str, values: dict[str, Any]) -> None:
    expression = compiled(text)
    event(classify(expression, values))
    assert_agrees(expression, values)


OPERAND_TEXTS = [
    "$v.a + $v.b",
    "$v.a - $v.b",
    "$v.a * $v.b",
    "$v.a / $v.b",
    "$v.a % $v.b",
    "-$v.a",
    "$v.a < $v.b",
    "$v.a >= $v.b",
    "$v.a = $v.b",
    "$v.a != $v.b",
    "$v.a & $v.b",
    "$sum([$v.a, $v.b])",
    "$string($v.a)",
    "$v.a ? $v.b : $v.n",
    "$v.a and $v.b",
    "$v.a or $v.b",
    "[$v.a, $v.b]",
    "{'a': $v.a, 'b': $v.b}",
    "$merge([{'a': $v.a}, {'a': $v.b}])",
    "$exists($v.a) = $not($v.b)",
    "$count([$v.a, $v.b]) & $uppercase($v.a) & $lowercase($v.b)",
    "$boolean($v.a)",
]
AWKWARD = [
    0,
    1,
    -1,
    2**53 + 1,
    -(2**53) - 1,
    10**15 - 1,
    10**15,
    10**21,
    2**63,
    10**400,
    0.0,
    -0.0,
    2.0,
    0.5,
    -1.5,
    1e16,
    1e21,
    1e22,
    1e308,
    2.5e-8,
    math.inf,
    math.nan,
    "",
    "a",
    "ß",
    "10",
    True,
    False,
    None,
    [],
    [1.0],
    [True],
    [math.nan],
    {},
    {"a": 2.0},
]


@pytest.mark.parametrize("text", OPERAND_TEXTS)
def test_agrees_on_every_pair_of_awkward_operands(text: str) -> None:
    # Arithmetic, comparison and functions over the awkward values, every pair and a
    # missing one: huge integers, whole floats, -0.0, overflow, division by zero, NaN.
    expression = compile_expression(text)
    operands: list[Any] = [*AWKWARD, NOTHING]
    for a in operands:
        for b in operands:
            values = {key: value for key, value in (("a", a), ("b", b)) if value is not NOTHING}
            assert_agrees(expression, {"v": values})


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(OPERAND_TEXTS),
    st.fixed_dictionaries({"a": integers | floats | texts, "b": integers | floats | texts}),
)
def test_agrees_on_numbers_and_strings(text: str, operands: dict[str, Any]) -> None:
    assert_agrees(compile_expression(text), {"v": operands})


# --- What the fast path covers ----------------------------------------------------------------

ORDER = {
    "orderId": "o-1",
    "payment": {"amount": 216.47, "currency": "USD"},
    "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}],
    "validation": {"valid": True},
    "note": None,
    "count": 3,
}
STATES = {"states": {"input": ORDER}, "limit": 100, "names": ["a", "b"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$states.input.orderId", "o-1"),
        ("$states.input.payment.amount * 2", 432.94),
        ("$states.input.count * 2", 6),
        ("$states.input.count / 2", 1.5),
        ("$states.input.count / 3", 1),
        ("$states.input.count % 2", 1),
        ("-$states.input.count", -3),
        ("$states.input.validation.valid = true", True),
        ("$states.input.orderId != 'o-2'", True),
        ("$states.input.count < $limit", True),
        ("'a' < 'b'", True),
        ("$states.input.note", None),
        ("$states.input.note = null", True),
        ("$states.input.missing", NOTHING),
        ("$states.input.orderId.length", NOTHING),
        ("$states.input.items", ORDER["items"]),
        ("$exists($states.input.missing)", False),
        ("$exists($states.input.note)", True),
        ("$count($states.input.items)", 2),
        ("$sum([1, 2.5, $states.input.count])", 6.5),
        ("$sum([0.5, 0.5])", 1),
        ("$string($states.input.count)", "3"),
        ("'order ' & $states.input.orderId & ' x' & $states.input.count", "order o-1 x3"),
        ("$uppercase($states.input.orderId)", "O-1"),
        ("$lowercase('ABC')", "abc"),
        ("$not($states.input.validation.valid)", False),
        ("$boolean(true)", True),
        ("$states.input.count > 2 ? 'big' : 'small'", "big"),
        ("$states.input.count > 5 ? 'big'", NOTHING),
        ("$states.input.count > 2 and $states.input.note", False),
        ("$states.input.missing or $states.input.orderId", True),
        ("($states.input.count; 'last')", "last"),
        ("[1, [2, 3], $names, $states.input.missing]", [1, [2, 3], "a", "b"]),
        ("{'a': $states.input.missing, 'b': 1}", {"b": 1}),
        (
            "$merge([$states.input.payment, {'amount': 1, 'ok': true}])",
            {"amount": 1, "currency": "USD", "ok": True},
        ),
        ("$nope", NOTHING),
        ("1.0", 1),
    ],
)
def test_the_fast_path_answers(text: str, expected: Any) -> None:
    assert typed(fast_outcome(text, STATES)) == typed(expected)
    assert_agrees(compile_expression(text), STATES)


def test_the_benchmark_expressions_take_the_fast_path() -> None:
    workload = Path(__file__).parents[2] / "bench" / "workloads" / "five-state-jsonata.asl.json"
    definition = json.loads(workload.read_text(encoding="utf-8"))
    texts = [
        value[2:-2].strip()
        for value in _strings(definition["States"])
        if value.startswith("{%") and value.endswith("%}")
    ]
    assert len(texts) == 4
    for text in texts:
        assert fast_outcome(text, STATES) != "fallback", text


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


# --- What falls back --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "$states.input.items[0]",  # predicates
        "$states.input.items[]",  # keep the array
        "$states.input.*",  # wildcard
        "$states.input.**",  # descendants
        "$",  # the context value
        "$$",  # the root
        "orderId",  # a path from the context value
        "$states.input ~> $keys()",  # apply
        "function($x){$x}",  # lambda
        "$f := 1",  # binding
        "($f := 1; $f)",
        "1 in [1]",
        "[1..3]",
        "{'a': 1, 'a': 2}",  # D1009
        "{$states.input.orderId: 1}",  # computed key
        "$string(1, true)",  # two arguments
        "$uppercase()",  # the context value as argument
        "$length('abc')",  # not in the list
        "$partition([1], 1)",  # one of AWS's functions
        "$states.input.$string()",  # a call as a path step
        "/ab/",  # regex
        "$states.input.items#$i",  # index variable
        "$states.input.items@$it",  # focus variable
        "$states.input.items^(qty)",  # sort
        "$states.input.items{sku: qty}",  # group
        "$states.input.%",  # parent
        "$merge",  # a function as a value
        "$eval",  # AWS removes it: the engine's business
        "(" * 40 + "1" + ")" * 40,  # too deep
    ],
)
def test_outside_the_subset_there_is_no_fast_path(text: str) -> None:
    expression = compile_expression(text)
    if text in ("$merge", "$eval"):
        # A variable reference compiles; what it names is decided at run time.
        assert fast_outcome(text, STATES) in ("fallback", NOTHING)
    else:
        assert expression.fast_path is None
    assert_agrees(expression, STATES)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("$v.a.b", {"v": {"a": [{"b": 1}]}}),  # an array along a path
        ("$v.a.b", {"v": [{"a": {"b": 1}}]}),
        ("$v + 1", {"v": None}),  # T2001
        ("1 + $v", {"v": "1"}),  # T2002
        ("$v + 1", {"v": True}),
        ("$v + 1", {"v": 10**400}),  # too large for a double
        ("$v * 10", {"v": 1e308}),  # overflow
        ("$v / 0", {"v": 1}),  # division by zero
        ("$v % 0", {"v": 1}),
        ("-$v", {"v": "a"}),  # D1002
        ("$v < 1", {"v": "a"}),  # T2009
        ("$v < 1", {"v": None}),  # T2010
        ("$v < $v", {"v": True}),
        ("$v & ''", {"v": 1.5}),  # JSONata's number formatting
        ("$v & ''", {"v": True}),
        ("$string($v)", {"v": 10**15}),
        ("$string($v)", {"v": 2.0}),
        ("$string($v)", {"v": {"a": 1}}),
        ("$count($v)", {"v": 1}),  # the signature would wrap it in an array
        ("$merge($v)", {"v": {"a": 1}}),
        ("$merge($v)", {"v": [None]}),
        ("$sum($v)", {"v": [True]}),
        ("$sum($v)", {"v": [math.inf]}),
        ("$uppercase($v)", {"v": None}),
        ("$uppercase($v)", {"v": 1}),
        ("$not($v)", {"v": 1}),
        ("$boolean($v)", {"v": "a"}),
        ("$merge([$v])", {"v": {}, "merge": 1}),  # a variable shadows the function
        ("$v", {"v": math.nan}),  # not a JSON number
        ("$v", {"v": [math.inf]}),
        ("$v", {"v": (1, 2)}),  # not a JSON value
        ("$v = [1]", {"v": (1,)}),
    ],
)
def test_what_the_fast_path_cannot_vouch_for_falls_back(text: str, values: dict[str, Any]) -> None:
    assert fast_outcome(text, values) == "fallback"
    assert_agrees(compile_expression(text), values)


def test_an_array_along_a_path_falls_back_to_the_engine_mapping() -> None:
    assert fast_outcome("$states.input.items.sku", STATES) == "fallback"
    assert compile_expression("$states.input.items.sku").evaluate(
        STATES, now=NOW, ids=IdSource(1)
    ) == ["a", "b"]


# --- Values in and out ------------------------------------------------------------------------


def test_whole_floats_come_out_as_integers_and_the_input_is_left_alone() -> None:
    values = {"v": {"a": 2.0, "b": [1.0, 1.5], "c": {"d": "e"}}}
    result = compile_expression("$v").evaluate(values, now=NOW, ids=IdSource(1))
    assert typed(result) == typed({"a": 2, "b": [1, 1.5], "c": {"d": "e"}})
    assert typed(values["v"]["a"]) == typed(2.0)
    # Only what changed is copied; the rest is shared (values are never mutated).
    assert result["c"] is values["v"]["c"]


def test_results_share_unchanged_parts_with_the_bindings() -> None:
    result = compile_expression("$states.input").evaluate(STATES, now=NOW, ids=IdSource(1))
    assert result is ORDER


def test_undefined_is_the_wrappers_undefined() -> None:
    expression = compile_expression("$states.input.missing")
    assert expression.evaluate(STATES, now=NOW, ids=IdSource(1)) is UNDEFINED
    assert expression.evaluate_engine(STATES, now=NOW, ids=IdSource(1)) is UNDEFINED


def test_templates_convert_bindings_for_the_engine_only_when_it_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversions: list[int] = []
    convert = jsonata_module._to_engine_bindings

    def counting(values: Any) -> Any:
        conversions.append(1)
        return convert(values)

    monkeypatch.setattr(jsonata_module, "_to_engine_bindings", counting)
    fast_only = {"a": "{% $states.input.orderId %}", "b": ["{% $states.input.count + 1 %}"]}
    result = evaluate_template(fast_only, STATES, now=NOW, ids=IdSource(1), field="Output")
    assert result == {"a": "o-1", "b": [4]}
    assert conversions == []
    mixed = {
        "a": "{% $states.input.items.sku %}",  # falls back
        "b": "{% $keys($states.input.payment) %}",  # engine only
        "c": "{% $states.input.count %}",
    }
    result = evaluate_template(mixed, STATES, now=NOW, ids=IdSource(1), field="Output")
    assert result == {"a": ["a", "b"], "b": ["amount", "currency"], "c": 3}
    assert conversions == [1]  # once for the whole template


def test_template_errors_name_the_field_whichever_path_answers() -> None:
    template = {"ok": "{% 1 %}", "bad": "{% $states.input.note + 1 %}"}
    with pytest.raises(StateError) as caught:
        evaluate_template(template, STATES, now=NOW, ids=IdSource(1), field="Output")
    assert caught.value.detail == (
        "The JSONata expression '$states.input.note + 1' specified for the field 'Output/bad' "
        'threw an error during evaluation. T2001: The left side of the "+" operator must '
        "evaluate to a number"
    )
    with pytest.raises(StateError) as caught:
        evaluate_template(
            ["{% $states.input.missing %}"], STATES, now=NOW, ids=IdSource(1), field="Output"
        )
    assert caught.value.detail == (
        "The JSONata expression '$states.input.missing' specified for the field 'Output/0' "
        "returned nothing (undefined)."
    )


def test_literal_parts_of_a_template_are_returned_as_they_are() -> None:
    template = {"fixed": {"a": [1, 2]}, "value": "{% $limit %}", "text": " {% not %} "}
    result = evaluate_template(template, STATES, now=NOW, ids=IdSource(1), field="Output")
    assert result == {"fixed": {"a": [1, 2]}, "value": 100, "text": " {% not %} "}
    assert result["fixed"] is template["fixed"]
