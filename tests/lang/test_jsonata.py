"""JSONata expressions as JSONata states run them: the wrapper, AWS's functions and texts."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepfn.clock import IdSource
from stepfn.errors import QUERY_EVALUATION_ERROR, StateError
from stepfn.lang import jsonata_functions
from stepfn.lang.jsonata import (
    UNDEFINED,
    JsonataEvaluationError,
    JsonataSyntaxError,
    compile_expression,
    evaluate_template,
    evaluate_typed,
    expression_text,
    is_expression,
    json_type,
)

NEW_YEAR = 1704067200.0  # 2024-01-01T00:00:00Z

ORDER = {
    "id": "o-7",
    "amount": 21.5,
    "qty": 3,
    "items": [
        {"sku": "a", "price": 10, "cat": "x"},
        {"sku": "b", "price": 5.5, "cat": "y"},
        {"sku": "c", "price": 6, "cat": "x"},
    ],
    "note": None,
}


def states(value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"states": {"input": {"order": ORDER} if value is None else value, **extra}}


def run(text: str, bindings: dict[str, Any] | None = None, *, seed: int = 7) -> Any:
    expression = compile_expression(text)
    return expression.evaluate(
        states() if bindings is None else bindings, now=NEW_YEAR, ids=IdSource(seed)
    )


def failure(text: str, bindings: dict[str, Any] | None = None) -> str:
    with pytest.raises(JsonataEvaluationError) as caught:
        run(text, bindings)
    return str(caught.value)


# --- Recognising expressions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $states.input %}", True),
        ("{%$states.input%}", True),
        ("{%   1   %}", True),
        (" {% states.input %} ", False),  # spaces outside the delimiters: a literal
        ("{% 1 %} ", False),
        ("$states.input", False),
        ("Hello {% $x %}", False),
        ("{%}", False),
        (1, False),
        (None, False),
    ],
)
def test_is_expression(value: Any, expected: bool) -> None:
    assert is_expression(value) is expected


def test_expression_text_is_trimmed() -> None:
    assert expression_text("{%   $a + 1  %}") == "$a + 1"


def test_syntax_error_carries_jsonata_code() -> None:
    with pytest.raises(JsonataSyntaxError) as caught:
        compile_expression("1 +")
    assert caught.value.code == "S0207"
    assert str(caught.value) == "S0207: Unexpected end of expression"


def test_compiling_is_cached() -> None:
    assert compile_expression("$a * 2") is compile_expression("$a * 2")


# --- Evaluating -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$states.input.order.amount * 2", 43),
        ("$states.input.order.qty / 3", 1),
        ("1 / 4", 0.25),
        ("$number('2')", 2),
        ("$sum($states.input.order.items.price)", 21.5),
        ("$states.input.order.items[price > 5.5].sku", ["a", "c"]),
        ("$states.input.order.items{cat: $sum(price)}", {"x": 16, "y": 5.5}),
        (
            "{'id': $states.input.order.id, 'n': $count($states.input.order.items)}",
            {"id": "o-7", "n": 3},
        ),
        ("$states.input.order.note", None),
        ("$type($states.input.order.note)", "null"),
        ("[1, null].$type($)", ["number", "null"]),
        ("{'a': $nothing, 'b': 1}", {"b": 1}),
        ("$string(1/3)", "0.333333333333333"),
        ("$contains('hello$world', /^hello\\$/)", True),
        ("$merge([{'a': 1}, {'b': 2}])", {"a": 1, "b": 2}),
    ],
)
def test_evaluates_as_jsonata(text: str, expected: Any) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_whole_numbers_come_out_as_integers() -> None:
    assert run("[1.0, 2.5, 6 / 2, 1e20]") == [1, 2.5, 3, 10**20]
    assert all(type(n) is int for n in run("[1.0, 6 / 2]"))


def test_undefined_is_not_null() -> None:
    assert run("$states.input.order.missing") is UNDEFINED
    assert run("$nothing") is UNDEFINED
    assert run("$v", {"v": None}) is None
    assert not UNDEFINED


def test_variables_are_bound_by_name() -> None:
    bindings = {**states(), "answer": 42, "names": ["a", "b"]}
    assert run("$answer + 1", bindings) == 43
    assert run("$join($names, '-')", bindings) == "a-b"


def test_bindings_are_not_changed() -> None:
    bindings = states()
    before = copy.deepcopy(bindings)
    result = run("$states.input.order ~> |items|{'price': price * 2}|", bindings)
    for text in (
        "$sort($states.input.order.items, function($l, $r){$l.price > $r.price})",
        "$reverse($states.input.order.items)",
        "$append($states.input.order.items, 1)",
        "$shuffle($states.input.order.items)",
        "$merge($states.input.order.items)",
    ):
        run(text, bindings)
    assert bindings == before
    assert result["items"][0]["price"] == 20
    # Results may share unchanged parts with the bindings, as values do everywhere in
    # stepfn (nothing mutates a value in place); see test_jsonata_fast.
    assert run("$states.input.order", bindings) == ORDER


def test_function_result_is_not_json() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("function($x){$x}")


# --- Errors as AWS words them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$randomSeeded(1)", "T1006: Attempted to invoke a non-function"),
        ("$eval('1 + 1')", "T1006: Attempted to invoke a non-function"),
        ("1 + {}", 'T2002: The right side of the "+" operator must evaluate to a number'),
        ("$sqrt(-1)", "D3060: The sqrt function cannot be applied to a negative number: -1"),
        (
            "$each('x', function($v){$v})",
            'T0410: Argument 1 of function "each" does not match function signature',
        ),
        (
            "$substring('abc', 'x')",
            'T0410: Argument 2 of function "substring" does not match function signature',
        ),
        (
            "$uppercase(null)",
            'T0410: Argument 1 of function "uppercase" does not match function signature',
        ),
        ("$sum(['a'])", 'T0412: Argument 1 of function "sum" must be an array of "numbers"'),
        (
            "1 < 'a'",
            'T2009: The values 1 and "a" either side of the operator must be of the same data type',
        ),
        ("$error('boom')", "D3137: boom"),
        ("$replace('a', '', 'b')", "Second argument of replace function cannot be an empty string"),
        ("uppercase('a')", "T1005: Attempted to invoke a non-function. Did you mean $uppercase?"),
    ],
)
def test_error_texts(text: str, expected: str) -> None:
    assert failure(text) == expected


def test_runaway_recursion_is_stopped_by_the_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonata_functions, "MAX_STEPS", 2_000)
    message = failure("($f := function($n){$f($n + 1)}; $f(0))")
    assert message == "Expression evaluation timeout: Check for infinite loop"


def test_deep_recursion_fails_instead_of_crashing() -> None:
    message = failure("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))")
    assert message.startswith("Stack overflow error")


# --- The functions Step Functions adds --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
        ("$partition([0], 1)", [[0]]),
        ("$partition([1, 2, 3])", [[1, 2, 3]]),
        ("$partition([1, 2, 3, 4, 5], 2.9)", [[1, 2], [3, 4], [5]]),
        ("$partition([], 2)", UNDEFINED),
        ("$partition([1, 2], 0)", UNDEFINED),
        ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
        ("$range(10, 0, -2)", [10, 8, 6, 4, 2, 0]),
        ("$range(-1.7, 2, 1)", [-1, 0, 1, 2]),
        ("$range(1, 9, 9)", 1),
        ("$range(5, 1, 1)", UNDEFINED),
        ("$range(1, 5, 0)", UNDEFINED),
        ("$hash('Hello', 'MD5')", "8b1a9953c4611296a827abf8c47804d7"),
        ("$hash('Hello', 'SHA-1')", "f7ff9e8b7bb2e09b70935a5d785e0cc5d9d0abf0"),
        ("$hash('ñ', 'MD5')", "94e9342ecbb1458b6043ecd3bfcbc192"),
        ("$hash('Hello')", UNDEFINED),
        ("$random(42)", 0.7275636800328681),
        ("$random(0.9)", 0.730967787376657),
        ("$parse('[1, 2, \"x\"]')", [1, 2, "x"]),
        ("$parse('1.0')", 1),
        ("$parse('-0')", 0),
        ("$parse('null')", None),
        ("$exists($parse('null'))", True),
        ('$parse(\'{"b": 1, "a": {"c": null}}\')', {"b": 1, "a": {"c": None}}),
        ("$map(['{\"a\": 1}', '{\"a\": 2}'], $parse).a", [1, 2]),
    ],
)
def test_step_functions_functions(text: str, expected: Any) -> None:
    result = run(text)
    if expected is UNDEFINED:
        assert result is UNDEFINED
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("$partition([1, 2, 3], -1)", "D3137"),
        ("$hash('Hello', 'md5')", "D3137"),
        ("$hash(42, 'MD5')", "T0410"),
        ('$parse(\'{"a": 1, "a": 2}\')', "D3137"),
        ("$parse('1e400')", "D3137"),
        ("$parse('[1] [2]')", "D3137"),
        ("$parse(null)", "T0410"),
        ("$range(1)", "T0410"),
        ("$uuid('seed')", "T0410"),
        ("$random(1, 2)", "T0410"),
    ],
)
def test_step_functions_functions_refuse_bad_arguments(text: str, code: str) -> None:
    assert failure(text).startswith(f"{code}: ")


def test_clock_functions_read_the_given_now() -> None:
    expression = compile_expression("{'now': $now(), 'millis': $millis(), 'year': $now('[Y]')}")
    result = expression.evaluate({}, now=NEW_YEAR + 0.25, ids=IdSource(1))
    assert result == {"now": "2024-01-01T00:00:00.250Z", "millis": 1704067200250, "year": "2024"}


def test_a_partial_date_picture_takes_the_day_from_now() -> None:
    result = compile_expression("$toMillis('10:30', '[H01]:[m01]')").evaluate(
        {}, now=NEW_YEAR + 3600, ids=IdSource(1)
    )
    assert result == (NEW_YEAR + 10.5 * 3600) * 1000


def test_uuid_and_random_come_from_the_id_source() -> None:
    ids = IdSource(3)
    expected = IdSource(3)
    result = compile_expression("[$uuid(), $random()]").evaluate({}, now=0, ids=ids)
    assert result == [expected.uuid(), expected.random()]


def test_unseeded_calls_differ_within_one_evaluation() -> None:
    assert run("$uuid() = $uuid()") is False
    assert run("$random() = $random()") is False


ENTROPY = (
    "{'uuid': $uuid(), 'random': $random(), 'now': $now(), 'millis': $millis(),"
    " 'shuffled': $shuffle([1, 2, 3, 4, 5, 6])}"
)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    now=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
)
def test_same_now_and_seed_give_the_same_result(seed: int, now: float) -> None:
    expression = compile_expression(ENTROPY)
    first = expression.evaluate({}, now=now, ids=IdSource(seed))
    second = expression.evaluate({}, now=now, ids=IdSource(seed))
    assert first == second
    assert sorted(first["shuffled"]) == [1, 2, 3, 4, 5, 6]


def test_evaluations_in_threads_keep_their_own_bindings() -> None:
    expression = compile_expression(
        "($double := function($n){$n * 2}; $double($states.input.n) + $offset)"
    )
    results: dict[int, Any] = {}

    def work(n: int) -> None:
        for _ in range(50):
            results[n] = expression.evaluate(
                {"states": {"input": {"n": n}}, "offset": n}, now=0, ids=IdSource(n)
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: 3 * n for n in range(8)}


# --- Templates ------------------------------------------------------------------------


def template(value: Any, bindings: dict[str, Any] | None = None, field: str = "Output") -> Any:
    return evaluate_template(
        value,
        states() if bindings is None else bindings,
        now=NEW_YEAR,
        ids=IdSource(1),
        field=field,
    )


def template_failure(value: Any, field: str = "Output") -> str:
    with pytest.raises(StateError) as caught:
        template(value, field=field)
    assert caught.value.error == QUERY_EVALUATION_ERROR
    return caught.value.detail


def test_template_evaluates_at_any_depth_and_keeps_literals() -> None:
    value = {
        "total": "{% $states.input.order.amount * 2 %}",
        "literal": " {% $states.input %} ",
        "path": "$states.input",
        "list": [None, 0, 0.1, True, "{% $states.input.order.qty %}", {"deep": "{% true %}"}],
        "empty": {},
        "key.$": "$",
    }
    assert template(value) == {
        "total": 43,
        "literal": " {% $states.input %} ",
        "path": "$states.input",
        "list": [None, 0, 0.1, True, 3, {"deep": True}],
        "empty": {},
        "key.$": "$",
    }


def test_template_scalars_pass_through() -> None:
    scalars: list[Any] = [None, 0, 1.5, True, "text", []]
    for value in scalars:
        assert template(value) == value


def test_undefined_fails_with_the_field_path() -> None:
    assert template_failure("{% $doesNotExist %}") == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output' "
        "returned nothing (undefined)."
    )
    assert template_failure({"result": "{%  $doesNotExist  %}"}, field="Assign") == (
        "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' "
        "returned nothing (undefined)."
    )
    assert "'Output/items/1'" in template_failure({"items": [1, "{% $nope %}"]})


def test_engine_error_fails_with_code_and_message() -> None:
    detail = template_failure({"FunctionResult": "{% $randomSeeded($states.input.x) %}"})
    assert detail == (
        "The JSONata expression '$randomSeeded($states.input.x)' specified for the field "
        "'Output/FunctionResult' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )


def test_function_result_is_an_unsupported_type() -> None:
    assert template_failure("{% $fn := function($x){$x} %}", field="Items") == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
        "returned an unsupported result type."
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("null", "'null' for value: null"),
        ("1", "'number' for value: 1"),
        ("true", "'boolean' for value: true"),
        ("{'foo': 'bar'}", '\'object\' for value: {"foo":"bar"}'),
        ("'s'", "'string' for value: \"s\""),
    ],
)
def test_typed_field_reports_the_wrong_type(text: str, shown: str) -> None:
    with pytest.raises(StateError) as caught:
        evaluate_typed(
            f"{{% {text} %}}", states(), now=0, ids=IdSource(1), field="Items", expected="array"
        )
    assert caught.value.detail == (
        f"The JSONata expression '{text}' specified for the field 'Items' returned an "
        f"unexpected result type. Expected 'array', but was {shown}"
    )


def test_typed_field_accepts_its_type_and_literals() -> None:
    assert evaluate_typed(
        "{% [0] %}", {}, now=0, ids=IdSource(1), field="Items", expected="array"
    ) == [0]
    assert evaluate_typed(
        [1, "{% $number('2') %}", 3], {}, now=0, ids=IdSource(1), field="Items", expected="array"
    ) == [1, 2, 3]


def test_json_type_names() -> None:
    values: list[Any] = [None, True, 1, 1.5, "s", [], {}]
    assert [json_type(v) for v in values] == [
        "null",
        "boolean",
        "number",
        "number",
        "string",
        "array",
        "object",
    ]


def test_one_expression_evaluates_in_many_threads_at_once() -> None:
    # No global lock: each thread evaluates its own copy of the compiled expression, and
    # none sees another's bindings.
    import threading

    from stepfn.clock import IdSource
    from stepfn.lang.jsonata import compile_expression

    expression = compile_expression(
        "( $f := function($n) { $n <= 1 ? $n : $f($n - 1) + $f($n - 2) }; "
        "{'who': $who, 'fib': $f(12)} )"
    )
    results: dict[int, object] = {}

    def work(index: int) -> None:
        for _ in range(5):
            results[index] = expression.evaluate({"who": index}, now=0.0, ids=IdSource(index))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: {"who": i, "fib": 144} for i in range(8)}
