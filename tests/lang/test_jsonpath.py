"""JSONPath as AWS (Jayway) evaluates it: selection, failures and their texts, ResultPath."""

import pytest

from stepfn.lang.jsonpath import (
    JsonPathSyntaxError,
    PathNotFound,
    ReferencePathMismatch,
    compile_path,
    compile_reference_path,
    normalized,
)

SHOP = {
    "name": "corner shop",
    "owner": {"first": "Ada", "tags": ["a", "b"]},
    "stock": [
        {"sku": "p1", "price": 4, "kind": "pen"},
        {"sku": "p2", "price": 12.5, "kind": "book"},
        {"sku": "p3", "price": 8, "kind": "book", "used": True},
    ],
    "odd key": 1,
    "nothing": None,
}


def find(text, data=SHOP):
    return compile_path(text).find(data)


# --- definite paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", SHOP),
        ("$.name", "corner shop"),
        ("$.owner.first", "Ada"),
        ("$['owner']['first']", "Ada"),
        ('$["owner"]["first"]', "Ada"),
        ("$.owner['tags'][1]", "b"),
        ("$.stock[0].sku", "p1"),
        ("$.stock[-1].sku", "p3"),
        ("$['odd key']", 1),
        ("$.nothing", None),
        ("$.owner.tags[-2]", "a"),
    ],
)
def test_definite_paths_select_one_value(text, expected):
    path = compile_path(text)
    assert path.definite
    assert path.root == "$"
    assert path.find(SHOP) == expected


def test_a_leaf_that_is_missing_says_no_results_with_the_whole_path():
    with pytest.raises(PathNotFound) as caught:
        find("$.owner.last")
    assert caught.value.path_text == "$.owner.last"
    assert caught.value.message == "No results for path: $['owner']['last']"
    assert str(caught.value) == (
        "Invalid path '$.owner.last' : No results for path: $['owner']['last']"
    )


def test_a_missing_member_before_the_leaf_says_missing_property():
    with pytest.raises(PathNotFound) as caught:
        find("$.no.such.thing")
    assert caught.value.message == "Missing property in path $['no']"


def test_an_index_out_of_range_is_no_results():
    with pytest.raises(PathNotFound) as caught:
        find("$.stock[7].sku")
    assert caught.value.message == "No results for path: $['stock'][7]['sku']"


def test_a_name_on_something_that_is_not_an_object_fails():
    with pytest.raises(PathNotFound) as caught:
        find("$.owner.tags.length()")
    assert caught.value.message == "Property ['length()'] not found in path $['owner']['tags']"


def test_an_index_on_something_that_is_not_an_array_fails():
    with pytest.raises(PathNotFound):
        find("$.name[0]")
    with pytest.raises(PathNotFound) as caught:
        find("$.nothing[0]")
    assert caught.value.message == "The path $['nothing'] is null"


def test_names_never_read_arrays_and_indexes_never_read_objects():
    with pytest.raises(PathNotFound):
        find("$.stock.0")
    with pytest.raises(PathNotFound):
        find("$[0]", {"0": "zero"})


def test_the_fast_path_and_the_slow_path_agree_on_messages():
    # Simple paths take a tight loop; on failure the message is still Jayway's.
    for text in ("$.b", "$.a.b", "$.a[3]", "$.a.b.c"):
        path = compile_path(text)
        assert path.simple_keys is not None
        with pytest.raises(PathNotFound) as caught:
            path.find({"a": {"x": 1}})
        assert caught.value.message
    with pytest.raises(PathNotFound) as caught:
        compile_path("$.a.b.c").find({"a": {"x": 1}})
    assert caught.value.message == "Missing property in path $['a']['b']"


def test_exists():
    assert compile_path("$.nothing").exists(SHOP)  # present, even though null
    assert not compile_path("$.missing").exists(SHOP)
    assert compile_path("$.stock[*]").exists(SHOP)
    assert not compile_path("$.stock[?(@.price > 100)]").exists(SHOP)


# --- indefinite paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.stock[*].sku", ["p1", "p2", "p3"]),
        ("$.stock.*.sku", ["p1", "p2", "p3"]),
        ("$.owner.*", ["Ada", ["a", "b"]]),
        ("$.stock[1:3].sku", ["p2", "p3"]),
        ("$.stock[:2].sku", ["p1", "p2"]),
        ("$.stock[-1:].sku", ["p3"]),
        ("$.stock[1:].sku", ["p2", "p3"]),
        ("$.stock[0,2].sku", ["p1", "p3"]),
        ("$.stock[5:9]", []),
        ("$..first", ["Ada"]),
        ("$..sku", ["p1", "p2", "p3"]),
        ("$.stock[*].used", [True]),
    ],
)
def test_indefinite_paths_give_a_list(text, expected):
    path = compile_path(text)
    assert not path.definite
    assert path.find(SHOP) == expected


def test_indefinite_paths_on_missing_data_give_an_empty_list():
    # AWS returns [] rather than failing when an indefinite path has nothing to walk.
    for text in ("$[*]", "$.items[*]", "$.item.items[1:5]", "$.items[:1].value", "$..x"):
        assert compile_path(text).find({}) == []


def test_deep_scan_visits_parents_before_children():
    data = {"a": {"n": 1, "b": {"n": 2}}, "c": [{"n": 3}], "n": 0}
    assert find("$..n", data) == [0, 1, 2, 3]
    assert find("$..[0]", data) == [{"n": 3}]


def test_a_union_of_names_at_the_end_builds_an_object():
    path = compile_path("$['name','odd key','absent']")
    assert path.definite
    assert path.find(SHOP) == {"name": "corner shop", "odd key": 1}
    assert find("$.stock[*]['sku','price']") == [
        {"sku": "p1", "price": 4},
        {"sku": "p2", "price": 12.5},
        {"sku": "p3", "price": 8},
    ]


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "skus"),
    [
        ("@.price < 10", ["p1", "p3"]),
        ("@.price >= 8", ["p2", "p3"]),
        ("@.kind == 'book'", ["p2", "p3"]),
        ('@.kind == "pen"', ["p1"]),
        ("@.kind != 'book'", ["p1"]),
        ("@.used", ["p3"]),
        ("!@.used", ["p1", "p2"]),
        ("@.kind == 'book' && @.price < 10", ["p3"]),
        ("@.kind == 'pen' || @.price > 10", ["p1", "p2"]),
        ("(@.price < 5 || @.price > 10) && @.kind == 'book'", ["p2"]),
        ("@.sku =~ /P[12]/i", ["p1", "p2"]),
        ("@.kind in ['pen', 'cup']", ["p1"]),
        ("@.kind nin ['pen']", ["p2", "p3"]),
        ("@.price == 12.5", ["p2"]),
        ("@.price == 4.0", ["p1"]),
        ("@.price < 'z'", []),  # a number and a string cannot be ordered
        ("@.used == true", ["p3"]),
        ("@.price == $.stock[0].price", ["p1"]),
        ("@.sku size 2", ["p1", "p2", "p3"]),
    ],
)
def test_filters(flt, skus):
    assert [item["sku"] for item in find(f"$.stock[?({flt})]")] == skus


def test_filters_only_see_objects():
    assert find("$.list[?(@ == 1)]", {"list": [1, 2, {"a": 1}]}) == []
    assert find("$.list[?(@.a)]", {"list": [1, [2], {"a": 1}]}) == [{"a": 1}]


def test_a_filter_on_an_object_tests_the_object_itself():
    assert find("$.owner[?(@.first == 'Ada')]") == [SHOP["owner"]]


# --- roots -----------------------------------------------------------------------------------


def test_roots():
    assert compile_path("$$.Execution.Id").root == "$$"
    var = compile_path("$order.total")
    assert var.root == "order"
    assert var.definite
    assert var.resolve({}, {}, {"order": {"total": 3}}) == 3
    assert compile_path("$order").resolve(None, None, {"order": [1]}) == [1]
    ctx = compile_path("$$.State.Name")
    assert ctx.resolve({"State": "no"}, {"State": {"Name": "S"}}, None) == "S"
    assert compile_path("$.a").resolve({"a": 1}, None, None) == 1


def test_an_unknown_variable_is_not_found():
    with pytest.raises(PathNotFound):
        compile_path("$nope.x").resolve({}, {}, {"other": 1})
    with pytest.raises(PathNotFound):
        compile_path("$nope").resolve({}, {}, None)


# --- parsing ---------------------------------------------------------------------------------


def test_quoted_names_are_taken_as_written():
    # A backslash only keeps the quote open; AWS does not unescape it.
    key = 'Test\\""Name"'
    assert compile_path('$[\'Test\\""Name"\']').find({key: "v"}) == "v"
    assert compile_path("$['a.b'][\"c[d]\"]").find({"a.b": {"c[d]": 5}}) == 5


def test_normalized():
    assert normalized(compile_path("$.a['b c'][0]")) == "$['a']['b c'][0]"
    assert normalized(compile_path("$")) == "$"
    assert normalized(compile_path("$..x[*][1:2][?(@.y)]")) == "$..['x'][*][1:2][?]"


@pytest.mark.parametrize(
    "text",
    ["", "a.b", "$.", "$..", "$[", "$['a'", "$[x]", "$.a[1", "$[?(@.a ==)]", "$[?@.a]", "$ a"],
)
def test_syntax_errors(text):
    with pytest.raises(JsonPathSyntaxError):
        compile_path(text)


def test_compile_is_cached():
    assert compile_path("$.cached.path") is compile_path("$.cached.path")


# --- reference paths (ResultPath) ------------------------------------------------------------


def test_assign_creates_missing_objects_without_touching_the_input():
    data = {"a": {"keep": 1}, "other": [1]}
    result = compile_reference_path("$.a.b.c").assign(data, 42)
    assert result == {"a": {"keep": 1, "b": {"c": 42}}, "other": [1]}
    assert data == {"a": {"keep": 1}, "other": [1]}
    assert result["other"] is data["other"]  # only the path is copied


def test_assign_at_root_and_into_arrays():
    assert compile_reference_path("$").assign({"a": 1}, "x") == "x"
    assert compile_reference_path("$.list[1]").assign({"list": [0, 0]}, 9) == {"list": [0, 9]}
    assert compile_reference_path("$.list[-1].v").assign({"list": [{}, {}]}, 1) == {
        "list": [{}, {"v": 1}]
    }
    assert compile_reference_path("$.a").assign({"a": 1}, None) == {"a": None}


def test_assign_into_something_that_is_not_an_object_fails():
    with pytest.raises(ReferencePathMismatch) as caught:
        compile_reference_path("$.out").assign("text", 1)
    assert caught.value.message == 'Unable to apply ReferencePath $.out to input "text"'
    with pytest.raises(ReferencePathMismatch):
        compile_reference_path("$.a.b").assign({"a": 5}, 1)
    with pytest.raises(ReferencePathMismatch):
        compile_reference_path("$.a[3]").assign({"a": [1]}, 1)


@pytest.mark.parametrize("text", ["$$.Execution", "$var.x", "$.a[*]", "$..a", "$.a[0:1]"])
def test_reference_paths_are_definite_paths_below_the_input(text):
    with pytest.raises(JsonPathSyntaxError):
        compile_reference_path(text)


def test_dict_subclasses_are_objects_too():
    from collections import OrderedDict

    data = OrderedDict(a=OrderedDict(b=[1, 2]))
    assert compile_path("$.a.b[1]").find(data) == 2
